"""Layer-naming conventions of the model zoo, in one place: pruning and weight transfer rely on them.

Every layer gets an explicit name that depends only on the architecture, never on how many models
the process has built (no Keras auto-names such as ``conv2d_17``). The rules:

- Input: ``input_1``. Heads: ``output_cov``, ``output_bbox`` (DetectNet_v2), ``predictions`` (classifier).
- A convolution is followed by its batch norm (when ``use_batch_norm``) and then its activation:

  ====================================  ===========================  ===========================
  convolution                           batch norm                   activation
  ====================================  ===========================  ===========================
  ``block_<id>_conv_<k>``               ``block_<id>_bn_<k>``        ``block_<id>_act_<k>``
  ``block_<id>_conv_shortcut``          ``block_<id>_bn_shortcut``   (none: feeds the add)
  ``conv<rest>`` (stems, AlexNet)       ``bn_conv<rest>``            ``conv<rest>_act``
  anything else (inception branches)    ``<name>_bn``                ``<name>_act``
  ====================================  ===========================  ===========================

  ``bn_name`` and ``act_name`` implement the table; ``conv_bn_pairs`` checks it against a model's graph.
- ResNet residual blocks: ``block_<stage><letter>`` (``block_1a``, ``block_1b``, ``block_2a``...), their
  element-wise sum ``block_1a_add`` and the activation after it ``block_1a_act``.
- VGG blocks: ``block_<n>`` (``block_1_conv_1``, ``block_1_pool``).
- Inception modules: ``inception_3a_1x1``, ``inception_3a_3x3_reduce``, ``inception_3a_3x3``,
  ``inception_3a_5x5_reduce``, ``inception_3a_5x5``, ``inception_3a_pool`` (max pool),
  ``inception_3a_pool_proj`` and the concatenation ``inception_3a_output``.
- Pooling: ``pool<n>`` (AlexNet, GoogLeNet), ``block_<n>_pool`` (VGG); heads: ``avg_pool``, ``dropout``.
"""

from __future__ import annotations

import re
from typing import Any

INPUT_NAME = "input_1"
COV_NAME = "output_cov"
BBOX_NAME = "output_bbox"
PREDICTIONS_NAME = "predictions"
# Output layers: excluded from pruning; copied per class by transfer_weights. Value: channels per class.
HEAD_LAYERS = {COV_NAME: 1, BBOX_NAME: 4, PREDICTIONS_NAME: 1}

_BLOCK_CONV = re.compile(r"^(block_\w+?)_conv_(\w+)$")


def bn_name(conv: str) -> str:
    """Name of the batch norm that follows convolution ``conv``."""
    match = _BLOCK_CONV.match(conv)
    if match:
        return f"{match.group(1)}_bn_{match.group(2)}"
    if conv.startswith("conv"):
        return "bn_" + conv
    return conv + "_bn"


def act_name(conv: str) -> str:
    """Name of the activation that follows convolution ``conv`` (after its batch norm, if any)."""
    match = _BLOCK_CONV.match(conv)
    if match:
        return f"{match.group(1)}_act_{match.group(2)}"
    return conv + "_act"


def flat_layers(model: Any) -> list:
    """All layers of ``model``, nested models expanded (our models are flat; loaded ones may not be)."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.__class__.__name__ in ("Functional", "Sequential", "Model"):
            out.extend(flat_layers(layer))
        else:
            out.append(layer)
    return out


def conv_bn_pairs(model: Any) -> dict[str, str]:
    """``{conv name: bn name}`` for each convolution whose output feeds, alone, the BN named by ``bn_name``.

    The pruner uses it to slice a BN's gamma/beta/mean/variance together with its conv's filters.
    """
    layers = {layer.name: layer for layer in flat_layers(model)}
    pairs = {}
    for name, layer in layers.items():
        if layer.__class__.__name__ not in ("Conv2D", "DepthwiseConv2D", "Conv2DTranspose"):
            continue
        bn = layers.get(bn_name(name))
        if bn is not None and bn.__class__.__name__ == "BatchNormalization" and bn.input is layer.output:
            pairs[name] = bn.name
    return pairs
