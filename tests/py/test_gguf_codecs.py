#!/usr/bin/env python3
"""Cross-check qbench's reference codecs against gguf-py's numpy codecs, byte for byte.

For every GGUF type in qbench's table:
  * gguf-py can quantize it  -> quantized bytes must be identical (qbench vs gguf.quants.quantize)
  * gguf-py can dequantize it -> floats must be bit-identical on qbench's bytes and on random bytes
Over >= 1M random values per type (gaussian, laplace, student-t, outlier rows) plus edge cases.
Types gguf-py implements neither way (Q8_1, Q8_K) are reported and left to the ggml cross-check.

Runs the standalone driver <build-dir>/tests/qb_codec_tool. Exit 0 = pass, 1 = fail, 77 = skip
(gguf or numpy not installed: this script installs nothing).
"""
import argparse
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import quantize as gg_quantize, dequantize as gg_dequantize
except ImportError as e:  # the lead's setup installs gguf; do not pip-install from a test
    print(f"SKIP: python package missing ({e}); install 'gguf' (pip install gguf) to run this check")
    sys.exit(77)

# qbench's GGUF formats (kernels/formats/format_table.cpp), by GGUF type name.
QB_GGUF = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K",
           "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4"]
K = 4096  # row length: a multiple of every block size


def make_data(rng: np.random.Generator, qtype: str) -> dict[str, np.ndarray]:
    """name -> (rows, K) float32. The random sets add up to 1,048,576 values."""
    R = 64
    out = {}
    out["gaussian"] = (rng.standard_normal((R, K)) * 0.02).astype(np.float32)
    out["laplace"] = (rng.laplace(size=(R, K)) * 0.01).astype(np.float32)
    out["student_t3"] = (rng.standard_t(3, size=(R, K)) * 0.01).astype(np.float32)
    o = rng.standard_normal((R, K)).astype(np.float32)
    for r in range(R):
        o[r, rng.integers(0, K, 8)] *= 40.0
    out["outliers"] = o
    # Edge cases, one row each.
    huge = {"F16": 30000.0, "Q8_1": 1000.0, "Q4_0": 60000.0, "Q5_0": 60000.0, "Q8_0": 60000.0,
            "BF16": 1e30, "F32": 1e30, "MXFP4": 1e30}.get(qtype, 30000.0)
    g = rng.standard_normal(K)
    e = [np.zeros(K), np.full(K, 0.37), np.full(K, -2.5), -np.abs(g), np.abs(g) + 0.5,
         g * 1e-6, g / np.abs(g).max() * huge,
         np.round(g * 4) / 4,                      # values on a coarse grid: rounding ties
         rng.integers(-8, 8, K).astype(np.float64),  # small integers: exact levels and ties
         rng.integers(-1, 2, K).astype(np.float64)]  # ternary-valued weights
    s = g * 0.01
    s[5::32] = np.where(np.arange(K // 32) % 2, 4.0, -4.0)  # one outlier per block of 32
    e.append(s)
    # Block maxima exactly on the fp16 rounding boundary and blocks whose max is negative.
    s = g.copy()
    s[::32] = -np.abs(s[::32]) * 3
    e.append(s)
    # Tiny values: fp32 normals far below fp16's range, and fp32 subnormals. (MXFP4: for
    # absmax < 2^-125 the E8M0 exponent wraps modulo 256 in ggml, gguf-py and qbench alike.)
    e.append(g * 1e-30)
    e.append(g * 1e-40)
    out["edge"] = np.array(e, dtype=np.float32)
    return out


class Tool:
    def __init__(self, path: str, tmp: str):
        self.path, self.tmp = path, tmp

    def run(self, cmd: str, qtype: str, rows: int, data: np.ndarray) -> np.ndarray:
        fin, fout = os.path.join(self.tmp, "in.bin"), os.path.join(self.tmp, "out.bin")
        data.tofile(fin)
        r = subprocess.run([self.path, cmd, qtype, str(rows), str(K), fin, fout],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"qb_codec_tool {cmd} {qtype} failed: {r.stderr.strip()}")
        return np.fromfile(fout, dtype=np.uint8 if cmd == "quantize" else np.float32)


def float_mismatches(a: np.ndarray, b: np.ndarray) -> int:
    """Count values whose bits differ; two NaNs count as equal (payloads are not a contract)."""
    a, b = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    if a.size != b.size:
        return max(a.size, b.size)
    same = (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))
    return int((~same).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--qbench", default="")
    ap.add_argument("--source-dir", default="")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()

    tool = os.path.join(args.build_dir, "tests", "qb_codec_tool")
    if not os.access(tool, os.X_OK):
        print(f"FAIL: codec driver not found at {tool} (build target qb_codec_tool)")
        return 1
    try:
        from importlib.metadata import version
        gv = version("gguf")
    except Exception:
        gv = "?"
    print(f"gguf-py {gv} from {os.path.dirname(gguf.__file__)}")

    rng = np.random.default_rng(args.seed)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        qb = Tool(tool, tmp)
        for name in QB_GGUF:
            qt = T[name]
            probe = np.zeros((1, K), dtype=np.float32)
            try:
                gg_quantize(probe, qt)
                can_q = True
            except NotImplementedError:
                can_q = False
            try:
                gg_dequantize(np.zeros((1, gguf.quant_shape_to_byte_shape((1, K), qt)[1]), np.uint8), qt)
                can_dq = True
            except NotImplementedError:
                can_dq = False
            if not can_q and not can_dq:
                print(f"{name:7s} gguf-py implements no codec: not checked here (see the ggml cross-check)")
                continue

            nvals = nbytes = bad_bytes = bad_deq = bad_rand = 0
            for dname, x in make_data(rng, name).items():
                rows = x.shape[0]
                ours = qb.run("quantize", name, rows, x)
                nvals += x.size
                nbytes += ours.size
                if can_q:
                    with np.errstate(all="ignore"):  # gguf-py divides by zero for all-zero blocks
                        ref = np.asarray(gg_quantize(x, qt)).view(np.uint8).ravel()
                    if ref.size != ours.size:
                        failures.append(f"{name} {dname}: size {ours.size} vs gguf-py {ref.size}")
                        continue
                    n = int((ref != ours).sum())
                    if n:
                        i = int(np.argmax(ref != ours))
                        bs = gguf.GGML_QUANT_SIZES[qt][1]
                        failures.append(f"{name} {dname}: {n} byte mismatches, first at byte {i} "
                                        f"(block {i // bs}, row {i // (ours.size // rows)})")
                    bad_bytes += n
                if can_dq:
                    mine = qb.run("dequantize", name, rows, ours)
                    theirs = gg_dequantize(ours.reshape(rows, -1), qt)
                    n = float_mismatches(mine, theirs)
                    if n:
                        failures.append(f"{name} {dname}: {n} dequantized values differ")
                    bad_deq += n
            if can_dq:
                # Random bytes exercise every code, scale and sign pattern of the decoder.
                rows = 64
                raw = rng.integers(0, 256, size=(rows, gguf.quant_shape_to_byte_shape((rows, K), qt)[1]),
                                   dtype=np.uint8)
                with np.errstate(all="ignore"):
                    theirs = gg_dequantize(raw, qt)
                mine = qb.run("dequantize", name, rows, raw)
                bad_rand = float_mismatches(mine, theirs)
                if bad_rand:
                    failures.append(f"{name} random bytes: {bad_rand} dequantized values differ")
            print(f"{name:7s} values {nvals:8d}  quantize: " +
                  (f"{bad_bytes} byte mismatches / {nbytes}" if can_q else "gguf-py has none") +
                  (f"  dequantize: {bad_deq} + random-bytes {bad_rand} mismatches" if can_dq else ""))

    if failures:
        print("FAIL:")
        for f in failures:
            print("  " + f)
        return 1
    print("PASS: 0 mismatches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
