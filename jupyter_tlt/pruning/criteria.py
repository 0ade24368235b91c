"""TAO's "min_weight" pruning rule: filter scores, normalization, equalization and how many filters stay.

    scores = normalize(filter_norms(kernel), "max")          # one score per output filter
    group = combine([scores_a, scores_b], "union")           # members of a residual stage
    keep = kept_indices(group, threshold=0.1, min_filters=16, granularity=8)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .options import CRITERIA, NORMALIZERS


def filter_norms(kernel: np.ndarray) -> np.ndarray:
    """L2 norm of each output filter: over every axis of ``kernel`` but the last (the bias is ignored)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    return np.sqrt(np.square(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0))


def normalize(scores: np.ndarray, normalizer: str) -> np.ndarray:
    """``max``: scores / max(scores); ``L2``: scores / ||scores||_2 * len(scores); ``off``: unchanged."""
    scores = np.asarray(scores, dtype=np.float64)
    if normalizer == "max":
        top = scores.max(initial=0.0)
        return scores / top if top > 0 else np.zeros_like(scores)
    if normalizer == "L2":
        norm = math.sqrt(float(np.square(scores).sum()))
        return scores / norm * len(scores) if norm > 0 else np.zeros_like(scores)
    if normalizer == "off":
        return scores
    raise ValueError(f"normalizer must be one of {NORMALIZERS}, got {normalizer!r}")


def combine(member_scores: Sequence[np.ndarray], criterion: str) -> np.ndarray:
    """One score per channel of an equalization group from its members' (normalized) scores."""
    stack = np.stack([np.asarray(s, dtype=np.float64) for s in member_scores])
    if criterion == "union":
        return stack.max(axis=0)
    if criterion == "intersection":
        return stack.min(axis=0)
    if criterion == "arithmetic_mean":
        return stack.mean(axis=0)
    if criterion == "geometric_mean":
        return np.exp(np.log(np.maximum(stack, 1e-300)).mean(axis=0)) * (stack > 0).all(axis=0)
    raise ValueError(f"equalization criterion must be one of {CRITERIA}, got {criterion!r}")


def kept_count(scores: np.ndarray, threshold: float, min_filters: int, granularity: int) -> int:
    """Filters kept: those scoring above ``threshold``, at least ``min(min_filters, depth)``, rounded up
    to a multiple of ``granularity`` and capped at the depth."""
    depth = len(scores)
    count = max(min(int(min_filters), depth), int(np.count_nonzero(np.asarray(scores) > threshold)))
    count = -(-count // int(granularity)) * int(granularity)
    return min(count, depth)


def kept_indices(scores: np.ndarray, threshold: float, min_filters: int, granularity: int) -> np.ndarray:
    """The sorted indices of the top-scoring ``kept_count`` filters (ties: the lower index first)."""
    count = kept_count(scores, threshold, min_filters, granularity)
    order = np.argsort(-np.asarray(scores), kind="stable")
    return np.sort(order[:count])
