"""ResNet 10/18/34 (basic blocks) and 50 (bottleneck blocks), TAO DetectNet_v2 style.

Stem ``conv1`` 7x7/2 (no max pool: ``block_1a`` strides by 2 instead), then four stages of 64, 128,
256, 512 filters (x4 outputs for bottlenecks). Stage 4 keeps stride 1 for detection (features at
stride 16) and strides by 2 for classification (stride 32); the weights have the same names and
shapes in both, so a classifier's backbone seeds a detector. Freeze blocks: 0 = stem, 1-4 = stages.
"""

from __future__ import annotations

from .blocks import Builder

STAGE_BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}
STAGE_FILTERS = (64, 128, 256, 512)
FREEZE_BLOCKS = (0, 1, 2, 3, 4)


def features(b: Builder, x, n_layers: int, *, for_detection: bool, all_projections: bool = True):
    """The feature map of ResNet-``n_layers`` on input tensor ``x``."""
    bottleneck = n_layers >= 50
    b.block = 0
    x = b.conv(x, 64, 7, "conv1", strides=2)
    channels = 64
    for stage, (repeats, filters) in enumerate(zip(STAGE_BLOCKS[n_layers], STAGE_FILTERS), start=1):
        b.block = stage
        stage_stride = 1 if (stage == 4 and for_detection) else 2
        for i in range(repeats):
            prefix = f"block_{stage}{chr(ord('a') + i)}"
            stride = stage_stride if i == 0 else 1
            out_channels = filters * 4 if bottleneck else filters
            project = all_projections or stride != 1 or channels != out_channels
            unit = _bottleneck if bottleneck else _basic
            x = unit(b, x, filters, stride, prefix, project)
            channels = out_channels
    return x


def _basic(b: Builder, x, filters: int, stride: int, prefix: str, project: bool):
    y = b.conv(x, filters, 3, f"{prefix}_conv_1", strides=stride)
    y = b.conv(y, filters, 3, f"{prefix}_conv_2", activate=False)
    shortcut = b.conv(x, filters, 1, f"{prefix}_conv_shortcut", strides=stride, activate=False) if project else x
    return b.activation(b.add([y, shortcut], f"{prefix}_add"), f"{prefix}_act")


def _bottleneck(b: Builder, x, filters: int, stride: int, prefix: str, project: bool):
    y = b.conv(x, filters, 1, f"{prefix}_conv_1")
    y = b.conv(y, filters, 3, f"{prefix}_conv_2", strides=stride)  # stride on the 3x3 ("ResNet v1.5")
    y = b.conv(y, filters * 4, 1, f"{prefix}_conv_3", activate=False)
    shortcut = (b.conv(x, filters * 4, 1, f"{prefix}_conv_shortcut", strides=stride, activate=False)
                if project else x)
    return b.activation(b.add([y, shortcut], f"{prefix}_add"), f"{prefix}_act")
