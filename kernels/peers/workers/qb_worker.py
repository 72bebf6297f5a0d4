#!/usr/bin/env python3
"""qbench's subprocess adapter worker: one JSON line in, one JSON line out, on stdin/stdout.

Started by kernels/peers/subprocess_peer.cpp as `python3 qb_worker.py FRAMEWORK`. Arrays never go
through JSON: qbench creates files in /dev/shm and names them; the worker maps them with numpy.
Requests (each answered by {"ok": true, ...} or {"ok": false, "error": "..."}):
  hello                                   -> variants [{name, qbench_format, what}]
  prepare  variant m k max_n threads w x y -> id, weight_bytes, computes
  clone    id x y                          -> id (same weights, memory of its own)
  run      id n                            -> ns (framework call only, perf_counter_ns)
  dequantized id path                      -> writes the framework's W_hat (m x k f32) to path
  free     id
Library output (progress bars, warnings) is sent to stderr so that stdout carries only answers.
"""
import importlib
import json
import os
import sys
import time
import traceback

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
MODULES = {"onnxruntime": "ort_worker", "openvino": "ov_worker"}


def probe(name):
    """For the build (cmake/Deps.cmake): 'VERSION' or 'MISSING reason', without importing the framework."""
    import importlib.metadata as md
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    mod = importlib.import_module(MODULES[name])
    have, absent = [], []
    for pkg in mod.PACKAGES:
        try:
            have.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            absent.append(pkg)
    if absent:
        print(f"MISSING Python package(s) {', '.join(absent)} not installed for {sys.executable} "
              f"(scripts/setup.sh installs them)")
    else:
        print(", ".join(have))
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--probe" and sys.argv[2] in MODULES:
        return probe(sys.argv[2])
    if len(sys.argv) != 2 or sys.argv[1] not in MODULES:
        print(f"usage: qb_worker.py [--probe] {{{','.join(MODULES)}}}", file=sys.stderr)
        return 2
    # The protocol keeps the original stdout; fd 1 becomes stderr for everything else.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    fw = importlib.import_module(MODULES[sys.argv[1]])
    inst = {}
    next_id = 0

    def mapped(path, count, mode="r+"):
        return np.memmap(path, dtype=np.float32, mode=mode, shape=(count,))

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "hello":
                ans = {"variants": fw.VARIANTS_OUT}
            elif op == "prepare":
                m, k, max_n = int(req["m"]), int(req["k"]), int(req["max_n"])
                w = np.array(mapped(req["w"], m * k, "r")).reshape(m, k)
                obj = fw.prepare(req["variant"], w, int(req["threads"]), max_n)
                x = mapped(req["x"], max_n * k).reshape(max_n, k)
                y = mapped(req["y"], max_n * m).reshape(max_n, m)
                inst[next_id] = (obj, x, y, m, k, max_n)
                ans = {"id": next_id, "weight_bytes": int(obj.weight_bytes), "computes": obj.computes}
                next_id += 1
            elif op == "clone":
                obj, _, _, m, k, max_n = inst[int(req["id"])]
                x = mapped(req["x"], max_n * k).reshape(max_n, k)
                y = mapped(req["y"], max_n * m).reshape(max_n, m)
                inst[next_id] = (obj.clone(), x, y, m, k, max_n)
                ans = {"id": next_id}
                next_id += 1
            elif op == "run":
                obj, x, y, m, k, max_n = inst[int(req["id"])]
                n = int(req["n"])
                if not 1 <= n <= max_n:
                    raise ValueError(f"n = {n} outside 1..{max_n}")
                ns = obj.run(x[:n], y[:n])
                ans = {"ns": int(ns)}
            elif op == "dequantized":
                obj, _, _, m, k, _ = inst[int(req["id"])]
                out = mapped(req["path"], m * k).reshape(m, k)
                out[:] = obj.dequantized()
                out.flush()
                ans = {}
            elif op == "free":
                inst.pop(int(req["id"]), None)
                ans = {}
            elif op == "quit":
                return 0
            else:
                raise ValueError(f"unknown op {op!r}")
            ans["ok"] = True
        except Exception as e:  # one clear error per request; the worker stays up
            traceback.print_exc(file=sys.stderr)
            ans = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        proto.write(json.dumps(ans) + "\n")
    return 0


def timed(fn):
    """Nanoseconds of fn() on a monotonic clock: what a run answer reports."""
    t0 = time.perf_counter_ns()
    out = fn()
    return time.perf_counter_ns() - t0, out


if __name__ == "__main__":
    sys.exit(main())
