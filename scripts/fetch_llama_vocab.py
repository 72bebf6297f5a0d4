#!/usr/bin/env python3
"""Fetches llama.cpp's vocabulary-only test models (models/ggml-vocab-*.gguf with their .inp/.out
golden tokenizations) from the llama-cpp-python source distribution on PyPI, for the BPE tokenizer
tests. They are 0.2-8 MB each, too big to commit.

  scripts/fetch_llama_vocab.py [--dest DIR] [--sdist FILE.tar.gz]

DIR defaults to ~/.cache/qbench/llama.cpp-vocab (what the tests look in unless
QB_LLAMA_VOCAB_DIR says otherwise). Without --sdist the tarball comes from PyPI's JSON API
(sha256 checked), else its simple index page, else `pip download --no-binary :all:` (slower: pip
prepares metadata).
Idempotent: does nothing when every file is there.
"""
import argparse
import glob
import hashlib
import html
import json
import os
import re
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


def fetch(url, path, sha256):
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=300) as r, open(path, "wb") as f:
        while chunk := r.read(1 << 20):
            h.update(chunk)
            f.write(chunk)
    if h.hexdigest() != sha256:
        raise RuntimeError(f"sha256 mismatch for {url}")
    return path


def sdist_from_json(tmp):
    with urllib.request.urlopen(f"https://pypi.org/pypi/llama-cpp-python/{VERSION}/json", timeout=60) as r:
        meta = json.load(r)
    sd = next(u for u in meta["urls"] if u["packagetype"] == "sdist")
    return fetch(sd["url"], os.path.join(tmp, sd["filename"]), sd["digests"]["sha256"])


def sdist_from_simple_index(tmp):
    # PEP 503 page: mirrors that serve no JSON API still serve this; links carry #sha256=.
    name = f"llama_cpp_python-{VERSION}.tar.gz"
    with urllib.request.urlopen("https://pypi.org/simple/llama-cpp-python/", timeout=60) as r:
        page = r.read().decode()
    m = re.search(r'href="([^"#]*/' + re.escape(name) + r')#sha256=([0-9a-f]{64})"', page)
    if not m:
        raise RuntimeError(f"{name} not on the simple index page")
    return fetch(html.unescape(m.group(1)), os.path.join(tmp, name), m.group(2))


def download_sdist(tmp):
    for how in (sdist_from_json, sdist_from_simple_index):
        try:
            return how(tmp)
        except Exception as e:  # offline index, proxy-only mirrors: try the next way
            print(f"fetch_llama_vocab: {how.__name__} failed ({e})", file=sys.stderr)
    # Last resort, slower: pip prepares the package's metadata before it saves the file.
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
