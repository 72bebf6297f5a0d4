#!/usr/bin/env python3
"""Checks that a change to the report pipeline changes no output (issue 12's "behaviour unchanged").

  report_equivalence.py render OLD_QBENCH NEW_QBENCH REPORT.json
      renders REPORT.json with both binaries to every output (report html/md/csv, recommend
      text/json/md/html/junit, qualify junit/json, compare md/json) and diffs them byte for byte.
  report_equivalence.py runs A/report.json B/report.json
      diffs two runs' reports with timing fields masked: the same cells, statuses, validity,
      metric names and non-timing values.
Exit 0 when equal, 1 with the differences listed.
"""
import difflib
import json
import os
import subprocess
import sys
import tempfile

PROFILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports", "profiles")


def render_all(qbench, report, out):
    """Every rendering of one report, as {name: text}."""
    runs = {
        "report": ["report", report, "--html", "r.html", "--md", "r.md", "--csv", "r.csv"],
        "recommend": ["recommend", report, "--html", "rec.html", "--md", "rec.md", "--junit", "rec.xml"],
        "recommend_json": ["recommend", report, "--json"],
        "qualify": ["qualify", "--profile", os.path.join(PROFILES, "ci-smoke.json"), report, "--junit", "q.xml",
                    "--json", "q.json"],
        "compare": ["compare", report, report, "--md", "c.md", "--json", "c.json"],
    }
    texts = {}
    for name, args in runs.items():
        p = subprocess.run([qbench] + args, cwd=out, capture_output=True, text=True)
        texts[name + ".stdout"] = p.stdout + f"\n[exit {p.returncode}]\n"
    for f in sorted(os.listdir(out)):
        with open(os.path.join(out, f), encoding="utf-8") as fh:
            texts[f] = fh.read()
    return texts


# Fields whose values are timings or depend on them (masked in `runs`).
TIMING_METRICS = {"gb_per_s", "gflop_per_s", "roofline_pct", "bandwidth_pct", "time_s", "p50_us", "p90_us",
                  "p99_us", "max_us", "cv", "decode_ms", "tokens_per_s", "ns_per_call", "overhead_pct", "ipc",
                  "est_decode_ms", "est_tokens_per_s", "est_gb_per_s", "ttft_ms"}


def masked(report):
    out = []
    for r in report["results"]:
        out.append({
            "key": [r[k] for k in ("suite", "format", "backend", "workload", "threads", "placement")],
            "status": r["status"],
            "metrics": {k: ("<t>" if k in TIMING_METRICS else v) for k, v in sorted(r["metrics"].items())},
            "params": sorted(r.get("params", {}).keys()),
        })
    top = {k: sorted(report[k].keys()) if isinstance(report[k], dict) else report[k]
           for k in ("schema_version", "config") if k in report}
    return json.dumps({"top": top, "results": out}, indent=1, sort_keys=True).splitlines()


def diff(a, b, name):
    d = list(difflib.unified_diff(a, b, "old/" + name, "new/" + name, lineterm="", n=1))
    for line in d[:40]:
        print(line)
    return bool(d)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "render":
        old, new, report = sys.argv[2], sys.argv[3], os.path.abspath(sys.argv[4])
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            ta, tb = render_all(old, report, a), render_all(new, report, b)
        bad = sorted(set(ta) ^ set(tb))
        for k in bad:
            print("only one binary wrote", k)
        for k in sorted(set(ta) & set(tb)):
            if ta[k] != tb[k]:
                bad.append(k)
                diff(ta[k].splitlines(), tb[k].splitlines(), k)
        print(f"{len(ta)} outputs compared, {len(bad)} differ" + (": " + ", ".join(bad) if bad else ""))
        return 1 if bad else 0
    if len(sys.argv) == 4 and sys.argv[1] == "runs":
        with open(sys.argv[2]) as fa, open(sys.argv[3]) as fb:
            a, b = json.load(fa), json.load(fb)
        different = diff(masked(a), masked(b), "report.json")
        print(f"{len(a['results'])} vs {len(b['results'])} cells, timings masked: "
              + ("differ" if different else "equal"))
        return 1 if different else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
