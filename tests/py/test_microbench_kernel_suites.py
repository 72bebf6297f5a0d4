#!/usr/bin/env python3
"""`qbench run` of the kernel suites (compute, throughput, latency, memory) on a tiny shape gives a
schema-valid report: every throughput cell is ok or unsupported with a reason, GEMV cells carry
their roofline bound, peers say what they compute, and the issue's own command line parses."""
import argparse, json, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--qbench", required=True)
ap.add_argument("--source-dir", required=True)
ap.add_argument("--build-dir", required=True)
a = ap.parse_args()

with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "run")
    subprocess.run([a.qbench, "-q", "run", "--suites", "bandwidth,compute,throughput,latency,memory", "--quick",
                    "--threads", "1", "--shapes", "64x256", "--formats", "Q4_0,Q8_0,F32,INT8_PC,Q4_K", "--out", out],
                   check=True, timeout=600)
    rep = json.load(open(os.path.join(out, "report.json")))
    res = rep["results"]
    try:
        import jsonschema
        schema = json.load(open(os.path.join(a.source_dir, "reports/schema/report.schema.json")))
        errs = list(jsonschema.Draft202012Validator(schema).iter_errors(rep))
        for e in errs[:10]:
            print("schema error at", "/".join(map(str, e.path)), ":", e.message)
        assert not errs, f"{len(errs)} schema errors"
    except ImportError:
        print("note: jsonschema missing, schema not checked")
    tp = [c for c in res if c["suite"] == "throughput" and c["workload"] != "harness_overhead"]
    assert tp, "no throughput cells"
    for c in tp:
        assert c["status"] in ("ok", "unsupported"), c
        if c["status"] == "ok":
            p = c["params"]
            assert "bound" in p and "computes" in p and p["check"]["ok"], c
            assert c["metrics"]["gb_per_s"] > 0, c["reasons"]
            # A DRAM cell faster than DRAM (rotation too small, e.g. a peer capped at 256
            # instances) has no roofline, and must say why.
            over = any("exceeds this run's DRAM read" in r for r in c["reasons"])
            assert ("roofline_pct" in c["metrics"]) != over, (c["workload"], c["backend"], c["reasons"])
        else:
            assert c["error"] and not c["valid"] and c["reasons"], c
    peers = [c for c in tp if c["backend"] in ("openblas", "onednn", "xnnpack") and c["status"] == "ok"]
    for c in peers:
        assert c["params"]["computes"], c
    ov = [c for c in res if c["workload"] == "harness_overhead"]
    assert ov and "overhead_pct" in ov[0]["metrics"], ov
    lat = [c for c in res if c["suite"] == "latency" and c["status"] == "ok" and c["workload"].startswith("gemv_")]
    assert lat and all("p99_us" in c["metrics"] for c in lat)
    mem = [c for c in res if c["suite"] == "memory"]
    assert any(c["workload"] == "process" and c["metrics"]["peak_rss_bytes"] > 0 for c in mem)
    assert any(c["workload"] == "layer_64x256" and c["metrics"]["bits_per_weight"] > 0 for c in mem)
    comp = [c for c in res if c["suite"] == "compute"]
    assert {c["workload"] for c in comp} == {"fp32_fma", "int8_dot"}
    # The performance command: plan only (tiny --quick run of the same selection).
    p = subprocess.run([a.qbench, "-q", "run", "--suites", "throughput", "--formats", "Q4_0,Q8_0", "--backends",
                        "scalar,avx512", "--shapes", "256x512", "--threads", "1", "--quick", "--out",
                        os.path.join(d, "perf")], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    perf = json.load(open(os.path.join(d, "perf", "report.json")))["results"]
    wl = {(c["format"], c["backend"], c["workload"]) for c in perf}
    assert ("Q4_0", "scalar", "gemv_256x512") in wl and ("Q8_0", "avx512", "gemm512_256x512") in wl, wl

print(f"OK: {len(res)} cells ({len(tp)} throughput, {len(peers)} peer) schema-valid")
