#!/usr/bin/env python3
"""Browser test of the HTML report: a real `qbench run` (quick, small selection) is rendered and
loaded in headless Chromium through the DevTools protocol (tests/py/cdp_pipe.py, standard library
only). Asserts: zero console errors, no network requests, every chart canvas drawn with pixels,
the decision matrix sorts, the chart-less fallback shows its note. Keeps the screenshot as
BUILD/test-artifacts/report.png (and report.pdf from print emulation).

Exit 0 pass, 77 skip (no chromium), 1 fail.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp_pipe  # noqa: E402


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--report", help="use this report.json instead of running qbench")
    a = ap.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        print("SKIP: chromium is not installed (apt-get install chromium)")
        return 77

    art = os.path.join(a.build_dir, "test-artifacts")
    os.makedirs(art, exist_ok=True)
    work = tempfile.mkdtemp(prefix="qb_browser_")
    try:
        report = a.report
        if not report:
            out = os.path.join(work, "run")
            cmd = [a.qbench, "run", "--quick", "--suites", "bandwidth,quant-error,throughput,latency,memory",
                   "--formats", "F16,Q8_0,Q4_0,Q4_K", "--threads", "1", "--batch", "1", "--out", out]
            print("+ " + " ".join(cmd), flush=True)
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=700)
            if r.returncode != 0:
                fail("qbench run exited %d:\n%s" % (r.returncode, r.stdout[-3000:]))
            report = os.path.join(out, "report.json")
            if not os.path.exists(os.path.join(out, "report.html")):
                fail("qbench run did not write report.html (renderer not registered?)")
        html = os.path.join(art, "report.html")
        r = subprocess.run([a.qbench, "report", report, "--html", html, "--md", os.path.join(art, "report.md"),
                            "--csv", os.path.join(art, "report.csv")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        if r.returncode != 0:
            fail("qbench report exited %d: %s" % (r.returncode, r.stdout))
        env = dict(os.environ, QB_CHARTJS="none")
        html_nocharts = os.path.join(art, "report-nocharts.html")
        r = subprocess.run([a.qbench, "report", report, "--html", html_nocharts], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        if r.returncode != 0:
            fail("qbench report (no Chart.js) exited %d: %s" % (r.returncode, r.stdout))
        with open(html, encoding="utf-8") as f:
            text = f.read()
        has_chartjs = "Chart.js v" in text

        browser = cdp_pipe.Browser(chromium, os.path.join(work, "profile"))
        try:
            page = browser.new_page()
            page.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1,
                                                            "mobile": False})
            page.navigate("file://" + os.path.abspath(html))
            expected = page.evaluate("document.querySelectorAll('canvas').length")
            # Charts draw synchronously (animation off); wait until the page script marked them all.
            state = None
            for _ in range(100):
                state = page.evaluate("""(() => {
                    const cs = Array.from(document.querySelectorAll('canvas'));
                    return {charts: document.body.getAttribute('data-charts'),
                            rendered: cs.filter(c => c.getAttribute('data-rendered') === '1').length,
                            canvases: cs.map(c => {
                              let inked = 0;
                              try {
                                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) inked++;
                              } catch (e) { inked = -1; }
                              return {id: c.id, w: c.width, h: c.height, png: parseInt(c.getAttribute('data-png') || '0'),
                                      inked: inked};
                            })};
                })()""")
                if state["rendered"] >= expected:
                    break
                page.pump(0.1)
            page.pump(0.5)
            print("canvases: " + json.dumps(state))
            errors = page.errors()
            requests = [u for u in page.requests() if not u.startswith(("file:", "data:", "about:"))]

            # Sortable decision matrix: click "score" twice and check both orders.
            sort_ok = page.evaluate("""(() => {
                const t = document.getElementById('decision-matrix');
                if (!t) return 'no decision matrix';
                const ths = Array.from(t.tHead.rows[0].cells);
                const i = ths.findIndex(th => th.textContent.trim() === 'score');
                const vals = () => Array.from(t.tBodies[0].rows).map(r => parseFloat(r.cells[i].getAttribute('data-v')));
                ths[i].click(); const asc = vals();
                ths[i].click(); const desc = vals();
                const sorted = (v, f) => v.every((x, k) => k === 0 || f(v[k - 1], x));
                return sorted(asc, (a, b) => a <= b) && sorted(desc, (a, b) => a >= b) ? 'ok' : 'not sorted: ' + asc + ' / ' + desc;
            })()""")
            page.evaluate("window.scrollTo(0, 0)")
            png = os.path.join(art, "report.png")
            page.screenshot(png)
            page.send("Emulation.clearDeviceMetricsOverride")
            page.pdf(os.path.join(art, "report.pdf"))

            # The fallback page (no Chart.js): note visible, still no errors.
            page2 = browser.new_page()
            page2.navigate("file://" + os.path.abspath(html_nocharts))
            page2.pump(0.3)
            fallback = page2.evaluate("""(() => { const n = document.getElementById('no-charts');
                return {note: !!n && n.offsetHeight > 0, charts: document.body.getAttribute('data-charts')}; })()""")
            errors2 = page2.errors()
        finally:
            browser.close()

        problems = []
        if errors:
            problems.append("console errors: %s" % errors)
        if errors2:
            problems.append("console errors without Chart.js: %s" % errors2)
        if requests:
            problems.append("network requests: %s" % requests)
        if not has_chartjs:
            problems.append("Chart.js was not inlined (is libjs-chart.js installed?)")
        if expected < 2:
            problems.append("expected at least 2 charts (bandwidth, quality), found %d canvases" % expected)
        if state is None or state["rendered"] != expected:
            problems.append("only %s of %d charts rendered" % (state and state["rendered"], expected))
        for c in (state or {}).get("canvases", []):
            if c["png"] < 3000 or c["inked"] < 500:
                problems.append("canvas %s looks empty: toDataURL length %d, %d inked pixels" % (c["id"], c["png"], c["inked"]))
        if sort_ok != "ok":
            problems.append("decision matrix sort: %s" % sort_ok)
        if not fallback["note"] or fallback["charts"] != "unavailable":
            problems.append("chart-less fallback: %s" % fallback)
        if not os.path.exists(png) or os.path.getsize(png) < 10000:
            problems.append("screenshot missing or tiny: %s" % png)
        if problems:
            fail("\n  ".join(problems))
        print("PASS: %d charts drawn, 0 console errors, 0 network requests; screenshot %s" % (expected, png))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
