"""INT8 QDQ model of a float ONNX graph, laid out so that ONNX Runtime on CPU runs it on int8 kernels.

QuantizeLinear/DequantizeLinear pairs carry the calibrated ranges; weights are stored as int8 (symmetric, 7-bit,
per output channel by default), biases as int32 at scale input_scale * weight_scale. The input and the
outputs stay float32, so callers feed and read the same tensors as the float model.

Where the pairs go decides what ONNX Runtime can fuse; a pair it cannot fuse only adds work (putting one
on every tensor, as a naive QDQ pass does, ran a ResNet-18 detector no faster than float32):

- no pair between Conv and its Relu: ``DQ -> Conv -> Relu -> Q`` becomes one QLinearConv, because ORT
  drops a Relu whose QuantizeLinear already clips at zero. That needs the zero point at the bottom of
  the type, so non-negative tensors (ReLU outputs, and pools and concatenations of them) are quantized
  unsigned: uint8, zero point 0, scale amax / 255. Every other tensor is int8 symmetric: zero point 0,
  scale amax / 127. (With int8 and zero point 0 the Relu stays between Conv and Q and ORT falls back to
  a float Conv; on x86 ORT turns int8 activations into uint8 internally in any case.)
- no pair between Add and its Relu either: ``DQ, DQ -> Add -> Relu -> Q`` becomes QLinearAdd.
- MaxPool output keeps its input's scale, so ORT drops its pair and pools the int8 tensor directly.
- only tensors that an op ORT runs in int8 reads (Conv, Gemm, Add, MaxPool, AveragePool, Concat; also
  GlobalAveragePool) get a pair; what ends the graph stays float32 (Sigmoid, Softmax, a Conv whose output
  is a graph output). The detection heads read int8 weights but convolve in float32 (two small Convs);
  a classifier's Gemm runs as QGemm with a float32 output.
- weights use 7 bits (-63..63) in this layout: ORT's x86 kernels without VNNI multiply uint8 by int8
  with ``vpmaddubsw``, whose int16 pair sums saturate at full 8-bit weights (ORT's ``reduce_range``).
  Measured on an AVX2 EPYC, the coverage error of a ResNet-10 detector was 3x the test's bound at 8 bits
  and within it at 7. TensorRT's layout (``for_tensorrt``) keeps the full -127..127.

    import onnx
    from jupyter_tlt.export.calibration import collect_ranges
    from jupyter_tlt.export.quantize import ort_op_counts, quantize_qdq

    proto = onnx.load("model.onnx")
    int8 = quantize_qdq(proto, collect_ranges(proto, batches))
    onnx.save(int8, "model.int8.onnx")     # input_1 float32 in, output_cov/Sigmoid ... float32 out
    ort_op_counts(int8)                    # Counter({'QLinearConv': 25, 'QLinearAdd': 8, 'Conv': 1, ...})
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import DataError

MIN_OPSET = 13                 # per-axis DequantizeLinear
INT32_MAX = 2**31 - 1
ALL_INPUTS = None
# Op -> input positions that take a quantized tensor (a Q/DQ pair in front). ORT has int8 kernels for all
# but GlobalAveragePool, which then runs on the dequantized tensor but lets the Add before it fuse.
INT8_INPUTS: dict[str, tuple[int, ...] | None] = {
    "Conv": (0,), "Gemm": (0,), "Add": (0, 1), "MaxPool": (0,), "AveragePool": (0,), "Concat": ALL_INPUTS,
    "GlobalAveragePool": (0,)}
SCALE_PRESERVING = {"MaxPool"}  # int8 output = op applied to int8 input, at the same scale
NON_NEGATIVE = {"Relu"}        # quantized unsigned so that ORT folds the op into its QuantizeLinear
KEEPS_SIGN = {"MaxPool", "AveragePool", "GlobalAveragePool", "Concat", "Flatten", "Reshape", "Transpose"}


@dataclass(frozen=True)
class QParams:
    """Per-tensor quantization of an activation: scale and whether it is uint8 (else int8); zero point 0."""

    scale: float
    unsigned: bool


def quantize_qdq(onnx_model: onnx.ModelProto, ranges: dict[str, float], *, per_channel: bool = True,
                 for_tensorrt: bool = False) -> onnx.ModelProto:
    """INT8 QDQ copy of ``onnx_model`` with activation ranges ``ranges`` (tensor -> amax, from collect_ranges).

    Weights of Conv (axis 0) and Gemm (output axis) are int8, per channel unless ``per_channel`` is false.
    A tensor without a range stays float. ``for_tensorrt`` lays the pairs out for TensorRT's explicit
    quantization instead of ONNX Runtime's fusions: TensorRT takes only signed symmetric int8 Q/DQ (no
    uint8 activations) and quantizes biases itself (they stay float).
    """
    opset = next((o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise DataError(f"model opset {opset} is below {MIN_OPSET}; re-export it with keras_to_onnx(opset=17)")
    model = onnx.ModelProto()
    model.CopyFrom(onnx_model)
    graph = model.graph
    tensors = [value.name for value in graph.input] + [name for node in graph.node for name in node.output]
    for name in tensors:  # ranges may hold more (a TensorRT cache names its own internal tensors too)
        if name in ranges and not (np.isfinite(ranges[name]) and ranges[name] > 0):
            raise DataError(f"tensor {name!r} has amax {ranges[name]}; calibration ranges must be positive "
                            "and finite")
    weights = {init.name: init for init in graph.initializer}
    plan = _activation_plan(graph, ranges, weights, signed_only=for_tensorrt)

    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    for value in graph.input:
        if value.name in plan:
            nodes += _q_dq(value.name, plan[value.name], initializers)
    for node in graph.node:
        node = _copy(node)
        ports = INT8_INPUTS.get(node.op_type, ())
        x_params = plan.get(node.input[0]) if node.input else None
        for i, name in enumerate(node.input):
            if name in plan and (ports is ALL_INPUTS or i in ports):
                node.input[i] = f"{name}/dequantized"
        if node.op_type in ("Conv", "Gemm") and len(node.input) > 1 and node.input[1] in weights:
            nodes += _quantize_weights(node, weights, x_params, per_channel, initializers,
                                       tensorrt=for_tensorrt)
        nodes.append(node)
        for name in node.output:
            if name in plan:
                nodes += _q_dq(name, plan[name], initializers)

    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in [*graph.initializer, *initializers] if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_op_counts(onnx_model: onnx.ModelProto) -> Counter:
    """Op types of ``onnx_model`` after ONNX Runtime's CPU graph optimizations (QDQ fusions included)."""
    import onnxruntime

    with tempfile.TemporaryDirectory() as tmp:
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        onnxruntime.InferenceSession(onnx_model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(options.optimized_model_filepath)
    return Counter(node.op_type for node in optimized.graph.node)


def _activation_plan(graph: onnx.GraphProto, ranges: dict[str, float], weights: dict[str, onnx.TensorProto],
                     signed_only: bool = False) -> dict[str, QParams]:
    """QParams of every activation that gets a Q/DQ pair: it has a range and an op reads it as int8
    (unsigned for non-negative tensors unless ``signed_only``)."""
    producers = {name: node for node in graph.node for name in node.output}
    readers: dict[str, list[tuple[onnx.NodeProto, int]]] = defaultdict(list)
    for node in graph.node:
        for i, name in enumerate(node.input):
            readers[name].append((node, i))

    def read_as_int8(name: str) -> bool:
        for node, i in readers[name]:
            ports = INT8_INPUTS.get(node.op_type, ())
            if ports is ALL_INPUTS or i in ports:
                return True
        return False

    non_negative = set() if signed_only else _non_negative(graph)
    plan: dict[str, QParams] = {}
    names = [value.name for value in graph.input] + [name for node in graph.node for name in node.output]
    for name in names:
        if name in weights or name not in ranges or not read_as_int8(name):
            continue
        producer = producers.get(name)
        op = producer.op_type if producer is not None else None
        if op in SCALE_PRESERVING and producer.input[0] in plan:
            plan[name] = plan[producer.input[0]]
        elif name in non_negative:
            plan[name] = QParams(ranges[name] / 255.0, unsigned=True)
        else:
            plan[name] = QParams(ranges[name] / 127.0, unsigned=False)
    return plan


def _non_negative(graph: onnx.GraphProto) -> set[str]:
    """Tensors that cannot be negative: ReLU outputs, and pools and concatenations of such tensors."""
    found: set[str] = set()
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type in NON_NEGATIVE or (node.op_type in KEEPS_SIGN and inputs
                                           and all(name in found for name in inputs)):
            found.update(node.output)
    return found


def _q_dq(name: str, params: QParams, initializers: list[onnx.TensorProto]) -> list[onnx.NodeProto]:
    """QuantizeLinear -> DequantizeLinear of activation ``name``; readers take ``<name>/dequantized``."""
    scale, zero = f"{name}/scale", f"{name}/zero_point"
    initializers += [numpy_helper.from_array(np.array(params.scale, dtype=np.float32), scale),
                     numpy_helper.from_array(np.array(0, dtype=np.uint8 if params.unsigned else np.int8), zero)]
    return [helper.make_node("QuantizeLinear", [name, scale, zero], [f"{name}/quantized"],
                             name=f"{name}/QuantizeLinear"),
            helper.make_node("DequantizeLinear", [f"{name}/quantized", scale, zero], [f"{name}/dequantized"],
                             name=f"{name}/DequantizeLinear")]


def _quantize_weights(node: onnx.NodeProto, weights: dict[str, onnx.TensorProto], x_params: QParams | None,
                      per_channel: bool, initializers: list[onnx.TensorProto], tensorrt: bool = False
                      ) -> list[onnx.NodeProto]:
    """Replace the weight (and, with a quantized input in ORT's layout, the bias) of Conv/Gemm ``node`` by
    DequantizeLinear of int8 (int32) initializers; returns those DequantizeLinear nodes."""
    name = node.input[1]
    w = numpy_helper.to_array(weights[name]).astype(np.float64)
    axis = 0
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        axis = 0 if trans_b else 1
    others = tuple(a for a in range(w.ndim) if a != axis)
    amax = np.abs(w).max(axis=others) if per_channel else np.full(w.shape[axis], np.abs(w).max())
    levels = 127 if tensorrt else 63   # ORT's layout reduces the range: see the module docstring
    w_scale = np.where(amax > 0, amax, 1.0) / levels  # an all-zero (pruned) channel is exact at any scale

    bias = None
    has_bias = len(node.input) > 2 and node.input[2] in weights
    if has_bias and x_params is not None and not tensorrt:
        bias = numpy_helper.to_array(weights[node.input[2]]).astype(np.float64)
        # a tiny scale would overflow the int32 bias: coarsen the weight scale of such channels instead
        w_scale = np.maximum(w_scale, np.abs(bias) / (x_params.scale * INT32_MAX))
    if not per_channel:
        w_scale = np.full_like(w_scale, w_scale.max())

    shape = [1] * w.ndim
    shape[axis] = -1
    w_int8 = np.clip(np.round(w / w_scale.reshape(shape)), -levels, levels).astype(np.int8)
    scale_value = w_scale if per_channel else w_scale[:1].reshape(())
    dq = [_dequantize(name, w_int8, scale_value, np.int8, axis, initializers)]
    node.input[1] = dq[0].output[0]
    if bias is not None:
        b_scale = x_params.scale * w_scale
        b_int32 = np.round(bias / b_scale).astype(np.int32)
        dq.append(_dequantize(node.input[2], b_int32, b_scale, np.int32, 0, initializers))
        node.input[2] = dq[1].output[0]
    return dq


def _dequantize(name: str, values: np.ndarray, scale: np.ndarray, dtype: type, axis: int,
                initializers: list[onnx.TensorProto]) -> onnx.NodeProto:
    quantized = "int8" if dtype is np.int8 else "int32"
    initializers += [numpy_helper.from_array(values, f"{name}/{quantized}"),
                     numpy_helper.from_array(np.asarray(scale, dtype=np.float32), f"{name}/scale"),
                     numpy_helper.from_array(np.zeros(np.shape(scale), dtype=dtype), f"{name}/zero_point")]
    attrs = {"axis": axis} if np.ndim(scale) else {}
    return helper.make_node("DequantizeLinear", [f"{name}/{quantized}", f"{name}/scale", f"{name}/zero_point"],
                            [f"{name}/dequantized"], name=f"{name}/DequantizeLinear", **attrs)


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    copied = onnx.NodeProto()
    copied.CopyFrom(node)
    return copied
