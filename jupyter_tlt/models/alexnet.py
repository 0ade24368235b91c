"""AlexNet (single tower, batch norm instead of local response normalisation when enabled).

``conv1`` 11x11/4 (96), ``pool1`` 3x3/2, ``conv2`` 5x5 (256), ``pool2`` 3x3/2, ``conv3``-``conv5`` 3x3
(384, 384, 256): stride 16 for detection; classification adds ``pool5`` (stride 32). The 4096-wide
fully connected layers are replaced by the heads' global pooling. Freeze blocks: 1-5 (conv1..conv5).
"""

from __future__ import annotations

from .blocks import Builder

FREEZE_BLOCKS = (1, 2, 3, 4, 5)


def features(b: Builder, x, n_layers: int | None = None, *, for_detection: bool, all_projections: bool = True):
    """The AlexNet feature map on input tensor ``x`` (``n_layers`` and ``all_projections`` ignored)."""
    b.block = 1
    x = b.conv(x, 96, 11, "conv1", strides=4)
    x = b.max_pool(x, 3, 2, "pool1")
    b.block = 2
    x = b.conv(x, 256, 5, "conv2")
    x = b.max_pool(x, 3, 2, "pool2")
    for block, filters in ((3, 384), (4, 384), (5, 256)):
        b.block = block
        x = b.conv(x, filters, 3, f"conv{block}")
    if not for_detection:
        x = b.max_pool(x, 3, 2, "pool5")
    return x
