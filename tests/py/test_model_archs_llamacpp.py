#!/usr/bin/env python3
"""llama / qwen2 / qwen3 forward pass vs llama.cpp (llama-cpp-python) on tiny random-weight GGUFs.

There is no small real Llama/Qwen GGUF on PyPI here, so each architecture gets a 2-layer model
(n_embd 64, 4 query heads / 2 KV heads of 16, n_ff 128) with seeded random weights and a real BPE
vocabulary from llama.cpp's vocabulary-only GGUFs (llama: llama-bpe; qwen2/qwen3: qwen2), written
with gguf-py: llama with an untied output.weight (normal RoPE), qwen2 with QKV biases and tied
output (NeoX RoPE), qwen3 with QK-norm (NeoX RoPE), all F32, and qwen2 again with Q8_0 layer weights.
`qbench perplexity --logits-out` must agree with llama.cpp's logits_all on the same chunks
(first token replaced by BOS where the vocabulary adds one): top-1 agreement >= TOP1_MIN and
max |logit difference| <= MAX_REL_DIFF x max |logit|.

Exit 0 pass, 77 skip (llama_cpp / gguf / numpy or the vocabularies absent), 1 fail.
"""
import argparse
import os
import sys
import tempfile
import time

try:
    import numpy as np
    import gguf
    import llama_cpp
except ImportError as e:
    print(f"SKIP: numpy / gguf / llama-cpp-python not importable ({e})")
    sys.exit(77)

VOCAB_DIR = os.environ.get("QB_LLAMA_VOCAB_DIR",
                           os.path.join(os.path.expanduser("~"), ".cache", "qbench", "llama.cpp-vocab"))
CTX, CHUNKS = 32, 2
CASES = [("llama", "F32"), ("qwen2", "F32"), ("qwen3", "F32"), ("qwen2", "Q8_0")]
TOP1_MIN = 0.97
# max |logit diff| / max |logit|: F32 measured <= 3.2e-4; Q8_0 activations round at quantization
# steps, so one flipped rounding moves a logit further (measured 5.0e-3 on qwen2).
MAX_REL_DIFF = {"F32": 1e-3, "Q8_0": 1e-2}
E, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FF = 64, 2, 4, 2, 16, 128
TEXT = ("The quick brown fox jumps over the lazy dog. It's 3:45pm; isn't it? def f(x): return x ** 2\n"
        "Numbers 12345 and 3.14159, accents caf\u00e9 na\u00efve, CJK \u4f60\u597d\u4e16\u754c. ") * 6


from llamacpp_common import no_extra_bufts, qb  # noqa: E402


def copy_vocab(w, vocab_path):
    r = gguf.GGUFReader(vocab_path)
    for key, field in r.fields.items():
        if not key.startswith("tokenizer."):
            continue
        val = field.contents()
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(key, val, vtype, sub_type=field.types[-1])
        else:
            w.add_key_value(key, val, vtype)
    return len(r.fields["tokenizer.ggml.tokens"].contents())


def write_model(path, arch, vocab_path, wtype, seed):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, arch)
    n_vocab = copy_vocab(w, vocab_path)
    w.add_context_length(256)
    w.add_embedding_length(E)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FF)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(500000.0 if arch == "llama" else 1000000.0)
    w.add_layer_norm_rms_eps(1e-5 if arch == "llama" else 1e-6)

    def mat(rows, cols, scale):
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    def vec(n, mean, scale):
        return (mean + rng.standard_normal(n) * scale).astype(np.float32)

    def linear(name, a):
        if wtype == "Q8_0":
            w.add_tensor(name, gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0),
                         raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a)

    w.add_tensor("token_embd.weight", mat(n_vocab, E, 1.0))
    w.add_tensor("output_norm.weight", vec(E, 1.0, 0.1))
    if arch == "llama":
        w.add_tensor("output.weight", mat(n_vocab, E, 0.05))
    q, kv = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    for il in range(LAYERS):
        p = f"blk.{il}."
        w.add_tensor(p + "attn_norm.weight", vec(E, 1.0, 0.1))
        linear(p + "attn_q.weight", mat(q, E, 0.25))
        linear(p + "attn_k.weight", mat(kv, E, 0.25))
        linear(p + "attn_v.weight", mat(kv, E, 0.25))
        if arch == "qwen2":
            w.add_tensor(p + "attn_q.bias", vec(q, 0.0, 0.5))
            w.add_tensor(p + "attn_k.bias", vec(kv, 0.0, 0.5))
            w.add_tensor(p + "attn_v.bias", vec(kv, 0.0, 0.5))
        if arch == "qwen3":
            w.add_tensor(p + "attn_q_norm.weight", vec(HEAD_DIM, 1.0, 0.1))
            w.add_tensor(p + "attn_k_norm.weight", vec(HEAD_DIM, 1.0, 0.1))
        linear(p + "attn_output.weight", mat(E, q, 0.15))
        w.add_tensor(p + "ffn_norm.weight", vec(E, 1.0, 0.1))
        linear(p + "ffn_gate.weight", mat(FF, E, 0.2))
        linear(p + "ffn_up.weight", mat(FF, E, 0.2))
        linear(p + "ffn_down.weight", mat(E, FF, 0.12))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir")
    ap.add_argument("--build-dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    vocabs = {"llama": "ggml-vocab-llama-bpe.gguf", "qwen2": "ggml-vocab-qwen2.gguf", "qwen3": "ggml-vocab-qwen2.gguf"}
    if not all(os.path.exists(os.path.join(VOCAB_DIR, v)) for v in vocabs.values()):
        print(f"SKIP: llama.cpp vocabularies not in {VOCAB_DIR} (run scripts/fetch_llama_vocab.py)")
        return 77
    no_extra_bufts(llama_cpp)
    fails = []
    with tempfile.TemporaryDirectory(dir=a.build_dir) as tmp:
        text_path = os.path.join(tmp, "text.txt")
        with open(text_path, "w", encoding="utf-8") as f:
            f.write(TEXT)
        for seed, (arch, wtype) in enumerate(CASES):
            t0 = time.time()
            model = os.path.join(tmp, f"tiny-{arch}-{wtype}.gguf")
            write_model(model, arch, os.path.join(VOCAB_DIR, vocabs[arch]), wtype, seed + 1)
            llm = llama_cpp.Llama(model_path=model, n_ctx=CTX, n_batch=CTX, logits_all=True, verbose=False)
            toks = llm.tokenize(TEXT.encode(), add_bos=True, special=False)
            add_bos = llm._model.add_bos_token() if hasattr(llm._model, "add_bos_token") else toks[0] == llm.token_bos()
            out = os.path.join(tmp, f"logits-{arch}-{wtype}.bin")
            qb(a.qbench, "-q", "perplexity", "--model", model, "--dataset", text_path, "--ctx", str(CTX),
               "--chunks", str(CHUNKS), "--logits-out", out)
            ours = np.fromfile(out, dtype=np.float32).reshape(CHUNKS, CTX, -1)
            agree, maxdiff, scale = 0, 0.0, 0.0
            for c in range(CHUNKS):
                chunk = list(toks[c * CTX:(c + 1) * CTX])
                if add_bos:
                    chunk[0] = llm.token_bos()
                llm.reset()
                llm.eval(chunk)
                ref = np.array(llm.scores[:CTX], dtype=np.float32)
                agree += int((ref.argmax(1) == ours[c].argmax(1)).sum())
                maxdiff = max(maxdiff, float(np.abs(ref - ours[c]).max()))
                scale = max(scale, float(np.abs(ref).max()))
            top1 = agree / (CHUNKS * CTX)
            print(f"{arch} {wtype}: {CHUNKS * CTX} positions, vocab {ours.shape[2]}, top-1 agreement {top1:.4f}, "
                  f"max |logit diff| {maxdiff:.5f} (max |logit| {scale:.2f}), {time.time() - t0:.1f} s")
            if top1 < TOP1_MIN:
                fails.append(f"{arch} {wtype}: top-1 agreement {top1:.4f} < {TOP1_MIN}")
            if maxdiff > MAX_REL_DIFF[wtype] * scale:
                fails.append(f"{arch} {wtype}: max |logit diff| {maxdiff:.5f} > {MAX_REL_DIFF[wtype]} x {scale:.2f}")
            if scale < 1.0:
                fails.append(f"{arch} {wtype}: logits too flat (max {scale:.3f}) for the comparison to mean anything")
            del llm
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
