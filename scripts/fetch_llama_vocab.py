#!/usr/bin/env python3
"""Fetches llama.cpp's vocabulary-only test models (models/ggml-vocab-*.gguf with their .inp/.out
golden tokenizations) from the llama-cpp-python source distribution on PyPI, for the BPE tokenizer
tests. They are 0.2-8 MB each, too big to commit.

  scripts/fetch_llama_vocab.py [--dest DIR] [--sdist FILE.tar.gz]

DIR defaults to ~/.cache/qbench/llama.cpp-vocab (what the tests look in unless
QB_LLAMA_VOCAB_DIR says otherwise). Without --sdist the tarball comes from PyPI's JSON API
(sha256 checked), falling back to `pip download --no-binary :all:` (slower: pip prepares metadata).
Idempotent: does nothing when every file is there.
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

VERSION = "0.3.36"
VOCABS = ["llama-bpe", "qwen2", "gpt-2", "starcoder", "refact", "mpt"]
DEFAULT_DEST = os.path.join(os.path.expanduser("~"), ".cache", "qbench", "llama.cpp-vocab")


def wanted():
    out = []
    for v in VOCABS:
        out += [f"ggml-vocab-{v}.gguf", f"ggml-vocab-{v}.gguf.inp", f"ggml-vocab-{v}.gguf.out"]
    return out


def download_sdist(tmp):
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/llama-cpp-python/{VERSION}/json", timeout=60) as r:
            meta = json.load(r)
        sd = next(u for u in meta["urls"] if u["packagetype"] == "sdist")
        path = os.path.join(tmp, sd["filename"])
        h = hashlib.sha256()
        with urllib.request.urlopen(sd["url"], timeout=300) as r, open(path, "wb") as f:
            while chunk := r.read(1 << 20):
                h.update(chunk)
                f.write(chunk)
        if h.hexdigest() != sd["digests"]["sha256"]:
            raise RuntimeError("sha256 mismatch")
        return path
    except Exception as e:  # offline index, proxy-only mirrors: let pip find it
        print(f"fetch_llama_vocab: PyPI JSON download failed ({e}); trying pip download", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", f"llama-cpp-python=={VERSION}", "--no-deps",
                    "--no-binary", ":all:", "-d", tmp], check=True)
    return glob.glob(os.path.join(tmp, "llama_cpp_python-*.tar.gz"))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dest", default=os.environ.get("QB_LLAMA_VOCAB_DIR", DEFAULT_DEST))
    ap.add_argument("--sdist")
    a = ap.parse_args()
    if all(os.path.exists(os.path.join(a.dest, n)) for n in wanted()):
        return 0
    os.makedirs(a.dest, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = a.sdist or download_sdist(tmp)
        with tarfile.open(sdist) as tf:
            for m in tf.getmembers():
                name = os.path.basename(m.name)
                if "/vendor/llama.cpp/models/" in m.name and name in wanted() and m.isfile():
                    src = tf.extractfile(m)
                    with open(os.path.join(a.dest, name + ".part"), "wb") as f:
                        shutil.copyfileobj(src, f)
                    os.replace(os.path.join(a.dest, name + ".part"), os.path.join(a.dest, name))
    missing = [n for n in wanted() if not os.path.exists(os.path.join(a.dest, n))]
    if missing:
        print(f"fetch_llama_vocab: not in the sdist: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"fetch_llama_vocab: {len(wanted())} files in {a.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
