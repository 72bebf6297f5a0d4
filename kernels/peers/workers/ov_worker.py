"""OpenVINO variants for qb_worker.py: a model with one MatMul on a constant F32 weight (built with
openvino.opset13), compressed by nncf.compress_weights (all layers, ratio 1: every weight in the
mode asked), compiled for the CPU plugin with INFERENCE_NUM_THREADS = the cell's threads and the
LATENCY hint. NNCF stores the weights as low-bit constants with a decompression subgraph
(Convert, Subtract zero point, Multiply scale) that the CPU plugin fuses into the MatMul."""
import logging

import numpy as np

from qb_worker import timed

PACKAGES = ["openvino", "nncf"]  # what the worker imports (qb_worker.py --probe)

# (name, qbench format, NNCF mode, group size or None for per channel)
_MODES = [
    ("int8_sym_pc", "INT8_PC", "INT8_SYM", None),
    ("int8_asym_pc", "INT8_PC", "INT8_ASYM", None),
    ("int4_sym_g64", "INT4_G64", "INT4_SYM", 64),
    ("int4_asym_g64", "INT4_G64", "INT4_ASYM", 64),
    ("int4_sym_g128", "INT4_G128", "INT4_SYM", 128),
    ("int4_asym_g128", "INT4_G128", "INT4_ASYM", 128),
    ("nf4_g64", "NF4", "NF4", 64),
    ("mxfp4_g32", "MXFP4", "MXFP4", 32),  # NNCF 3.4 names E2M1 weights with E8M0 scales MXFP4
]
# bits: of each stored weight (before scales); act_bits: the plugin's activations (f32 here: dynamic
# quantization of activations is left at the CPU plugin's default and shows in the output check).
VARIANTS_OUT = [{"name": n, "qbench_format": f, "bits": 8 if m.startswith("INT8") else 4, "act_bits": 32,
                 "what": f"nncf.compress_weights mode {m}" + (f" group {g}" if g else " per channel")}
                for n, f, m, g in _MODES]




class Instance:
    def __init__(self, model, threads, computes):
        import openvino as ov
        self.model, self.threads, self.computes = model, threads, computes
        self.weight_bytes = sum(o.get_byte_size() for o in model.get_ops()
                                if o.get_type_name() == "Constant" and len(o.get_output_shape(0)) > 1)
        cfg = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        self.req = ov.Core().compile_model(model, "CPU", cfg).create_infer_request()

    def clone(self):
        return Instance(self.model, self.threads, self.computes)

    def run(self, x, y):
        x = np.ascontiguousarray(x)
        ns, out = timed(lambda: self.req.infer({0: x}, share_inputs=True)[0])
        y[:] = out
        return ns

    def dequantized(self):
        """The decompression subgraph's output (the MatMul's weight input), evaluated by the CPU plugin."""
        import openvino as ov
        import openvino.opset13 as ops
        mm = next(o for o in self.model.get_ops() if o.get_type_name() == "MatMul")
        w = ov.Model([ops.result(mm.input_value(1))], [], "w_hat")
        out = ov.Core().compile_model(w, "CPU").create_infer_request().infer({})[0]
        return np.asarray(out, np.float32).reshape(mm.input_value(1).get_shape()[0], -1)


def prepare(variant, w, threads, max_n):
    row = next((r for r in _MODES if r[0] == variant), None)
    if row is None:
        raise ValueError(f"unknown openvino variant {variant!r}")
    import nncf
    import openvino as ov
    import openvino.opset13 as ops
    nncf.set_log_level(logging.ERROR)
    m, k = w.shape
    x = ops.parameter([-1, k], np.float32, name="X")
    model = ov.Model([ops.matmul(x, ops.constant(w), False, True)], [x], "linear")
    kw = {"mode": getattr(nncf.CompressWeightsMode, row[2])}
    if row[3]:  # group modes keep the first/last layer in int8 unless all_layers
        kw.update(group_size=row[3], ratio=1.0, all_layers=True)
    model = nncf.compress_weights(model, **kw)
    return Instance(model, threads, f"openvino CPU plugin MatMul on {VARIANTS_OUT[_MODES.index(row)]['what']} "
                                    "weights (decompression fused)")
