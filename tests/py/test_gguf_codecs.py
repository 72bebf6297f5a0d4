#!/usr/bin/env python3
"""Cross-check qbench's reference codecs against gguf-py's numpy codecs, byte for byte.

For every GGUF type in qbench's table:
  * gguf-py can quantize it  -> quantized bytes must be identical (qbench vs gguf.quants.quantize)
  * gguf-py can dequantize it -> floats must be bit-identical on qbench's bytes and on random bytes
Over >= 1M random values per type (gaussian, laplace, student-t, outlier rows) plus edge cases.
Types gguf-py implements neither way (Q8_1, Q8_K: activation formats) are checked byte for byte
against numpy ports of ggml's quantize_row_q8_1_ref / quantize_row_q8_K_ref below (ggml-quants.c),
with x86-64 float->int conversion semantics where ggml's C relies on them; any other such type fails.

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


# ---- numpy ports of ggml's reference quantizers for the two types gguf-py lacks ----
# float32 arithmetic step by step as ggml's C does (formats are built with -ffp-contract=off).

def _x86_to_int8(v: np.ndarray) -> np.ndarray:
    """C `int8_t q = (float)v` as gcc emits it on x86-64: cvttss2si to int32 (INT_MIN for NaN,
    inf or out of range) then the low byte."""
    v = v.astype(np.float64)
    ok = np.isfinite(v) & (np.abs(v) < 2.0 ** 31)
    i32 = np.where(ok, np.trunc(np.where(ok, v, 0.0)), -(2 ** 31)).astype(np.int64)
    return (i32 & 0xFF).astype(np.uint8).view(np.int8)


def _roundf(v: np.ndarray) -> np.ndarray:
    """C roundf (half away from zero); float32 inputs are exact in float64, so this is exact."""
    v = v.astype(np.float64)
    with np.errstate(invalid="ignore"):
        return np.sign(v) * np.floor(np.abs(v) + 0.5)


def ref_q8_1(x: np.ndarray) -> np.ndarray:
    """ggml quantize_row_q8_1_ref: per 32 values d = amax/127 (fp16), qs = roundf(x/d),
    s = sum(qs)*d (fp16). Block: d, s, qs[32] = 36 bytes."""
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    with np.errstate(all="ignore"):
        d = (amax / np.float32(127)).astype(np.float32)
        idv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, np.float32(1)), np.float32(0)).astype(np.float32)
        qs = _x86_to_int8(_roundf((b * idv[:, None]).astype(np.float32)))
        s = (qs.astype(np.int32).sum(axis=1).astype(np.float32) * d).astype(np.float32)
    out = np.zeros((b.shape[0], 36), np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = s.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 4:] = qs.view(np.uint8)
    return out.ravel()


def ref_q8_k(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ggml quantize_row_q8_K_ref: per 256 values, max = the first value of largest |x|,
    iscale = -127/max, qs = min(127, nearest_int(iscale*x)), bsums = sums of 16, d = 1/iscale.
    Block: float d, int8 qs[256], int16 bsums[16] = 292 bytes. Returns (bytes, compare-mask):
    ggml leaves bsums of all-zero blocks unwritten, so those bytes are not compared."""
    b = x.astype(np.float32).reshape(-1, 256)
    nb = b.shape[0]
    ab = np.abs(b)
    amax = ab.max(axis=1)
    mx = b[np.arange(nb), ab.argmax(axis=1)]  # argmax: first occurrence, as ggml's strict '>'
    out = np.zeros((nb, 292), np.uint8)
    mask = np.ones((nb, 292), bool)
    with np.errstate(all="ignore"):
        iscale = (np.float32(-127) / np.where(amax != 0, mx, np.float32(1))).astype(np.float32)
        val = ((iscale[:, None] * b).astype(np.float32) + np.float32(12582912)).astype(np.float32)
        v = (val.view(np.int32).astype(np.int64) & 0x7FFFFF) - 0x400000  # ggml nearest_int
        qs = (np.minimum(127, v) & 0xFF).astype(np.uint8).view(np.int8)
        d = (np.float32(1) / iscale).astype(np.float32)
    zero = amax == 0
    qs[zero] = 0
    d[zero] = 0
    bsums = qs.astype(np.int16).reshape(nb, 16, 16).sum(axis=2).astype(np.int16)
    out[:, 0:4] = d.view(np.uint8).reshape(-1, 4)
    out[:, 4:260] = qs.view(np.uint8)
    out[:, 260:] = bsums.view(np.uint8).reshape(-1, 32)
    mask[zero, 260:] = False
    return out.ravel(), mask.ravel()


OWN_REFS = {"Q8_1", "Q8_K"}


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
            if name in OWN_REFS:
                nvals = bad = 0
                for dname, x in make_data(rng, name).items():
                    rows = x.shape[0]
                    ours = qb.run("quantize", name, rows, x)
                    if name == "Q8_1":
                        ref, mask = ref_q8_1(x), None
                    else:
                        ref, mask = ref_q8_k(x)
                    nvals += x.size
                    if ref.size != ours.size:
                        failures.append(f"{name} {dname}: size {ours.size} vs ggml-ref port {ref.size}")
                        continue
                    diff = ref != ours
                    if mask is not None:
                        diff &= mask
                    n = int(diff.sum())
                    if n:
                        failures.append(f"{name} {dname}: {n} byte mismatches vs the ggml-ref port, "
                                        f"first at byte {int(np.argmax(diff))}")
                    bad += n
                print(f"{name:7s} values {nvals:8d}  quantize: {bad} byte mismatches vs numpy port of ggml's "
                      f"reference quantizer (gguf-py has none)")
                if can_q or can_dq:
                    print(f"{name:7s} gguf-py now implements it too: checking against gguf-py as well")
                else:
                    continue
            elif not can_q and not can_dq:
                failures.append(f"{name}: gguf-py implements no codec and there is no reference port here")
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
