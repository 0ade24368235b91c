"""The pruner: filter scores computed once, then any threshold's kept filters, cost or smaller model.

    pruner = Pruner(model, normalizer="max", criterion="union", excluded=["conv1"])
    pruner.sweep([0.0, 0.1, 0.2, 0.4])         # parameters and FLOPs per threshold, no model built
    small = pruner.prune(threshold=0.2, min_filters=16, granularity=8)

The sweep is analytic: each layer's parameters and FLOPs are a product of its kept input and output
channel counts, so a point costs microseconds per layer and the notebook can redraw it on every
slider move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import DataError
from ..models.flops import layer_flops
from . import criteria
from .graph import FILTER_LAYERS, ChannelGraph, Segments
from .options import DEFAULTS
from .rebuild import rebuild


@dataclass(frozen=True)
class Term:
    """``coef x channels(in) x channels(out)`` where a missing side counts as 1."""

    coef: float
    ins: Segments | None
    outs: Segments | None


class Pruner:
    """Scores of every prunable channel group of ``model`` (see ``graph.py`` and ``criteria.py``)."""

    def __init__(self, model: Any, *, normalizer: str = DEFAULTS.normalizer,
                 criterion: str = DEFAULTS.equalization_criterion, excluded: Iterable[str] = ()):
        if normalizer not in criteria.NORMALIZERS:
            raise DataError(f"-n/--normalizer: unknown normalizer {normalizer!r}; use one of "
                            f"{', '.join(criteria.NORMALIZERS)}")
        if criterion not in criteria.CRITERIA:
            raise DataError(f"-eq/--equalization_criterion: unknown criterion {criterion!r}; use one of "
                            f"{', '.join(criteria.CRITERIA)}")
        self.model = model
        self.normalizer = normalizer
        self.criterion = criterion
        self.graph = ChannelGraph.from_model(model, excluded)
        layers = {layer.name: layer for layer in model.layers}
        self.scores: dict[int, np.ndarray] = {}
        for gid, group in self.graph.prunable_groups().items():
            member = [criteria.normalize(criteria.filter_norms(layers[m].get_weights()[0]), normalizer)
                      for m in group.members]
            self.scores[gid] = criteria.combine(member, criterion)
        self._params, self._flops = self._cost_terms(layers)

    # -- choosing filters ------------------------------------------------------------------------
    def keep(self, threshold: float, min_filters: int = 16, granularity: int = 8) -> dict[int, np.ndarray]:
        """Kept channel indices of every prunable group."""
        _check_options(threshold, min_filters, granularity, self.normalizer)
        return {g: criteria.kept_indices(s, threshold, min_filters, granularity) for g, s in self.scores.items()}

    def counts(self, threshold: float, min_filters: int = 16, granularity: int = 8) -> dict[int, int]:
        _check_options(threshold, min_filters, granularity, self.normalizer)
        return {g: criteria.kept_count(s, threshold, min_filters, granularity) for g, s in self.scores.items()}

    def prune(self, threshold: float, min_filters: int = 16, granularity: int = 8) -> Any:
        """The smaller ``keras.Model`` (same layer names, weights copied)."""
        return rebuild(self.model, self.graph, self.keep(threshold, min_filters, granularity))

    def layer_table(self, keep: dict[int, np.ndarray]) -> list[dict]:
        """Per Conv2D/Dense layer: filters kept and total, its group and why it was left whole."""
        rows = []
        for name in self.graph.filter_layers():
            (gid, total), = self.graph.out_segments[name]
            group = self.graph.groups[gid]
            kept = len(keep[gid]) if gid in keep else total
            rows.append({"layer": name, "kept": kept, "total": total, "pruned": total - kept,
                         "group": ",".join(group.members) if len(group.members) > 1 else "",
                         "not_pruned_because": group.fixed_by})
        return rows

    # -- cost ------------------------------------------------------------------------------------
    def cost(self, counts: dict[int, int]) -> tuple[int, int]:
        """(parameters, FLOPs) of the model pruned to ``counts`` kept channels per group."""
        def channels(segments: Segments | None) -> int:
            return 1 if segments is None else sum(counts.get(g, n) for g, n in segments)

        total = lambda terms: sum(t.coef * channels(t.ins) * channels(t.outs) for t in terms)  # noqa: E731
        return int(round(total(self._params))), int(round(total(self._flops)))

    def sweep(self, thresholds: Sequence[float], min_filters: int = 16, granularity: int = 8):
        """pandas DataFrame, one row per threshold: parameters, FLOPs, size and their kept fractions."""
        import pandas as pd

        base_params, base_flops = self.cost({})
        rows = []
        for t in thresholds:
            params, flops = self.cost(self.counts(float(t), min_filters, granularity))
            rows.append({"threshold": float(t), "params": params, "flops": flops, "size_mb": params * 4 / 2**20,
                         "params_kept": params / base_params, "flops_kept": flops / base_flops if base_flops else 1.0})
        return pd.DataFrame(rows)

    def _cost_terms(self, layers: dict) -> tuple[list[Term], list[Term]]:
        flops = layer_flops(self.model)
        params: list[Term] = []
        flop_terms: list[Term] = []
        for name, info in self.graph.layers.items():
            kind = info["class_name"]
            ins, outs = self.graph.in_segments[name], self.graph.out_segments[name]
            n_in, n_out = _width(ins), _width(outs)
            for w in layers[name].get_weights():
                if kind in FILTER_LAYERS and w.ndim >= 2:   # kernel
                    params.append(Term(w.size / (n_in * n_out), ins, outs))
                else:                                        # bias, BN, PReLU, depthwise kernel
                    params.append(Term(w.size / n_out, None, outs))
            if name in flops and kind in FILTER_LAYERS:
                flop_terms.append(Term(flops[name] / (n_in * n_out), ins, outs))
            elif name in flops:
                flop_terms.append(Term(flops[name] / n_out, None, outs))
        return params, flop_terms


def _width(segments: Segments) -> int:
    return max(1, sum(n for _, n in segments))


def _check_options(threshold: float, min_filters: int, granularity: int, normalizer: str) -> None:
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold < 0:
        raise DataError(f"-pth/--pruning_threshold: {threshold!r} is not a threshold; use a number >= 0 "
                        "(with the max normalizer, between 0 and 1; TAO's default is 0.1)")
    if normalizer == "max" and threshold > 1:
        raise DataError(f"-pth/--pruning_threshold: {threshold} is above 1, but with the max normalizer every "
                        "score is in [0, 1]; use a threshold between 0 and 1 (e.g. 0.1)")
    if int(min_filters) < 1:
        raise DataError(f"-nf/--min_num_filters: {min_filters} must be at least 1")
    if int(granularity) < 1:
        raise DataError(f"-pg/--pruning_granularity: {granularity} must be at least 1")
