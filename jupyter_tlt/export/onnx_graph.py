"""Keras 3 functional model -> ONNX graph in NCHW, built node by node with ``onnx.helper``.

Keras computes in NHWC; TensorRT and DeepStream expect NCHW. Every tensor of the ONNX graph is held
channels-first (weights are transposed once, layer axes remapped), so the only Transpose nodes are
those of Flatten layers, which must reproduce Keras' NHWC flattening order. A batch norm that is the
only consumer of a convolution is folded into the convolution's weights. Tensors are named
``<layer>/<op>`` after the TensorFlow op that ends the layer, the names TAO exports gave DeepStream:
``output_cov/Sigmoid``, ``output_bbox/BiasAdd``, ``predictions/Softmax``.

    import onnx
    from jupyter_tlt.export import compare_with_keras, keras_to_onnx, onnx_io_names

    proto = keras_to_onnx(model)              # input_1: [batch, 3, H, W], batch dimension dynamic
    onnx.save(proto, "model.onnx")
    onnx_io_names(model)                      # (['input_1'], ['output_cov/Sigmoid', 'output_bbox/BiasAdd'])
    compare_with_keras(model, proto, images)  # {'output_cov/Sigmoid': 1e-07, 'output_bbox/BiasAdd': 2e-07}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import DataError

MIN_OPSET = 13  # Softmax over axis 1 alone (not everything after it) starts at opset 13

# Keras activation -> (ONNX op, its attributes, TensorFlow op name for tensor names).
_ACTIVATIONS: dict[str, tuple[str, dict, str]] = {
    "relu": ("Relu", {}, "Relu"),
    "sigmoid": ("Sigmoid", {}, "Sigmoid"),
    "tanh": ("Tanh", {}, "Tanh"),
    "softmax": ("Softmax", {"axis": 1}, "Softmax"),  # Keras' last axis is the channels: ONNX axis 1
    "elu": ("Elu", {"alpha": 1.0}, "Elu"),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.2}, "LeakyRelu"),  # keras.activations.leaky_relu's default
    "selu": ("Selu", {"alpha": 1.67326324, "gamma": 1.05070098}, "Selu"),
    "softplus": ("Softplus", {}, "Softplus"),
    "softsign": ("Softsign", {}, "Softsign"),
    "exponential": ("Exp", {}, "Exp"),
    "hard_sigmoid": ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, "HardSigmoid"),
}
# relu6 (Clip), silu/swish (x * sigmoid(x)) and linear (no node) are emitted by _activate.
_ACTIVATION_OPS = {**{k: v[2] for k, v in _ACTIVATIONS.items()},
                   "relu6": "Relu6", "silu": "mul", "swish": "mul", "linear": "Identity"}
_LINEAR_OPS = {"Conv2D": "Conv2D", "DepthwiseConv2D": "depthwise", "Dense": "MatMul"}
_LAYER_OPS = {"BatchNormalization": "FusedBatchNormV3", "MaxPooling2D": "MaxPool", "AveragePooling2D": "AvgPool",
              "GlobalAveragePooling2D": "Mean", "GlobalMaxPooling2D": "Max", "Add": "add", "Subtract": "sub",
              "Multiply": "mul", "Average": "Mean", "Maximum": "Maximum", "Minimum": "Minimum",
              "Concatenate": "concat", "Flatten": "Reshape", "ZeroPadding2D": "Pad", "LeakyReLU": "LeakyRelu",
              "ELU": "Elu", "Softmax": "Softmax"}
_MERGE_OPS = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Average": "Mean", "Maximum": "Max",
              "Minimum": "Min"}
_IDENTITY_LAYERS = ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Identity")


@dataclass
class _Layer:
    """One Keras layer of the functional graph and the static NHWC shapes of its inputs."""

    name: str
    kind: str           # Keras class name
    config: dict
    obj: Any            # the keras.layers.Layer, for its weights
    inputs: list[str]   # names of the layers that feed it
    shapes: list[tuple]


class _Graph:
    """Nodes and initializers of the ONNX graph under construction; a node is named after its output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: Any, dtype: type = np.float32) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def keras_to_onnx(model: Any, *, opset: int = 17, batch_size: int | None = None) -> onnx.ModelProto:
    """The NCHW ONNX graph of functional ``model``; batch dimension ``batch`` (dynamic) unless ``batch_size``.

    Raises DataError naming the layer for shared layers, nested models and unsupported layers.
    """
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"opset must be in {MIN_OPSET}..{onnx.defs.onnx_opset_version()}, got {opset}")
    layers, input_layers, output_layers = _parse(model)
    by_name = {layer.name: layer for layer in layers}
    consumers = Counter(name for layer in layers for name in layer.inputs) + Counter(output_layers)
    folds = {bn.inputs[0]: bn for bn in layers if _foldable(bn, by_name, consumers)}  # conv name -> its BN
    folded = {bn.name for bn in folds.values()}
    batch: str | int = "batch" if batch_size is None else int(batch_size)

    g = _Graph()
    tensors: dict[str, str] = {}  # layer name -> ONNX tensor holding its output
    graph_inputs = []
    for layer in layers:
        if layer.config.get("data_format") == "channels_first":
            raise DataError(f"layer {layer.name!r} ({layer.kind}) uses data_format='channels_first'; "
                            "ONNX export supports channels_last models only")
        if layer.kind == "InputLayer":
            tensors[layer.name] = layer.name
            graph_inputs.append(_value_info(layer.name, layer.config["batch_shape"], batch))
        elif layer.name in folds:
            bn = folds[layer.name]
            tensors[bn.name] = _conv(g, layer, [tensors[layer.inputs[0]]], _tensor_name(bn), bn)
        elif layer.name not in folded:
            emit = _EMITTERS.get(layer.kind)
            if emit is None:
                raise DataError(f"layer {layer.name!r} ({layer.kind}) cannot be exported to ONNX; supported: "
                                f"{', '.join(sorted(_EMITTERS))}")
            tensors[layer.name] = emit(g, layer, [tensors[name] for name in layer.inputs], _tensor_name(layer))

    graph_outputs = []
    for name, keras_tensor in zip(output_layers, model.outputs):
        output = _tensor_name(by_name[name])
        if tensors[name] != output:  # layers without a node of their own (Dropout, linear Activation)
            g.node("Identity", [tensors[name]], output)
        graph_outputs.append(_value_info(output, keras_tensor.shape, batch))
    graph = helper.make_graph(g.nodes, model.name, graph_inputs, graph_outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="jupyter-tlt",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def onnx_io_names(model: Any) -> tuple[list[str], list[str]]:
    """(input names, output names) of ``keras_to_onnx(model)``: inputs keep their layer names, outputs
    are ``<layer>/<op>`` with the TensorFlow name of the layer's last op (``output_bbox/BiasAdd``)."""
    layers, input_layers, output_layers = _parse(model)
    by_name = {layer.name: layer for layer in layers}
    return input_layers, [_tensor_name(by_name[name]) for name in output_layers]


def compare_with_keras(model: Any, onnx_model: onnx.ModelProto, images: np.ndarray) -> dict[str, float]:
    """Max absolute difference per output between ONNX Runtime (CPU) and Keras on NHWC ``images``."""
    import onnxruntime
    from keras import ops

    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise DataError(f"images must be a batch of shape (N, H, W, C), got shape {images.shape}")
    session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: images.transpose(0, 3, 1, 2)}
    onnx_outputs = session.run(None, feed)
    from ..models.serialization import call_keras

    keras_outputs = call_keras(model, images)
    if not isinstance(keras_outputs, (list, tuple)):
        keras_outputs = [keras_outputs]
    diffs = {}
    for meta, got, want in zip(session.get_outputs(), onnx_outputs, keras_outputs):
        want = ops.convert_to_numpy(want)
        if want.ndim > 2:
            want = want.transpose(0, want.ndim - 1, *range(1, want.ndim - 1))
        if got.shape != want.shape:
            raise DataError(f"output {meta.name!r}: ONNX shape {got.shape} differs from Keras' {want.shape} "
                            "(transposed to NCHW)")
        diffs[meta.name] = float(np.max(np.abs(got - want)))
    return diffs


# --- the Keras graph -------------------------------------------------------------------------------

def _parse(model: Any) -> tuple[list[_Layer], list[str], list[str]]:
    """Layers in topological order, input layer names, output layer names."""
    config = model.get_config()
    if "input_layers" not in config:
        raise DataError(f"model {model.name!r} ({type(model).__name__}) is not a functional model; "
                        "only functional Keras models can be exported to ONNX")
    layers = []
    for entry in config["layers"]:
        name, kind = entry["name"], entry["class_name"]
        obj = model.get_layer(name)
        if hasattr(obj, "layers"):
            raise DataError(f"layer {name!r} ({kind}) is a nested model; build the model flat (every layer "
                            "at top level) to export it to ONNX")
        nodes = entry.get("inbound_nodes", [])
        if len(nodes) > 1:
            raise DataError(f"layer {name!r} ({kind}) is called {len(nodes)} times (shared weights); "
                            "ONNX export needs every layer called once")
        refs = [tensor["config"] for tensor in _keras_tensors(nodes)]
        layers.append(_Layer(name, kind, entry["config"], obj, [ref["keras_history"][0] for ref in refs],
                             [tuple(ref["shape"]) for ref in refs]))
    return layers, _layer_names(config["input_layers"]), _layer_names(config["output_layers"])


def _keras_tensors(value: Any) -> list[dict]:
    """The serialized KerasTensors in a layer's inbound-node config, in argument order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value]
        return [t for item in value.values() for t in _keras_tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _keras_tensors(item)]
    return []


def _layer_names(refs: list) -> list[str]:
    """Layer names of a config's ``input_layers`` / ``output_layers`` (one [name, node, index] or a list)."""
    if refs and isinstance(refs[0], str):
        refs = [refs]
    return [ref[0] for ref in refs]


def _tensor_name(layer: _Layer) -> str:
    return f"{layer.name}/{_final_op(layer)}"


def _final_op(layer: _Layer) -> str:
    """TensorFlow name of the op that ends ``layer``: Sigmoid, BiasAdd, Softmax, Relu, MaxPool..."""
    config = layer.config
    if layer.kind in _LINEAR_OPS:
        activation = _activation_name(layer)
        if activation != "linear":
            return _ACTIVATION_OPS[activation]
        return "BiasAdd" if config["use_bias"] else _LINEAR_OPS[layer.kind]
    if layer.kind == "Activation":
        return _ACTIVATION_OPS[_activation_name(layer)]
    if layer.kind == "ReLU":
        slope, max_value, threshold = config["negative_slope"], config["max_value"], config["threshold"]
        if not slope and not threshold and max_value == 6:
            return "Relu6"
        return "LeakyRelu" if slope and max_value is None and not threshold else "Relu"
    return _LAYER_OPS.get(layer.kind, "Identity")


def _activation_name(layer: _Layer) -> str:
    activation = layer.config["activation"]
    if not isinstance(activation, str) or activation not in _ACTIVATION_OPS:
        raise DataError(f"layer {layer.name!r} ({layer.kind}): activation {activation!r} cannot be exported to "
                        f"ONNX; supported: {', '.join(sorted(_ACTIVATION_OPS))}")
    return activation


def _foldable(bn: _Layer, by_name: dict[str, _Layer], consumers: Counter) -> bool:
    """Whether ``bn`` is a channel batch norm whose input is a linear convolution that feeds nothing else."""
    if bn.kind != "BatchNormalization" or len(bn.inputs) != 1 or not _channel_axis(bn):
        return False
    conv = by_name[bn.inputs[0]]
    return (conv.kind in ("Conv2D", "DepthwiseConv2D") and conv.config["activation"] == "linear"
            and consumers[conv.name] == 1)


def _channel_axis(bn: _Layer) -> bool:
    axis = bn.config["axis"]
    return isinstance(axis, int) and _onnx_axis(axis, len(bn.shapes[0])) == 1


def _onnx_axis(axis: int, rank: int) -> int:
    """ONNX axis of Keras axis ``axis`` of a rank-``rank`` tensor: Keras is channels-last, ONNX channels-first."""
    axis %= rank
    if axis == 0 or rank < 3:
        return axis
    return 1 if axis == rank - 1 else axis + 1


def _value_info(name: str, shape: Any, batch: str | int) -> onnx.ValueInfoProto:
    dims = list(shape)[1:]
    if None in dims:
        raise DataError(f"tensor {name!r} has shape {tuple(shape)}; ONNX export needs a fixed input size "
                        "(only the batch dimension may be unknown)")
    if len(dims) >= 2:
        dims = [dims[-1], *dims[:-1]]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, *dims])


def _weight(variable: Any) -> np.ndarray:
    return np.asarray(variable, dtype=np.float64)  # float64 until folded; initializers are float32


def _pads(layer: _Layer, kernel: list[int], strides: list[int], dilations: list[int] = (1, 1)) -> list[int]:
    """ONNX pads (top, left, bottom, right): TF "same" puts the odd pixel at the bottom/right."""
    if layer.config["padding"] == "valid":
        return [0, 0, 0, 0]
    begin, end = [], []
    for size, k, s, d in zip(layer.shapes[0][1:3], kernel, strides, dilations):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


# --- one emitter per layer kind: (graph, layer, input tensors, output name) -> output tensor ---------

def _activate(g: _Graph, activation: str, x: str, out: str) -> str:
    if activation == "linear":
        return x
    if activation == "relu6":
        return g.node("Clip", [x, g.const(f"{out}/min", 0.0), g.const(f"{out}/max", 6.0)], out)
    if activation in ("silu", "swish"):
        return g.node("Mul", [x, g.node("Sigmoid", [x], f"{out}/Sigmoid")], out)
    op, attrs, _ = _ACTIVATIONS[activation]
    return g.node(op, [x], out, **attrs)


def _linear(g: _Graph, layer: _Layer, op: str, inputs: list[str], out: str, **attrs: Any) -> str:
    """Conv or Gemm ``op`` on ``inputs`` (x, weight[, bias]), then the layer's inline activation."""
    activation = _activation_name(layer)
    suffix = "BiasAdd" if len(inputs) == 3 else _LINEAR_OPS[layer.kind]
    first = out if activation == "linear" else f"{layer.name}/{suffix}"
    g.node(op, inputs, first, **attrs)
    return _activate(g, activation, first, out)


def _bn_statistics(bn: _Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(gamma, beta, moving mean, moving variance) of a batch norm, ones/zeros where it has no scale/center."""
    obj = bn.obj
    mean, variance = _weight(obj.moving_mean), _weight(obj.moving_variance)
    gamma = _weight(obj.gamma) if bn.config["scale"] else np.ones_like(mean)
    beta = _weight(obj.beta) if bn.config["center"] else np.zeros_like(mean)
    return gamma, beta, mean, variance


def _bn_affine(bn: _Layer) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) with bn(x) = x * scale + shift per channel, from the moving statistics."""
    gamma, beta, mean, variance = _bn_statistics(bn)
    scale = gamma / np.sqrt(variance + bn.config["epsilon"])
    return scale, beta - mean * scale


def _conv(g: _Graph, layer: _Layer, xs: list[str], out: str, bn: _Layer | None = None) -> str:
    config, name = layer.config, layer.name
    kernel = _weight(layer.obj.kernel)
    if layer.kind == "DepthwiseConv2D":
        height, width, channels, multiplier = kernel.shape
        # Keras output channel c * multiplier + m reads input channel c: ONNX groups of `multiplier` filters
        weight = kernel.reshape(height, width, channels * multiplier).transpose(2, 0, 1)[:, None]
        group = channels
    else:
        weight = kernel.transpose(3, 2, 0, 1)  # (h, w, in, out) -> (out, in, h, w)
        group = config.get("groups", 1)
    bias = _weight(layer.obj.bias) if config["use_bias"] else None
    if bn is not None:
        scale, shift = _bn_affine(bn)
        weight = weight * scale[:, None, None, None]
        bias = shift if bias is None else bias * scale + shift
    inputs = [xs[0], g.const(f"{name}/kernel", weight)]
    if bias is not None:
        inputs.append(g.const(f"{name}/bias", bias))
    kernel_shape, strides = list(weight.shape[2:]), list(config["strides"])
    dilations = list(config["dilation_rate"])
    return _linear(g, layer, "Conv", inputs, out, kernel_shape=kernel_shape, strides=strides,
                   dilations=dilations, group=group, pads=_pads(layer, kernel_shape, strides, dilations))


def _dense(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    rank = len(layer.shapes[0])
    if rank != 2:
        raise DataError(f"layer {layer.name!r} (Dense) gets a {rank}-D input; only 2-D inputs (after Flatten or "
                        "global pooling) can be exported to ONNX")
    inputs = [xs[0], g.const(f"{layer.name}/kernel", _weight(layer.obj.kernel))]
    if layer.config["use_bias"]:
        inputs.append(g.const(f"{layer.name}/bias", _weight(layer.obj.bias)))
    return _linear(g, layer, "Gemm", inputs, out)


def _batch_norm(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    if not _channel_axis(layer):
        raise DataError(f"layer {layer.name!r} (BatchNormalization) normalises axis {layer.config['axis']}; "
                        "ONNX export supports the channel axis (-1) only")
    names = ("gamma", "beta", "moving_mean", "moving_variance")
    inputs = [xs[0], *(g.const(f"{layer.name}/{n}", v) for n, v in zip(names, _bn_statistics(layer)))]
    return g.node("BatchNormalization", inputs, out, epsilon=float(layer.config["epsilon"]))


def _activation_layer(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    return _activate(g, _activation_name(layer), xs[0], out)


def _relu(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    """Keras ReLU: (x if x > threshold else 0), clipped to max_value, minus slope * relu(threshold - x)."""
    config, name, x = layer.config, layer.name, xs[0]
    slope, threshold, max_value = float(config["negative_slope"]), float(config["threshold"]), config["max_value"]
    if slope and max_value is None and not threshold:
        return g.node("LeakyRelu", [x], out, alpha=slope)
    positive_out = f"{name}/positive" if slope else out
    if threshold:
        thresholded = positive_out if max_value is None else f"{name}/ThresholdedRelu"
        positive = g.node("ThresholdedRelu", [x], thresholded, alpha=threshold)
    elif max_value is None:
        positive = g.node("Relu", [x], positive_out)
    else:
        positive = x  # the Clip from 0 below is the relu
    if max_value is not None:
        positive = g.node("Clip", [positive, g.const(f"{name}/min", 0.0), g.const(f"{name}/max", max_value)],
                          positive_out)
    if not slope:
        return positive
    below = g.node("Relu", [g.node("Sub", [g.const(f"{name}/threshold", threshold), x], f"{name}/sub")],
                   f"{name}/below")
    scaled = g.node("Mul", [below, g.const(f"{name}/slope", slope)], f"{name}/scaled")
    return g.node("Sub", [positive, scaled], out)


def _leaky_relu(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    slope = layer.config.get("negative_slope", layer.config.get("alpha", 0.3))
    return g.node("LeakyRelu", xs, out, alpha=float(slope))


def _elu(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    return g.node("Elu", xs, out, alpha=float(layer.config.get("alpha", 1.0)))


def _softmax(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    axis = layer.config["axis"]
    if not isinstance(axis, int):
        raise DataError(f"layer {layer.name!r} (Softmax) over axes {axis}; ONNX export supports one axis")
    return g.node("Softmax", xs, out, axis=_onnx_axis(axis, len(layer.shapes[0])))


def _pool(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    kernel = list(layer.config["pool_size"])
    strides = list(layer.config["strides"] or kernel)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": _pads(layer, kernel, strides)}
    if layer.kind == "MaxPooling2D":
        return g.node("MaxPool", xs, out, **attrs)  # padded cells never win the max, as in TF
    return g.node("AveragePool", xs, out, count_include_pad=0, **attrs)  # TF averages real pixels only


def _global_pool(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    op = "GlobalAveragePool" if layer.kind == "GlobalAveragePooling2D" else "GlobalMaxPool"
    if layer.config.get("keepdims"):
        return g.node(op, xs, out)
    return g.node("Flatten", [g.node(op, xs, f"{layer.name}/{op}")], out, axis=1)


def _merge(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    if len({len(shape) for shape in layer.shapes}) > 1:
        raise DataError(f"layer {layer.name!r} ({layer.kind}) merges tensors of different ranks; "
                        "ONNX export needs equal ranks")
    op = _MERGE_OPS[layer.kind]
    if op in ("Mean", "Max", "Min"):
        return g.node(op, xs, out)
    result = xs[0]
    for i, x in enumerate(xs[1:], start=2):  # Add, Sub and Mul take two inputs: chain them
        result = g.node(op, [result, x], out if i == len(xs) else f"{out}_{i}")
    return result


def _concat(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    return g.node("Concat", xs, out, axis=_onnx_axis(layer.config["axis"], len(layer.shapes[0])))


def _flatten(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    x, rank = xs[0], len(layer.shapes[0])
    if rank > 2:  # Keras flattens in NHWC order: back to channels-last first
        x = g.node("Transpose", [x], f"{layer.name}/transpose", perm=[0, *range(2, rank), 1])
    return g.node("Flatten", [x], out, axis=1)


def _zero_padding(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    (top, bottom), (left, right) = layer.config["padding"]
    pads = g.const(f"{layer.name}/pads", [0, 0, top, left, 0, 0, bottom, right], np.int64)
    return g.node("Pad", [xs[0], pads], out)


def _identity(g: _Graph, layer: _Layer, xs: list[str], out: str) -> str:
    return xs[0]  # inference-time no-op: no node (an output gets an Identity in keras_to_onnx)


_EMITTERS: dict[str, Callable[[_Graph, _Layer, list[str], str], str]] = {
    "Conv2D": _conv, "DepthwiseConv2D": _conv, "Dense": _dense, "BatchNormalization": _batch_norm,
    "Activation": _activation_layer, "ReLU": _relu, "LeakyReLU": _leaky_relu, "ELU": _elu, "Softmax": _softmax,
    "MaxPooling2D": _pool, "AveragePooling2D": _pool,
    "GlobalAveragePooling2D": _global_pool, "GlobalMaxPooling2D": _global_pool,
    **{kind: _merge for kind in _MERGE_OPS}, "Concatenate": _concat, "Flatten": _flatten,
    "ZeroPadding2D": _zero_padding, **{kind: _identity for kind in _IDENTITY_LAYERS},
}
