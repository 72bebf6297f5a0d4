#!/usr/bin/env python3
"""A real `qbench run` report validates against reports/schema/report.schema.json (draft 2020-12),
and the schema's metric enum matches the vocabulary that `qbench` itself uses."""
import argparse, json, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--qbench", required=True)
ap.add_argument("--source-dir", required=True)
ap.add_argument("--build-dir", required=True)
a = ap.parse_args()

try:
    import jsonschema
except ImportError:
    print("SKIP: python jsonschema is not installed (scripts/setup.sh installs it)")
    sys.exit(77)

schema = json.load(open(os.path.join(a.source_dir, "reports/schema/report.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)

with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "run")
    subprocess.run([a.qbench, "--quiet", "run", "--suites", "bandwidth", "--threads", "1", "--quick", "--out", out],
                   check=True)
    rep = json.load(open(os.path.join(out, "report.json")))
    errors = sorted(v.iter_errors(rep), key=lambda e: list(e.path))
    for e in errors[:20]:
        print("schema error at", "/".join(map(str, e.path)), ":", e.message)
    assert not errors, f"{len(errors)} schema errors"
    assert rep["results"], "no results"
    assert os.path.exists(os.path.join(out, "journal.jsonl"))
    # Negative control: the validator must reject a broken report.
    bad = json.loads(json.dumps(rep))
    bad["results"][0]["metrics"]["made_up_metric"] = 1
    assert list(v.iter_errors(bad)), "schema accepted an unknown metric"
    bad = json.loads(json.dumps(rep))
    bad["results"][0]["valid"] = False
    bad["results"][0]["reasons"] = []
    assert list(v.iter_errors(bad)), "schema accepted an invalid cell without reasons"

# Every metric name in the C++ vocabulary is in the schema and vice versa.
src = open(os.path.join(a.source_dir, "harness/src/metrics.cpp")).read()
import re
cpp = set(re.findall(r'^\s*\{"([a-z0-9_]+)",', src, re.M))
enum = set(schema["$defs"]["metric_name"]["enum"])
assert cpp == enum, f"vocabulary mismatch: only in C++ {sorted(cpp - enum)}, only in schema {sorted(enum - cpp)}"
print(f"OK: {len(rep['results'])} cells valid against the schema; {len(cpp)} metric names agree")
