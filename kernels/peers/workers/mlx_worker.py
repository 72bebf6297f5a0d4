"""MLX (CPU build) variants for qb_worker.py: mx.quantize (affine: bits 2/3/4/6/8 x group
32/64/128, scale and bias per group; mxfp4: E2M1 with an E8M0 scale per 32) and
mx.quantized_matmul on the CPU device. MLX has no thread-count setting for its CPU kernels: the
cell's threads are recorded, not applied."""
import numpy as np

from qb_worker import timed

PACKAGES = ["mlx", "mlx-cpu"]  # what the worker imports (qb_worker.py --probe)


def _variants():
    v = []
    for bits in (2, 3, 4, 6, 8):
        for g in (32, 64, 128):
            qb = f"INT4_G{g}" if bits == 4 else "INT8_PC" if bits == 8 else {2: "Q2_K", 3: "Q3_K", 6: "Q6_K"}[bits]
            v.append((f"affine_b{bits}_g{g}", qb, "affine", bits, g))
    v.append(("mxfp4_g32", "MXFP4", "mxfp4", 4, 32))
    return v


# The closest qbench format: INT4_G* for 4-bit affine groups, INT8_PC for 8-bit, the K-quant of the
# same bit width for 2/3/6 bits (qbench has no plain 2/3/6-bit affine format).
VARIANTS = _variants()
# MLX's CPU quantized_matmul is a plain loop (about 0.3 GFLOP/s at n = 512 on 2048x8192 on 2 AVX2
# cores, a minute per call): GEMM is measured on MLX's default variant (4-bit, group 64) only.
_NO_GEMM = ("MLX's CPU quantized_matmul runs at ~0.3 GFLOP/s (about a minute per n=512 call on 2048x8192): "
            "n > 1 is measured on mlx:affine_b4_g64 only")
VARIANTS_OUT = [{"name": n, "qbench_format": f, "what": f"mx.quantize mode {mo} bits {b} group {g}", "bits": b,
                 "act_bits": 32, "no_gemm": "" if n == "affine_b4_g64" else _NO_GEMM} for n, f, mo, b, g in VARIANTS]




class Instance:
    def __init__(self, q, mode, bits, group, computes):
        import mlx.core as mx
        self.q, self.mode, self.bits, self.group, self.computes = q, mode, bits, group, computes
        mx.eval(*q)
        self.weight_bytes = sum(a.nbytes for a in q if a is not None)

    def clone(self):
        import mlx.core as mx
        return Instance(tuple(None if a is None else mx.array(np.array(a)) for a in self.q),
                        self.mode, self.bits, self.group, self.computes)

    def _mm(self, x):
        import mlx.core as mx
        wq, s, b = self.q
        return mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=self.group, bits=self.bits,
                                   mode=self.mode)

    def run(self, x, y):
        import mlx.core as mx
        xa = mx.array(x)
        mx.eval(xa)

        def call():
            out = self._mm(xa)
            mx.eval(out)
            return out
        ns, out = timed(call)
        y[:] = np.array(out, copy=False)
        return ns

    def dequantized(self):
        import mlx.core as mx
        wq, s, b = self.q
        w = mx.dequantize(wq, s, b, group_size=self.group, bits=self.bits, mode=self.mode)
        return np.array(w.astype(mx.float32))


def prepare(variant, w, threads, max_n):
    row = next((r for r in VARIANTS if r[0] == variant), None)
    if row is None:
        raise ValueError(f"unknown mlx variant {variant!r}")
    import mlx.core as mx
    mx.set_default_device(mx.cpu)
    _, _, mode, bits, g = row
    q = mx.quantize(mx.array(w), group_size=g, bits=bits, mode=mode)
    if len(q) == 2:
        q = (q[0], q[1], None)
    return Instance(tuple(q), mode, bits, g, f"mx.quantized_matmul on the CPU device, {mode} {bits}-bit group {g} "
                                             "(f32 activations; MLX's CPU kernels take no thread count)")
