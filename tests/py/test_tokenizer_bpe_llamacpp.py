#!/usr/bin/env python3
"""BPE tokenizer vs llama.cpp (llama-cpp-python) on llama.cpp's vocabulary-only GGUFs.

For each vocabulary (llama-bpe: Llama 3 pre-tokenizer; qwen2; gpt-2; starcoder and refact: the
smollm split; mpt: GPT-2 split with user-defined whitespace tokens), `qbench perplexity
--tokenize-only` must give exactly llama_tokenize(add_special=true, parse_special=false)'s ids on
varied texts (English, code, digits, whitespace runs, emoji, CJK, accents, control and invalid
UTF-8 bytes) and on a seeded random mix of all of them (several KB per vocabulary).

Vocabularies: $QB_LLAMA_VOCAB_DIR or ~/.cache/qbench/llama.cpp-vocab (scripts/fetch_llama_vocab.py,
run by scripts/setup.sh). Exit 0 pass, 77 skip (llama_cpp or the vocabularies absent), 1 fail.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import json

try:
    import llama_cpp
except ImportError as e:
    print(f"SKIP: llama-cpp-python not importable ({e})")
    sys.exit(77)

VOCABS = ["llama-bpe", "qwen2", "gpt-2", "starcoder", "refact", "mpt"]
VOCAB_DIR = os.environ.get("QB_LLAMA_VOCAB_DIR",
                           os.path.join(os.path.expanduser("~"), ".cache", "qbench", "llama.cpp-vocab"))

TEXTS = [
    "Hello world. The quick brown fox jumps over the lazy dog; it's 3:45pm, isn't it? I'd've said "
    "THEY'RE here, WE'LL see, you'Ve got it. Don't, can't, won't... \"quoted\" (parens) [brackets] {braces}",
    "def f(x):\n    return x ** 2  # square\n\nfor i in range(10):\n\tprint(f(i), end='')\n\n\n"
    "int main(void) {\n  printf(\"%d\\n\", 1234567890);\n  return 0; // done\r\n}\r\n",
    "Digits: 0 1 12 123 1234 12345 123456 1234567 3.14159 2.718e-10 -42 +7 1,000,000 0x1F 007 "
    "\u0663\u0664\u0665 \u2167 \u00bd \uff11\uff12\uff13 \U0001d7d9",
    "Whitespace:  two   three    four\t\ttabs \t mixed\n\n\nthree newlines\r\n\r\nCRLF   \n  \n end  ",
    "Emoji: \U0001F600\U0001F680\U0001F1FA\U0001F1F8 \u2764\ufe0f \U0001F468\u200d\U0001F469\u200d\U0001F467 "
    "\U0001F44D\U0001F3FD x\U0001F600y \U0001FAE8",
    "CJK: \u4f60\u597d\uff0c\u4e16\u754c\u3002\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002"
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8. \u3000\u5168\u89d2\u3000space",
    "Accents: na\u00efve caf\u00e9 r\u00e9sum\u00e9 \u00fcber Stra\u00dfe \u0161\u010d\u0159\u017e\u00fd "
    "\u0391\u03b8\u03ae\u03bd\u03b1 \u041c\u043e\u0441\u043a\u0432\u0430 cafe\u0301 n\u0303o "
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0939\u093f\u0928\u094d\u0926\u0940",
    "Odd: \u0001\u0002\u007f \u0085next\u00a0nbsp \u2028line \U00010348 \U0001d11e \ufeff \u200b zero "
    "\u0378 unassigned \U000E0001 tag \uE000 private ' 's 'S 'll 'LL '",
    "<|endoftext|> <|im_start|>user <s> </s> <unk> [INST] <|begin_of_text|>",
    "",
    " ",
    "\n",
    "   ",
    "a" * 300 + " " + "ab" * 50 + "\n" * 40 + " " * 40,
]
# Invalid UTF-8 (bytes, not str): lone continuation, truncated sequences, 0xFF, surrogate, overlong.
BYTE_TEXTS = [
    b"bad \xff bytes \x80\x80 end",
    b"trunc \xc3 x \xe2\x82 y \xf0\x9f\x98 z",
    b"surrogate \xed\xa0\x80 overlong \xc0\xaf ok \xe2\x82\xac",
    b"\xfe\xfe\xfe",
]

PIECES = [
    "the", " and", "Hello", " world", "'s", "'t", "'re", " I'm", "don't", "x", "y", "\n", "\n\n", "\r\n", "\t", " ",
    "  ", "    ", "0", "7", "42", "123", "9999", "3.14", "-", "_", "(", ")", "{", "}", ";", ":", "...", "!?", "#",
    "\u00e9", "\u00fc", "\u00df", "\u0301", "\u4e2d", "\u6587", "\u3042", "\ud55c", "\u0416", "\u03bb",
    "\U0001F600", "\U0001F680", "\u2764\ufe0f", "\u200d", "\u00a0", "\u3000", "\u0663", "\u00bd", "\u2028",
    "<|endoftext|>", "<s>", "\u0007", "\u007f",
]


def random_text(seed, n_bytes):
    rnd = random.Random(seed)
    out, size = [], 0
    while size < n_bytes:
        p = rnd.choice(PIECES)
        if rnd.random() < 0.1:
            p = p * rnd.randint(2, 6)
        b = p.encode()
        if rnd.random() < 0.02:
            b = rnd.choice([b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80"])
        out.append(b)
        size += len(b)
    return b"".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir")
    ap.add_argument("--build-dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    present = [v for v in VOCABS if os.path.exists(os.path.join(VOCAB_DIR, f"ggml-vocab-{v}.gguf"))]
    if not present:
        print(f"SKIP: no llama.cpp vocabularies in {VOCAB_DIR} (run scripts/fetch_llama_vocab.py)")
        return 77
    texts = [t.encode() for t in TEXTS] + BYTE_TEXTS + [random_text(s, 3000) for s in (1, 2)]
    failures, compared, nbytes = [], 0, 0
    with tempfile.TemporaryDirectory(dir=a.build_dir) as tmp:
        paths = []
        for i, t in enumerate(texts):
            p = os.path.join(tmp, f"text{i}.txt")
            with open(p, "wb") as f:
                f.write(t)
            paths.append(p)
        for v in present:
            model = os.path.join(VOCAB_DIR, f"ggml-vocab-{v}.gguf")
            llm = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
            for t, p in zip(texts, paths):
                want = llm.tokenize(t, add_bos=True, special=False)
                r = subprocess.run([a.qbench, "perplexity", "--model", model, "--dataset", p, "--tokenize-only"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{v}: qbench failed ({r.returncode}): {r.stderr.strip()[-500:]}")
                    continue
                got = json.loads(r.stdout)["tokens"]
                compared += 1
                nbytes += len(t)
                if got != want:
                    k = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
                    failures.append(f"{v}: text {t[:60]!r}...: first difference at token {k}: "
                                    f"qbench {got[max(0, k - 2):k + 4]} llama.cpp {want[max(0, k - 2):k + 4]} "
                                    f"(lengths {len(got)} / {len(want)})")
            print(f"{v}: {len(texts)} texts compared")
    print(f"{compared} tokenizations ({nbytes} bytes of text) over {len(present)} vocabularies; "
          f"{len(failures)} differ")
    for f in failures:
        print("FAIL", f)
    if len(present) < len(VOCABS):
        print(f"note: missing vocabularies: {sorted(set(VOCABS) - set(present))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
