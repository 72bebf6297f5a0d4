#!/usr/bin/env python3
"""NEON kernel instructions per weight under qemu, which cannot time: the aarch64 gemv_loop
(tests/tools/gemv_loop.cpp) runs single-stepped under qemu-aarch64, which logs every instruction
executed inside the family files' code (FAMILY_neon*.cpp, address ranges from the link map), for R=2
and R=3 repetitions; the difference per M*K*N is the kernel's count, like callgrind's on x86
(docs/performance.md). Instructions in shared code outside those files (the driver in matmul.cpp,
the reference activation quantizers) are not counted.

  scripts/neon_instr.py [--build DIR] [--families kquant,iquant,ternary] FORMAT [N]

Needs what scripts/test-neon.sh installs (g++-aarch64-linux-gnu, qemu-user).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M, K = 16, 4096


def build(bdir):
    # Non-PIE, so the link map's addresses are the run-time ones.
    subprocess.run(["cmake", "--preset", "aarch64-cross", "-B", bdir, "-DCMAKE_CXX_FLAGS=-fno-pie",
                    f"-DCMAKE_EXE_LINKER_FLAGS=-no-pie -Wl,-Map={bdir}/gemv_loop.map"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", bdir, "-j", os.environ.get("QB_JOBS", "2"), "--target", "gemv_loop"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def ranges(map_file, families):
    """qemu -dfilter ranges of every placed input section of the family files."""
    obj = re.compile(r"0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+\S*\((?:%s)_neon\w*\.cpp\.o\)" % "|".join(families))
    out = []
    for line in open(map_file):
        m = obj.search(line)
        if m and int(m.group(1), 16) and int(m.group(2), 16):
            out.append(f"0x{m.group(1)}+0x{m.group(2)}")
    if not out:
        sys.exit(f"neon_instr: no sections of {families} in {map_file}")
    return ",".join(out)


def count(binary, filt, fmt, reps, n):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "exec.log")
        r = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", "-singlestep", "-d", "exec,nochain",
                            "-dfilter", filt, "-D", log, binary, fmt, "neon", str(M), str(K), str(reps), str(n)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"neon_instr: gemv_loop {fmt} neon failed (exit {r.returncode}): {r.stderr.strip()}")
        with open(log, errors="replace") as f:
            return sum(1 for line in f if line.startswith("Trace"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-neon-instr"))
    ap.add_argument("--families", default="kquant,iquant,ternary,legacy,int,float")
    ap.add_argument("format")
    ap.add_argument("n", nargs="?", type=int, default=1)
    a = ap.parse_args()
    build(a.build)
    filt = ranges(os.path.join(a.build, "gemv_loop.map"), a.families.split(","))
    binary = os.path.join(a.build, "tests", "gemv_loop")
    diff = count(binary, filt, a.format, 3, a.n) - count(binary, filt, a.format, 2, a.n)
    print(f"{a.format} neon {M}x{K} n={a.n}: {diff / (M * K * a.n):.3f} instructions per weight")


if __name__ == "__main__":
    main()
