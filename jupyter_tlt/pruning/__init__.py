"""Structured filter pruning: channel groups (``graph``), TAO's scoring rule (``criteria``), the smaller
model (``rebuild``) and the ``Pruner`` that ties them together. The workflow step is ``jupyter_tlt.prune``.

The options and their defaults are in ``options`` (cheap to import: the CLI reads it); the other
modules import numpy, so they load on first use of their names here.
"""

from __future__ import annotations

from .options import CRITERIA, DEFAULTS, NORMALIZERS, SWEEP_THRESHOLDS, PruneOptions

_LAZY = {"Pruner": "pruner", "ChannelGraph": "graph", "with_widths": "rebuild"}
__all__ = ["Pruner", "ChannelGraph", "with_widths", "CRITERIA", "NORMALIZERS", "PruneOptions", "DEFAULTS",
           "SWEEP_THRESHOLDS"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
