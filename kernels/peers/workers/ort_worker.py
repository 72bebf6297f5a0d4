"""ONNX Runtime variants for qb_worker.py: graphs built with onnx.helper (one MatMul on a constant
weight, as an exported linear layer), quantized by onnxruntime.quantization as Olive does:
MatMulNBitsQuantizer (4-bit blocks, symmetric or with zero points, accuracy_level 0 or 4) and
quantize_dynamic per channel (DynamicQuantizeLinear + MatMulInteger). Run by an InferenceSession
on the CPU execution provider with intra_op_num_threads = the cell's threads."""
import logging
import os
import tempfile

import numpy as np

from qb_worker import timed

PACKAGES = ["onnxruntime", "onnx", "onnx-ir"]  # what the worker imports (qb_worker.py --probe)


def _variants():
    v = [("f32", "F32", "MatMul on F32 weights (MLAS sgemm)", 32, 32)]
    for b in (32, 64, 128):
        for sym in (True, False):
            for acc in (0, 4):
                v.append((f"nbits4_b{b}_{'sym' if sym else 'zp'}_acc{acc}", f"INT4_G{b}",
                          f"MatMulNBits 4-bit block {b} {'symmetric' if sym else 'with zero points'}, "
                          f"accuracy_level {acc} ({'int8 activations' if acc == 4 else 'f32 activations'})",
                          4, 8 if acc == 4 else 32))
    # quantize_dynamic per channel (DynamicQuantizeLinear + MatMulInteger) is left out: its output
    # differed from its own dequantized weights by 0.2-0.27 (max/rms) on 64x256, not yet understood.
    return v


VARIANTS = _variants()
# bits: of each stored weight (before scales); act_bits: of the activations inside the call.
VARIANTS_OUT = [{"name": n, "qbench_format": f, "what": w, "bits": b, "act_bits": a} for n, f, w, b, a in VARIANTS]




def _graph(w):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m, k = w.shape
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n", k])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["n", m])
    b = numpy_helper.from_array(np.ascontiguousarray(w.T), "B")  # ONNX MatMul: Y = X B, B is k x m
    g = helper.make_graph([helper.make_node("MatMul", ["X", "B"], ["Y"])], "linear", [x], [y], [b])
    # IR 10 / opset 21: what this onnxruntime reads (onnx 1.23 would write IR 14 by default).
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


class Instance:
    def __init__(self, model, threads, computes):
        import onnxruntime as ort
        self.model_bytes = model.SerializeToString()
        self.model = model
        self.threads = threads
        self.computes = computes
        self.weight_bytes = sum(np.asarray(_np(i)).nbytes for i in model.graph.initializer if len(i.dims) > 0)
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1
        o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        o.log_severity_level = 3
        # No spinning after a call: the rotation copies of a GEMV cell are sessions of their own, and
        # one session's spinning pool would take the cores from the next one's call.
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.sess = ort.InferenceSession(self.model_bytes, o, providers=["CPUExecutionProvider"])

    def clone(self):
        return Instance(self.model, self.threads, self.computes)  # a new session packs its own weights

    def run(self, x, y):
        feed = {"X": np.ascontiguousarray(x)}
        ns, out = timed(lambda: self.sess.run(None, feed)[0])
        y[:] = out
        return ns

    def dequantized(self):
        """W_hat from the stored initializers, decoded as the operators define them."""
        init = {i.name: _np(i) for i in self.model.graph.initializer}
        node = next(n for n in self.model.graph.node if n.op_type in ("MatMul", "MatMulNBits", "MatMulInteger"))
        if node.op_type == "MatMul":
            return init["B"].T
        if node.op_type == "MatMulInteger":
            q = init[node.input[1]].astype(np.float32)  # k x m
            zp = init[node.input[3]].astype(np.float32)
            scale = next(v for n, v in init.items() if n.endswith("B_scale"))
            return ((q - zp) * scale).T
        a = {x.name: x for x in node.attribute}
        from onnx import helper
        n_, k, bs = (helper.get_attribute_value(a[s]) for s in ("N", "K", "block_size"))
        blob = init[node.input[1]].reshape(n_, -1)  # [N, n_blocks * bs/2] bytes, low nibble first
        q = np.empty((n_, blob.shape[1] * 2), np.float32)
        q[:, 0::2] = blob & 15
        q[:, 1::2] = blob >> 4
        nb = (k + bs - 1) // bs
        scale = init[node.input[2]].reshape(n_, nb).astype(np.float32)
        if len(node.input) > 3 and node.input[3]:
            zpb = init[node.input[3]].reshape(n_, -1)
            zp = np.empty((n_, zpb.shape[1] * 2), np.float32)
            zp[:, 0::2] = zpb & 15
            zp[:, 1::2] = zpb >> 4
            zp = zp[:, :nb]
        else:
            zp = np.full((n_, nb), 8.0, np.float32)
        w = (q.reshape(n_, nb, bs) - zp[:, :, None]) * scale[:, :, None]
        return w.reshape(n_, nb * bs)[:, :k]


def _np(init):
    from onnx import numpy_helper
    return numpy_helper.to_array(init)


def prepare(variant, w, threads, max_n):
    what = dict((v[0], v[2]) for v in VARIANTS).get(variant)
    if what is None:
        raise ValueError(f"unknown onnxruntime variant {variant!r}")
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    logging.getLogger().setLevel(logging.ERROR)
    model = _graph(w)
    if variant.startswith("nbits4_"):
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        _, b, sym, acc = variant.split("_")
        q = MatMulNBitsQuantizer(model, bits=4, block_size=int(b[1:]), is_symmetric=sym == "sym",
                                 accuracy_level=int(acc[3:]))
        q.process()
        model = q.model.model
    elif variant == "qdq_int8_pc":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "f32.onnx"), os.path.join(d, "int8.onnx")
            onnx.save(model, src)
            quantize_dynamic(src, dst, per_channel=True, weight_type=QuantType.QInt8)
            model = onnx.load(dst)
    return Instance(model, threads, f"onnxruntime CPU EP: {what}; intra_op_num_threads {threads}, no spinning")
