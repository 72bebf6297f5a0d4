#!/usr/bin/env python3
"""qbench-microbench under Google Benchmark: a filtered run emits Google Benchmark JSON with rate
counters; Google Benchmark's own tools/compare.py accepts two such files (when it is available:
QB_GBENCH_TOOLS=<dir with compare.py>, or /tmp/gbench/tools, or a google/benchmark checkout);
`qbench import-gbench` turns the JSON into schema-valid 'microbench' cells of a report."""
import argparse, json, os, shutil, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--qbench", required=True)
ap.add_argument("--source-dir", required=True)
ap.add_argument("--build-dir", required=True)
a = ap.parse_args()

mb = os.path.join(a.build_dir, "suites", "qbench-microbench")
if not os.path.exists(mb):
    print("SKIP: qbench-microbench not built (make qbench-microbench)")
    sys.exit(77)


def run_mb(out, reps=1):
    cmd = [mb, "--qb_shapes=64x256", "--benchmark_filter=gemv/(Q8_0|F32)/.*", "--benchmark_min_time=0.01",
           f"--benchmark_repetitions={reps}", "--benchmark_format=json", f"--benchmark_out={out}",
           "--benchmark_out_format=json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)  # --benchmark_format=json on stdout is JSON too
    return json.load(open(out))


with tempfile.TemporaryDirectory() as d:
    a_json, b_json = os.path.join(d, "a.json"), os.path.join(d, "b.json")
    ja = run_mb(a_json)
    names = [b["name"] for b in ja["benchmarks"]]
    assert names, "filter matched nothing"
    assert all(n.startswith("gemv/Q8_0/") or n.startswith("gemv/F32/") for n in names), names
    assert any("/scalar/" in n for n in names), names
    for b in ja["benchmarks"]:
        assert b["bytes_per_second"] > 0 and b["items_per_second"] > 0, b
        assert b["weight_bytes"] > 0
    # The list of registered benchmarks covers formats x backends x shapes.
    lst = subprocess.run([mb, "--qb_shapes=64x256", "--benchmark_list_tests"], capture_output=True, text=True, check=True).stdout.split()
    assert any(x.startswith("gemv/Q4_0/scalar/64x256") for x in lst), lst[:10]
    jb = run_mb(b_json, reps=2)

    # Google Benchmark's compare.py, when present.
    tools = [os.environ.get("QB_GBENCH_TOOLS", ""), "/tmp/gbench/tools", os.path.join(a.source_dir, "..", "benchmark", "tools")]
    compare = next((os.path.join(t, "compare.py") for t in tools if t and os.path.exists(os.path.join(t, "compare.py"))), None)
    compared = False
    if compare:
        try:
            import numpy, scipy  # noqa: F401  (compare.py needs them)
            p = subprocess.run([sys.executable, compare, "benchmarks", a_json, b_json], capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stdout + p.stderr
            assert "OVERALL_GEOMEAN" in p.stdout or names[0].split("/real_time")[0] in p.stdout, p.stdout
            compared = True
        except ImportError:
            print("note: numpy/scipy missing, compare.py not run")

    # Import into a new report and into an existing one; validate against the schema.
    rep = os.path.join(d, "rep.json")
    subprocess.run([a.qbench, "-q", "import-gbench", b_json, "--into", rep], check=True)
    r = json.load(open(rep))
    cells = [c for c in r["results"] if c["suite"] == "microbench"]
    runs = {b["run_name"] for b in jb["benchmarks"] if b.get("run_type") == "iteration"}
    assert len(cells) == len(runs), (len(cells), len(runs))
    for c in cells:
        assert c["format"] in ("Q8_0", "F32") and c["workload"] == "gemv_64x256", c
        assert len(c["samples"]) == 2 and c["metrics"]["gb_per_s"] > 0
    subprocess.run([a.qbench, "-q", "import-gbench", a_json, "--into", rep], check=True)  # replaces same cells
    r2 = json.load(open(rep))
    assert len(r2["results"]) == len(r["results"]) and len(r2["imports"]) == 2
    try:
        import jsonschema
        schema = json.load(open(os.path.join(a.source_dir, "reports/schema/report.schema.json")))
        errs = list(jsonschema.Draft202012Validator(schema).iter_errors(r2))
        for e in errs[:10]:
            print("schema error at", "/".join(map(str, e.path)), ":", e.message)
        assert not errs, f"{len(errs)} schema errors"
    except ImportError:
        print("note: jsonschema missing, schema not checked")
    bad = subprocess.run([a.qbench, "import-gbench", rep, "--into", os.path.join(d, "x.json")], capture_output=True, text=True)
    assert bad.returncode == 2 and "benchmarks" in bad.stderr, bad.stderr

print(f"OK: {len(names)} benchmarks; compare.py {'ran' if compared else 'not available'}; import-gbench schema-valid")
