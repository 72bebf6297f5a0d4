#!/usr/bin/env python3
"""GGUF interoperability with gguf-py (the reference reader/writer):

1. files gguf.GGUFWriter writes (every value type, nested arrays, custom alignment, F32/F16/Q8_0/
   IQ2_XXS tensors) are read by `qbench inspect --json` identically: metadata keys, types, values,
   tensor names, types, shapes, offsets, sizes;
2. files qbench writes (`qbench quantize` to F32, F16, Q8_0, Q4_0, Q4_K_M) are read back by
   gguf.GGUFReader: metadata, tensor infos, and data (F32/F16 exactly; Q8_0/Q4_0 byte for byte
   against gguf-py's own quantizer; every tensor's dequantized data close to the source).

Exit 0 pass, 77 skip (gguf-py or numpy missing), 1 fail.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType as QT, GGUFValueType as VT
except ImportError as e:  # pragma: no cover
    print(f"SKIP: gguf-py / numpy not installed ({e}); pip install gguf numpy")
    sys.exit(77)

FAILS = []
CHECKS = [0]
BYTE_CHECKS = []


def check(cond, msg):
    CHECKS[0] += 1
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def run(qbench, *args):
    p = subprocess.run([qbench, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"qbench {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}")
    return p


def inspect(qbench, path):
    return json.loads(run(qbench, "inspect", path, "--json").stdout)


TYPE_NAMES = {VT.UINT8: "uint8", VT.INT8: "int8", VT.UINT16: "uint16", VT.INT16: "int16", VT.UINT32: "uint32",
              VT.INT32: "int32", VT.FLOAT32: "float32", VT.BOOL: "bool", VT.STRING: "string", VT.ARRAY: "array",
              VT.UINT64: "uint64", VT.INT64: "int64", VT.FLOAT64: "float64"}


def values_equal(a, b, typ):
    if typ in ("float32", "float64"):
        return (a is None and (b is None or not math.isfinite(b))) or (a is not None and b is not None and
                                                                       math.isclose(a, b, rel_tol=0, abs_tol=0))
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(values_equal(x, y, typ.split("[", 1)[-1].rstrip("]"))
                                                              for x, y in zip(a, b))
    return a == b


def part1_gguf_writer_to_qbench(qbench, tmp):
    rng = np.random.default_rng(7)
    path = os.path.join(tmp, "pywritten.gguf")
    w = GGUFWriter(path, "llama")
    w.add_custom_alignment(64)
    w.add_name("py model")
    w.add_context_length(4096)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -20000)
    w.add_uint32("t.u32", 3000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", 1e300)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo wörld")
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_array("t.arr_f32", [0.5, 1.5])
    w.add_array("t.nested", [[1, 2], [3]])
    w.add_array("t.empty", [])
    w.add_key_value("t.arr_u8", [1, 2, 255], VT.ARRAY, sub_type=VT.UINT8)
    tensors = {
        "a.weight": rng.standard_normal((3, 64), dtype=np.float32),
        "b.weight": rng.standard_normal((5,), dtype=np.float32),
        "c.weight": rng.standard_normal((2, 4, 32), dtype=np.float32).astype(np.float16),
    }
    for k, v in tensors.items():
        w.add_tensor(k, v)
    q = gguf.quants.quantize(rng.standard_normal((4, 64), dtype=np.float32), QT.Q8_0)
    w.add_tensor("q.weight", q, raw_dtype=QT.Q8_0)
    iq = np.frombuffer(rng.bytes(66 * 2), dtype=np.uint8).reshape(2, 66)
    w.add_tensor("iq2.weight", iq, raw_dtype=QT.IQ2_XXS)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    j = inspect(qbench, path)
    r = GGUFReader(path)
    check(j["alignment"] == 64, f"alignment {j['alignment']}")
    check(j["version"] == 3, "version")
    # Metadata: every key of the file (GGUFReader lists GGUF.* header pseudo-fields too).
    keys = [f.name for f in r.fields.values() if not f.name.startswith("GGUF.")]
    check(list(j["metadata"].keys()) == keys, f"metadata keys/order differ: {list(j['metadata'].keys())} vs {keys}")
    expected = {"t.u8": ("uint8", 200), "t.i8": ("int8", -100), "t.u16": ("uint16", 60000), "t.i16": ("int16", -20000),
                "t.u32": ("uint32", 3000000000), "t.i32": ("int32", -2000000000), "t.u64": ("uint64", 2**63 + 5),
                "t.i64": ("int64", -(2**62)), "t.f32": ("float32", float(np.float32(0.1))), "t.f64": ("float64", 1e300),
                "t.bool": ("bool", True), "t.str": ("string", "héllo wörld"), "t.arr_i32": ("array[int32]", [1, -2, 3]),
                "t.arr_str": ("array[string]", ["a", "", "ccc"]), "t.arr_f32": ("array[float32]", [0.5, 1.5]),
                "t.nested": ("array[array[int32]]", [[1, 2], [3]]), "t.arr_u8": ("array[uint8]", [1, 2, 255]),
                "general.alignment": ("uint32", 64), "general.name": ("string", "py model"),
                "llama.context_length": ("uint32", 4096), "general.architecture": ("string", "llama")}
    for k, (typ, val) in expected.items():
        got = j["metadata"].get(k)
        check(got is not None, f"key {k} missing in qbench inspect")
        if got is None:
            continue
        check(got["type"] == typ, f"{k}: type {got['type']} != {typ}")
        check(values_equal(got["value"], val, typ), f"{k}: value {got['value']!r} != {val!r}")
    # Types as GGUFReader sees them, for every field.
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        t = TYPE_NAMES[f.types[0]]
        check(j["metadata"][f.name]["type"].split("[")[0] == t, f"{f.name}: {j['metadata'][f.name]['type']} vs {t}")
        if f.types[0] != VT.ARRAY or (len(f.types) == 2):
            check(values_equal(j["metadata"][f.name]["value"], f.contents(), j["metadata"][f.name]["type"]),
                  f"{f.name}: {j['metadata'][f.name]['value']!r} vs reader {f.contents()!r}")
    # Tensors.
    check(len(j["tensors"]) == len(r.tensors), "tensor count")
    for jt, rt in zip(j["tensors"], r.tensors):
        check(jt["name"] == rt.name, f"tensor name {jt['name']} vs {rt.name}")
        check(jt["type"] == rt.tensor_type.name, f"{rt.name}: type {jt['type']} vs {rt.tensor_type.name}")
        check(jt["shape"] == [int(x) for x in rt.shape], f"{rt.name}: shape {jt['shape']} vs {list(rt.shape)}")
        check(jt["bytes"] == int(rt.n_bytes), f"{rt.name}: bytes {jt['bytes']} vs {rt.n_bytes}")
        check(j["data_offset"] + jt["offset"] == int(rt.data_offset), f"{rt.name}: offset")
    check(j["unsupported_types"] == ["IQ2_XXS"], f"unsupported {j['unsupported_types']}")
    return path, tensors


def part2_qbench_to_gguf_reader(qbench, tmp):
    rng = np.random.default_rng(11)
    src = os.path.join(tmp, "src_f32.gguf")
    w = GGUFWriter(src, "llama")
    w.add_block_count(2)
    w.add_embedding_length(256)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(100)])
    data = {"token_embd.weight": rng.standard_normal((100, 256), dtype=np.float32) * 0.02}
    for l in range(2):
        data[f"blk.{l}.attn_norm.weight"] = 1 + 0.1 * rng.standard_normal(256, dtype=np.float32)
        data[f"blk.{l}.attn_q.weight"] = rng.standard_normal((256, 256), dtype=np.float32) * 0.02
        data[f"blk.{l}.attn_v.weight"] = rng.standard_normal((256, 256), dtype=np.float32) * 0.02
        data[f"blk.{l}.ffn_down.weight"] = rng.standard_normal((256, 512), dtype=np.float32) * 0.02
        data[f"blk.{l}.odd.weight"] = rng.standard_normal((3, 96), dtype=np.float32)  # 96: not /256
    data["output.weight"] = rng.standard_normal((100, 256), dtype=np.float32) * 0.02
    for k, v in data.items():
        w.add_tensor(k, v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    for preset in ["F32", "F16", "Q8_0", "Q4_0", "Q4_K_M"]:
        out = os.path.join(tmp, f"qb_{preset}.gguf")
        run(qbench, "-q", "quantize", src, out, "--type", preset)
        r = GGUFReader(out)
        j = inspect(qbench, out)
        fields = {f.name: f for f in r.fields.values()}
        check(fields["general.file_type"].contents() == j["summary"]["file_type"], f"{preset}: file_type")
        check(fields["general.quantization_version"].contents() == 2, f"{preset}: quantization_version")
        check(fields["tokenizer.ggml.tokens"].contents() == [f"tok{i}" for i in range(100)], f"{preset}: tokens")
        check(fields["general.architecture"].contents() == "llama", f"{preset}: architecture")
        check(len(r.tensors) == len(data), f"{preset}: tensor count")
        for jt, rt in zip(j["tensors"], r.tensors):
            check(jt["name"] == rt.name and jt["type"] == rt.tensor_type.name, f"{preset}: {rt.name} info")
            check(int(rt.data_offset) % 32 == 0, f"{preset}: {rt.name} alignment")
            x = data[rt.name]
            raw = np.asarray(rt.data)
            if rt.tensor_type == QT.F32:
                check(np.array_equal(raw.reshape(x.shape), x), f"{preset}: {rt.name} F32 data differs")
            elif rt.tensor_type == QT.F16:
                check(np.array_equal(raw.reshape(x.shape), x.astype(np.float16)), f"{preset}: {rt.name} F16 data differs")
            else:
                y = gguf.quants.dequantize(raw, rt.tensor_type).reshape(x.shape)
                rel = float(np.sqrt(np.mean((y - x) ** 2)) / np.sqrt(np.mean(x ** 2)))
                check(rel < 0.2, f"{preset}: {rt.name} ({rt.tensor_type.name}) relative error {rel:.3f}")
                if rt.tensor_type in (QT.Q8_0, QT.Q4_0, QT.Q5_0, QT.Q6_K, QT.Q4_K):
                    try:
                        ref = gguf.quants.quantize(x, rt.tensor_type)
                    except NotImplementedError:
                        continue
                    same = np.array_equal(ref.reshape(-1), raw.reshape(-1))
                    BYTE_CHECKS.append(f"{preset}:{rt.name}:{rt.tensor_type.name}")
                    check(same, f"{preset}: {rt.name} {rt.tensor_type.name} bytes differ from gguf-py's quantizer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir")
    ap.add_argument("--build-dir")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qb_gguf_py_") as tmp:
        part1_gguf_writer_to_qbench(a.qbench, tmp)
        part2_qbench_to_gguf_reader(a.qbench, tmp)
    if FAILS:
        print(f"{len(FAILS)} failures")
        return 1
    print(f"PASS: gguf-py <-> qbench GGUF interop ({CHECKS[0]} checks, {len(BYTE_CHECKS)} tensors byte-identical to gguf-py's quantizer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
