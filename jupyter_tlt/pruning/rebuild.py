"""Build the smaller model: same layers and names, fewer filters, weights sliced from the original.

Convolution and dense kernels lose the pruned output filters and the input channels their
producers lost; batch-norm parameters, biases, PReLU slopes and depthwise kernels are sliced with
the channels they belong to; concatenations take each input's kept channels at its offset.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..models import keras_module
from .graph import FILTER_LAYERS, ChannelGraph, Segments


def channel_index(segments: Segments, keep: Mapping[int, np.ndarray]) -> np.ndarray:
    """Indices, into a tensor's channel axis, of the channels that stay (all of a group not in ``keep``)."""
    parts, offset = [], 0
    for group, size in segments:
        parts.append(np.asarray(keep.get(group, np.arange(size))) + offset)
        offset += size
    return np.concatenate(parts).astype(np.int64) if parts else np.arange(0)


def with_widths(model: Any, widths: Mapping[str, int]) -> Any:
    """A new, untrained copy of ``model`` whose Conv2D/Dense layers named in ``widths`` have that many
    filters (units). Every other setting (names, regularizers, trainable flags) is kept."""
    keras = keras_module()

    def clone(layer):
        config = layer.get_config()
        key = FILTER_LAYERS.get(layer.__class__.__name__)
        if key and layer.name in widths:
            config[key] = int(widths[layer.name])
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def rebuild(model: Any, graph: ChannelGraph, keep: Mapping[int, np.ndarray]) -> Any:
    """The pruned ``keras.Model``: ``keep`` maps group id -> sorted kept channel indices."""
    widths = {name: len(channel_index(graph.out_segments[name], keep)) for name in graph.filter_layers()}
    pruned = with_widths(model, widths)
    originals = {layer.name: layer for layer in model.layers}
    for layer in pruned.layers:
        weights = originals[layer.name].get_weights()
        if not weights:
            continue
        out_idx = channel_index(graph.out_segments[layer.name], keep)
        in_idx = channel_index(graph.in_segments[layer.name], keep)
        layer.set_weights(slice_weights(graph.layers[layer.name]["class_name"], weights, in_idx, out_idx))
    return pruned


def slice_weights(kind: str, weights: list[np.ndarray], in_idx: np.ndarray, out_idx: np.ndarray) -> list:
    """A layer's weights restricted to its kept input and output channels."""
    if kind in FILTER_LAYERS:  # kernel (..., in, out) [, bias (out,)]
        kernel = np.take(np.take(weights[0], in_idx, axis=-2), out_idx, axis=-1)
        return [kernel] + [np.take(w, out_idx, axis=-1) for w in weights[1:]]
    if kind == "DepthwiseConv2D":  # kernel (kh, kw, channels, 1) [, bias (channels,)]
        return [np.take(weights[0], out_idx, axis=-2)] + [np.take(w, out_idx, axis=-1) for w in weights[1:]]
    return [np.take(w, out_idx, axis=-1) for w in weights]  # per-channel: BN, PReLU
