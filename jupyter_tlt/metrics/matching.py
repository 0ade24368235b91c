"""Box overlaps and greedy detection-to-ground-truth matching, vectorized over many images at once.

Overlaps use continuous coordinates with no "+1 pixel" term: a box from x1 to x2 is x2 - x1 wide.
pycocotools computes bbox IoU that way, and so does the KITTI devkit for 2D boxes (its
`imageBoxOverlap` takes w = x2 - x1), so our numbers are comparable with both.

Matching follows pycocotools' `evaluateImg`: detections are taken in descending score order; each one
takes, among the ground-truth boxes not yet taken, the one with the highest IoU >= the threshold,
preferring a counted ("valid") ground truth over an ignored one even when the ignored one overlaps
more. Each ground truth is taken at most once.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = ["iou_matrix", "overlap_of_first", "match_greedy", "batched_iou", "batched_overlap_of_first",
           "padded_groups"]


def _inter(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection areas of boxes a (..., N, 4) with boxes b (..., M, 4): (..., N, M)."""
    w = (np.minimum(a[..., :, None, 2], b[..., None, :, 2])
         - np.maximum(a[..., :, None, 0], b[..., None, :, 0]))
    h = (np.minimum(a[..., :, None, 3], b[..., None, :, 3])
         - np.maximum(a[..., :, None, 1], b[..., None, :, 1]))
    return np.clip(w, 0.0, None) * np.clip(h, 0.0, None)


def _area(a: np.ndarray) -> np.ndarray:
    return (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])


def batched_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a (..., N, 4) with boxes b (..., M, 4), x1 y1 x2 y2: shape (..., N, M).
    Pairs with no overlap (or a zero-area union) give 0."""
    inter = _inter(a, b)
    union = _area(a)[..., :, None] + _area(b)[..., None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where(union > 0, iou, 0.0)


def batched_overlap_of_first(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area over the area of the box of `a` (KITTI's overlap of a detection with a
    DontCare region): shape (..., N, M); 0 for a zero-area box of `a`."""
    inter = _inter(a, b)
    area = _area(a)[..., :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inter / area
    return np.where(area > 0, ratio, 0.0)


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every box in a (N, 4) with every box in b (M, 4): shape (N, M)."""
    return batched_iou(np.asarray(a, dtype=np.float64).reshape(-1, 4),
                       np.asarray(b, dtype=np.float64).reshape(-1, 4))


def overlap_of_first(a, b) -> np.ndarray:
    """Intersection over the area of each box in a (N, 4), against each box in b (M, 4): (N, M)."""
    return batched_overlap_of_first(np.asarray(a, dtype=np.float64).reshape(-1, 4),
                                    np.asarray(b, dtype=np.float64).reshape(-1, 4))


def match_greedy(iou: np.ndarray, valid: np.ndarray, thresholds, n_det=None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of P independent (image, class) problems at once, under L ignore patterns.

    iou: (P, D, G) IoU of each problem's detections, sorted by descending score, with its ground
    truth; padding must hold a negative value. valid: (P, L, G) whether a ground truth counts (True)
    or is ignored (False) under each of L patterns (difficulty levels); padding is ignored anyway.
    thresholds: (P,) or scalar IoU threshold; a pair matches when IoU >= threshold. n_det: (P,)
    real detections per problem (default D), which lets the loop skip finished problems.

    Returns (match, matched_valid), both (P, L, D): the index of the ground truth each detection
    took (-1 for none), and whether that ground truth counts.
    """
    iou = np.asarray(iou, dtype=np.float64)
    P, D, G = iou.shape
    valid = np.asarray(valid, dtype=bool)
    L = valid.shape[1]
    thr = np.broadcast_to(np.maximum(np.asarray(thresholds, dtype=np.float64), 0.0), (P,))
    # priority of each pair: its IoU when allowed (>= threshold, not padding), else -10; an
    # ignored ground truth gets IoU - 2, below every counted one (COCO's preference)
    score = np.where((iou >= thr[:, None, None]) & (iou >= 0), iou, -10.0)
    shift = np.where(valid, 0.0, -2.0)
    n_det = np.full(P, D) if n_det is None else np.asarray(n_det)
    # problems by decreasing detection count, so the ones still running at step d are a prefix
    rows = np.argsort(-n_det, kind="stable")
    identity = bool((rows == np.arange(P)).all())
    if not identity:
        score, shift = score[rows], shift[rows]
    active = np.searchsorted(-n_det[rows], -np.arange(D), side="right")  # rows with n_det > d
    free = np.ones((P, L, G), dtype=bool)
    match = np.full((P, L, D), -1, dtype=np.int64)
    matched_valid = np.zeros((P, L, D), dtype=bool)
    for d in range(D):
        a = int(active[d])
        if a == 0:
            break
        priority = np.where(free[:a], score[:a, None, d, :] + shift[:a], -10.0)  # (a, L, G)
        best = priority.argmax(axis=2)
        top = priority.max(axis=2)
        hit = top >= -2.0
        match[:a, :, d] = np.where(hit, best, -1)
        matched_valid[:a, :, d] = top >= 0.0
        hit_p, hit_l = np.nonzero(hit)
        free[hit_p, hit_l, best[hit_p, hit_l]] = False
    if not identity:
        back = np.empty(P, dtype=np.int64)
        back[rows] = np.arange(P)
        match, matched_valid = match[back], matched_valid[back]
    return match, matched_valid


def _bucket(n: np.ndarray) -> np.ndarray:
    """Smallest power of two >= n (n >= 1)."""
    return (1 << np.ceil(np.log2(np.maximum(n, 1))).astype(np.int64)).astype(np.int64)


def padded_groups(keys_a: np.ndarray, keys_b: np.ndarray, n_keys: int
                  ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Group two key-sorted entry lists by key into padded blocks, for batched pairwise work.

    keys_a and keys_b are non-decreasing key arrays (e.g. image * n_classes + class) of two kinds of
    entries. For the keys that have entries of both kinds, yields (keys, idx_a, idx_b): idx_a (n, Da)
    and idx_b (n, Db) are entry indices into a and b, padded with -1. Keys are bucketed by the
    next power of two of their counts so that padding stays below 2x in each dimension.
    """
    count_a = np.bincount(keys_a, minlength=n_keys)
    count_b = np.bincount(keys_b, minlength=n_keys)
    start_a = np.concatenate([[0], np.cumsum(count_a)[:-1]])
    start_b = np.concatenate([[0], np.cumsum(count_b)[:-1]])
    both = np.flatnonzero((count_a > 0) & (count_b > 0))
    if len(both) == 0:
        return
    bucket_a, bucket_b = _bucket(count_a[both]), _bucket(count_b[both])
    group_id = bucket_a * (int(bucket_b.max()) * 2 + 1) + bucket_b
    order = np.argsort(group_id, kind="stable")
    bounds = np.flatnonzero(np.diff(group_id[order])) + 1
    for sel in np.split(order, bounds):
        keys = both[sel]
        da, db = int(bucket_a[sel[0]]), int(bucket_b[sel[0]])
        idx_a = start_a[keys][:, None] + np.arange(da)[None, :]
        idx_a = np.where(np.arange(da)[None, :] < count_a[keys][:, None], idx_a, -1)
        idx_b = start_b[keys][:, None] + np.arange(db)[None, :]
        idx_b = np.where(np.arange(db)[None, :] < count_b[keys][:, None], idx_b, -1)
        yield keys, idx_a, idx_b
