"""VGG 16 and 19 (optionally with batch norm after every convolution).

Five blocks of 3x3 convolutions (64, 128, 256, 512, 512 filters), each closed by a 2x2 max pool
``block_<n>_pool``; for detection the last pool is left out (features at stride 16), classification
keeps it (stride 32). The fully connected layers of the original are replaced by the heads' global
pooling. Freeze blocks: 1-5.
"""

from __future__ import annotations

from .blocks import Builder

BLOCK_CONVS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
BLOCK_FILTERS = (64, 128, 256, 512, 512)
FREEZE_BLOCKS = (1, 2, 3, 4, 5)


def features(b: Builder, x, n_layers: int, *, for_detection: bool, all_projections: bool = True):
    """The feature map of VGG-``n_layers`` on input tensor ``x`` (``all_projections`` is ignored)."""
    for block, (convs, filters) in enumerate(zip(BLOCK_CONVS[n_layers], BLOCK_FILTERS), start=1):
        b.block = block
        for k in range(1, convs + 1):
            x = b.conv(x, filters, 3, f"block_{block}_conv_{k}")
        if block < 5 or not for_detection:
            x = b.max_pool(x, 2, 2, f"block_{block}_pool")
    return x
