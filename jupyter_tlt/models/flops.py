"""Size and cost of a model: parameters and analytic FLOPs of one forward pass.

FLOPs count multiply-adds of convolution and dense layers times 2, for one image (batch 1):
Conv (any rank, grouped, depthwise): 2 x output positions x kernel elements (kh x kw x Cin/groups x Cout);
transposed conv: 2 x input positions x kernel elements; Dense: 2 x Cin x Cout per input position.
Biases, batch norm, activations, pooling and element-wise layers are left out: they are a few
percent of the total and vanish once batch norm is folded for inference (the usual convention).
"""

from __future__ import annotations

import math
from typing import Any

from .naming import flat_layers


def _spatial(shape) -> int:
    dims = list(shape[1:-1])
    if any(d is None for d in dims):
        raise ValueError("FLOPs need a fixed input size; build the model with a known height and width")
    return math.prod(dims)


def layer_flops(model: Any) -> dict[str, int]:
    """FLOPs of one forward pass per layer name, for the conv and dense layers (others are 0, left out)."""
    out: dict[str, int] = {}
    for layer in flat_layers(model):
        kind = layer.__class__.__name__
        if kind in ("SeparableConv1D", "SeparableConv2D"):
            positions = _spatial(layer.output.shape)
            depthwise = math.prod(layer.depthwise_kernel.shape)
            out[layer.name] = 2 * (positions * depthwise + positions * math.prod(layer.pointwise_kernel.shape))
        elif kind.endswith("Transpose") and hasattr(layer, "kernel"):
            out[layer.name] = 2 * _spatial(layer.input.shape) * math.prod(layer.kernel.shape)
        elif kind.startswith(("Conv", "DepthwiseConv")) and hasattr(layer, "kernel"):
            out[layer.name] = 2 * _spatial(layer.output.shape) * math.prod(layer.kernel.shape)
        elif kind == "Dense":
            positions = math.prod(d for d in layer.input.shape[1:-1]) if len(layer.input.shape) > 2 else 1
            out[layer.name] = 2 * positions * math.prod(layer.kernel.shape)
    return out


def count_flops(model: Any) -> int:
    """Total FLOPs (multiply-adds x 2) of one forward pass of one image; see the module docstring."""
    return sum(layer_flops(model).values())


def model_summary(model: Any) -> dict:
    """Parameters, trainable parameters, FLOPs, layer count and sizes of ``model``, as plain values.

    ``size_mb`` is the float32 weight size (parameters x 4 bytes, in MiB), the figure pruning shrinks.
    """
    params = int(model.count_params())
    trainable = int(sum(math.prod(w.shape) for w in model.trainable_weights))
    outputs = model.outputs
    return {
        "name": model.name,
        "params": params,
        "trainable_params": trainable,
        "non_trainable_params": params - trainable,
        "flops": count_flops(model),
        "layers": len(flat_layers(model)),
        "size_mb": params * 4 / 2**20,
        "input_shape": tuple(model.inputs[0].shape[1:]),
        "output_shapes": {name: tuple(t.shape[1:])
                          for name, t in zip(model.output_names, outputs)},
    }
