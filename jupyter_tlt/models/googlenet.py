"""GoogLeNet (Inception v1) with optional batch norm after every convolution.

``conv1`` 7x7/2, ``pool1``, ``conv2_reduce`` 1x1, ``conv2`` 3x3, ``pool2`` (stride 8), inception 3a-3b,
``pool3`` (stride 16), inception 4a-4e, then for classification ``pool4`` (stride 32); inception 5a-5b
close both variants (detection stays at stride 16). Each inception module concatenates four
branches (1x1; 1x1 reduce + 3x3; 1x1 reduce + 5x5; 3x3 max pool + 1x1 projection) into
``inception_<id>_output``. Freeze blocks: 0 = conv1, 1 = conv2, 2/3/4 = inception stages 3/4/5.
"""

from __future__ import annotations

from .blocks import Builder

# id: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) filters, as in Szegedy et al. 2014.
INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
FREEZE_BLOCKS = (0, 1, 2, 3, 4)


def features(b: Builder, x, n_layers: int | None = None, *, for_detection: bool, all_projections: bool = True):
    """The GoogLeNet feature map on input tensor ``x`` (``n_layers`` and ``all_projections`` ignored)."""
    b.block = 0
    x = b.conv(x, 64, 7, "conv1", strides=2)
    x = b.max_pool(x, 3, 2, "pool1")
    b.block = 1
    x = b.conv(x, 64, 1, "conv2_reduce")
    x = b.conv(x, 192, 3, "conv2")
    x = b.max_pool(x, 3, 2, "pool2")
    for module_id, filters in INCEPTIONS.items():
        stage = int(module_id[0])
        b.block = stage - 1
        if module_id == "4a":
            x = b.max_pool(x, 3, 2, "pool3")
        if module_id == "5a" and not for_detection:
            x = b.max_pool(x, 3, 2, "pool4")
        x = _inception(b, x, f"inception_{module_id}", *filters)
    return x


def _inception(b: Builder, x, prefix: str, f1: int, f3r: int, f3: int, f5r: int, f5: int, fp: int):
    branch1 = b.conv(x, f1, 1, f"{prefix}_1x1")
    branch3 = b.conv(b.conv(x, f3r, 1, f"{prefix}_3x3_reduce"), f3, 3, f"{prefix}_3x3")
    branch5 = b.conv(b.conv(x, f5r, 1, f"{prefix}_5x5_reduce"), f5, 5, f"{prefix}_5x5")
    pooled = b.max_pool(x, 3, 1, f"{prefix}_pool")
    branch_pool = b.conv(pooled, fp, 1, f"{prefix}_pool_proj")
    return b.concat([branch1, branch3, branch5, branch_pool], f"{prefix}_output")
