#!/usr/bin/env python3
"""A real `qbench run` report validates against reports/schema/report.schema.json (draft 2020-12),
and the schema's metric enum matches the vocabulary that `qbench` itself uses. Three shards of a
small plan (`qbench run --shard I/3`) and their `qbench merge` validate too: the shards are
disjoint and their union is the merged report's cells, as many as the plan has."""
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
# The names are the constants of qb/metrics.h; the table in metrics.cpp must describe each of them.
import re
header = open(os.path.join(a.source_dir, "harness/include/qb/metrics.h")).read()
cpp = set(re.findall(r'^inline constexpr char ([a-z0-9_]+)\[\] = "\1";', header, re.M))
table = set(re.findall(r'^\s*\{metric::([a-z0-9_]+),', open(os.path.join(a.source_dir, "harness/src/metrics.cpp")).read(), re.M))
assert cpp == table, f"constants without a table row {sorted(cpp - table)}, rows without a constant {sorted(table - cpp)}"
enum = set(schema["$defs"]["metric_name"]["enum"])
assert cpp == enum, f"vocabulary mismatch: only in C++ {sorted(cpp - enum)}, only in schema {sorted(enum - cpp)}"
print(f"OK: {len(rep['results'])} cells valid against the schema; {len(cpp)} metric names agree")


def check(rep, what):
    errors = sorted(v.iter_errors(rep), key=lambda e: list(e.path))
    for e in errors[:20]:
        print(what, "schema error at", "/".join(map(str, e.path)), ":", e.message)
    assert not errors, f"{what}: {len(errors)} schema errors"


def key(r):
    return "/".join(str(r[k]) for k in ("suite", "format", "backend", "workload", "threads", "placement"))


sel = ["--quiet", "run", "--suites", "quant-error", "--formats", "Q8_0,Q4_0,Q4_K,IQ4_NL", "--quick", "--no-fsync"]
with tempfile.TemporaryDirectory() as d:
    shards = []
    for i in range(3):
        out = os.path.join(d, f"s{i}")
        subprocess.run([a.qbench, *sel, "--shard", f"{i}/3", "--out", out], check=True)
        rep = json.load(open(os.path.join(out, "report.json")))
        check(rep, f"shard {i}")
        assert rep["shard"]["index"] == i and rep["shard"]["count"] == 3
        shards.append(rep)
    keys = [set(key(r) for r in s["results"]) for s in shards]
    for i in range(3):
        assert keys[i], f"shard {i} is empty"
        for j in range(i + 1, 3):
            assert not keys[i] & keys[j], f"shards {i} and {j} overlap: {keys[i] & keys[j]}"
    assert len({s["shard"]["plan_fingerprint"] for s in shards}) == 1
    merged_dir = os.path.join(d, "merged")
    subprocess.run([a.qbench, "--quiet", "merge", *(os.path.join(d, f"s{i}") for i in range(3)), "--out", merged_dir],
                   check=True)
    merged = json.load(open(os.path.join(merged_dir, "report.json")))
    check(merged, "merged")
    union = set().union(*keys)
    mkeys = [key(r) for r in merged["results"]]
    assert len(mkeys) == len(set(mkeys)), "a cell twice in the merged report"
    assert set(mkeys) == union, "merged cells differ from the union of the shards"
    assert len(mkeys) == shards[0]["shard"]["plan_cells"], "merged cells differ from the plan"
    assert all(0 <= r["shard"] < 3 for r in merged["results"])
    # Negative control: the validator rejects a merged report with a bad shard index.
    bad = json.loads(json.dumps(merged))
    bad["results"][0]["shard"] = -1
    assert list(v.iter_errors(bad)), "schema accepted a negative shard index"
    print(f"OK: 3 shards ({', '.join(str(len(k)) for k in keys)} cells) merged into {len(mkeys)} cells, all valid")
