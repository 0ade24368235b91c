"""Average precision exactly as the KITTI object devkit computes it for 2D boxes (KITTI_R40, KITTI_R11).

The devkit's `evaluate_object.cpp`, per class and difficulty:
- `cleanData`: a ground-truth box of the class counts (0) when its height is strictly above the
  level's minimum and its occlusion and truncation are at most the maxima, else it is ignored (1);
  a neighbouring class (Van for Car, Person_sitting for Pedestrian) is ignored (1); any other class
  takes no part (-1). A detection whose height, truncated to an integer, is below the minimum is
  ignored (1) *whatever its class*; otherwise one of the class counts (0) and others take no part.
- `computeStatistics`: the ground-truth boxes are visited in file order; each takes one free
  detection with IoU strictly above the class threshold. To find score thresholds it takes the one
  with the highest score; to count TP/FP/FN at a threshold (detections scoring below it removed) it
  takes the counted one with the largest IoU, else the first ignored one. A counted box with a
  counted detection is a TP; a counted box with none a FN; any other pair is set aside. Free
  counted detections are FPs unless intersection over their own area with a DontCare region is above
  the class threshold.
- `getThresholds`: from the TP scores (descending), one score per recall step of 1/40, taking a score
  when its recall is closer to the step than the next score's; `eval_class`: precision at each
  threshold, then the maximum to its right over the 41 slots (0 beyond the last threshold).
- AP: KITTI_R40 averages slots 1..40 (the benchmark since October 2019), KITTI_R11 slots 0, 4, ..., 40
  (the benchmark before, and most papers up to 2019).

Boxes, scores and overlaps are doubles computed in the devkit's order of operations, so thresholds at
exactly the IoU limit fall the same way. Work is batched over images: the ground-truth loop runs once
for all (image, level, score cut) problems together.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

from ..data.kitti import DIFFICULTIES
from .matching import batched_iou, batched_overlap_of_first, padded_groups

__all__ = ["KITTI_MODES", "N_SAMPLE_PTS", "DevkitCurve", "devkit_curves", "devkit_ap"]

N_SAMPLE_PTS = 41
"""Recall slots of the devkit's precision curve (0, 1/40, ..., 1)."""

KITTI_MODES: Mapping[str, tuple[int, ...]] = MappingProxyType({
    "KITTI_R40": tuple(range(1, N_SAMPLE_PTS)),
    "KITTI_R11": tuple(range(0, N_SAMPLE_PTS, 4)),
})
"""Average-precision modes of the KITTI benchmark -> the precision slots they average."""

_NO_LIMIT = (-np.inf, np.iinfo(np.int64).max, np.inf)  # level "all": no difficulty limits


@dataclass
class DevkitCurve:
    """The devkit's curve for one class and level: the score `thresholds`, the counts at each, and
    `precision` over the 41 recall slots after taking the maximum to the right."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    precision: np.ndarray
    num_ground_truth: int

    @property
    def recall(self) -> np.ndarray:
        """TP / (TP + FN) at each threshold."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.tp / (self.tp + self.fn).astype(np.float64)


def devkit_ap(precision: np.ndarray, mode: str) -> float:
    """AP (0..1) of a 41-slot devkit precision curve in `mode` KITTI_R40 or KITTI_R11."""
    slots = KITTI_MODES[mode]
    return float(sum(precision[i] for i in slots) / len(slots))


def _level_limits(level: str) -> tuple[float, int, float]:
    if level not in DIFFICULTIES:
        return _NO_LIMIT
    d = DIFFICULTIES[level]
    return d.min_height, d.max_occlusion, d.max_truncation


def get_thresholds(scores: np.ndarray, n_ground_truth: int) -> np.ndarray:
    """The devkit's `getThresholds`: scores (of the TPs) that sample recall in steps of 1/40."""
    v = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    n = len(v)
    if n == 0:
        return v
    i = np.arange(n)
    l_recall = (i + 1) / float(n_ground_truth)
    r_recall = np.where(i < n - 1, (i + 2) / float(n_ground_truth), l_recall)
    out, start, current = [], 0, 0.0
    while start < n:
        skip = ((r_recall[start:] - current) < (current - l_recall[start:])) & (i[start:] < n - 1)
        take = start + int(np.argmin(skip))  # the last score is never skipped
        out.append(v[take])
        current += 1.0 / (N_SAMPLE_PTS - 1.0)
        start = take + 1
    return np.asarray(out)


def _max_to_the_right(precision: np.ndarray) -> np.ndarray:
    """`*max_element(p.begin() + i, p.end())` for every i, NaN handling included (a NaN first
    element stays, later NaNs are skipped), as C++'s max_element compares with `<`."""
    out = precision.copy()
    for i in range(len(precision)):
        best = precision[i]
        for value in precision[i + 1:]:
            if best < value:
                best = value
        out[i] = best
    return out


def _assign(ok: np.ndarray, gt_part: np.ndarray, choose) -> np.ndarray:
    """Visit ground truth in order; each participating box takes the free detection `choose`
    picks among its candidates `ok` (Q, G, D). Returns the detection index per box (Q, G), -1: none."""
    Q, G, D = ok.shape
    free = np.ones((Q, D), dtype=bool)
    taken = np.full((Q, G), -1, dtype=np.int64)
    rows = np.arange(Q)
    for g in range(G):
        cand = ok[:, g, :] & free & gt_part[:, g, None]
        j = choose(cand, g)
        has = j >= 0
        taken[has, g] = j[has]
        free[rows[has], j[has]] = False
    return taken


def devkit_curves(gts, dets, class_names: Sequence[str], levels: Sequence[str], iou_thr: np.ndarray,
                  dc_thr: np.ndarray, neighbour_names: Sequence[Sequence[str]],
                  filters: np.ndarray) -> list[list[DevkitCurve]]:
    """DevkitCurve per class (index into `class_names`, lower case) and level, for ground truth
    `gts` and detections `dets` (GroundTruth / Detections, one per image, in file order).

    `filters`: (C, 4) min/max height, min/max width of counted boxes (evaluation_box_config; a box
    of the class outside them is ignored, like a box beyond the difficulty)."""
    n_images = len(gts)
    L = len(levels)
    limits = np.array([_level_limits(lv) for lv in levels], dtype=np.float64)  # (L, 3)

    def flat(items, attr, empty):
        parts = [getattr(x, attr) for x in items]
        return np.concatenate(parts) if parts else empty

    g_boxes = flat(gts, "boxes", np.zeros((0, 4)))
    g_names = flat(gts, "classes", np.zeros(0, dtype=str))
    g_trunc = flat(gts, "truncation", np.zeros(0))
    g_occl = flat(gts, "occlusion", np.zeros(0, dtype=np.int64))
    g_image = np.repeat(np.arange(n_images), [len(g) for g in gts])
    g_h = g_boxes[:, 3] - g_boxes[:, 1]
    d_boxes = flat(dets, "boxes", np.zeros((0, 4)))
    d_names = flat(dets, "classes", np.zeros(0, dtype=str))
    d_scores = flat(dets, "scores", np.zeros(0))
    d_image = np.repeat(np.arange(n_images), [len(d) for d in dets])
    d_int_h = np.trunc(np.abs(d_boxes[:, 1] - d_boxes[:, 3]))  # the devkit's int32_t height
    # largest overlap of each detection with a DontCare region of its image (over its own area)
    d_dc = _dontcare_overlap(gts, d_boxes, d_image, n_images)

    curves = []
    for c, name in enumerate(class_names):
        lo_h, hi_h, lo_w, hi_w = filters[c]
        # ground truth taking part for this class, in file order: its own boxes and neighbours'
        own_g = g_names == name
        sel_g = np.flatnonzero(own_g | np.isin(g_names, list(neighbour_names[c])))
        gw = g_boxes[sel_g, 2] - g_boxes[sel_g, 0]
        in_filter = (g_h[sel_g] >= lo_h) & (g_h[sel_g] <= hi_h) & (gw >= lo_w) & (gw <= hi_w)
        counts = (own_g[sel_g] & in_filter)[:, None] & (g_h[sel_g][:, None] > limits[None, :, 0]) \
            & (g_occl[sel_g][:, None] <= limits[None, :, 1]) \
            & (g_trunc[sel_g][:, None] <= limits[None, :, 2])                   # (Ng, L)
        # detections taking part: the class's own, and any too small at some level
        own_d = d_names == name
        small = d_int_h[:, None] < limits[None, :, 0]                          # (Nd, L)
        sel_d = np.flatnonzero(own_d | small.any(axis=1))
        dh = d_boxes[sel_d, 3] - d_boxes[sel_d, 1]
        dw = d_boxes[sel_d, 2] - d_boxes[sel_d, 0]
        d_in = (dh >= lo_h) & (dh <= hi_h) & (dw >= lo_w) & (dw <= hi_w)
        status = np.where(small[sel_d], 1, np.where(own_d[sel_d, None], 0, -1))  # (Nd, L)
        status = np.where((status == 0) & ~d_in[:, None], 1, status)
        curves.append(_class_curves(
            g_boxes[sel_g], g_image[sel_g], counts, d_boxes[sel_d], d_image[sel_d], d_scores[sel_d],
            status, d_dc[sel_d] > dc_thr[c], float(iou_thr[c]), n_images, L))
    return curves


def _dontcare_overlap(gts, d_boxes, d_image, n_images) -> np.ndarray:
    dc_counts = np.array([len(g.dontcare) for g in gts], dtype=np.int64)
    best = np.zeros(len(d_boxes))
    if not dc_counts.sum() or not len(d_boxes):
        return best
    dc_boxes = np.concatenate([g.dontcare for g in gts])
    dc_image = np.repeat(np.arange(n_images), dc_counts)
    for _, idx_d, idx_c in padded_groups(d_image, dc_image, n_images):
        ov = batched_overlap_of_first(d_boxes[np.maximum(idx_d, 0)], dc_boxes[np.maximum(idx_c, 0)])
        ov[np.broadcast_to((idx_c < 0)[:, None, :], ov.shape)] = -1.0
        real = idx_d >= 0
        best[idx_d[real]] = ov.max(axis=2)[real]
    return best


def _class_curves(g_boxes, g_image, counts, d_boxes, d_image, d_scores, status, swallowed, thr,
                  n_images, L) -> list[DevkitCurve]:
    n_gt = counts.sum(axis=0)                                                    # (L,)
    groups = list(padded_groups(d_image, g_image, n_images))
    # pass 1: each box takes the highest-scoring free detection; TP scores give the thresholds
    tp_scores = [[] for _ in range(L)]
    for _, idx_d, idx_g in groups:
        iou, d_ok, g_ok = _group_arrays(idx_d, idx_g, d_boxes, g_boxes, thr)
        for lv in range(L):
            st = np.where(idx_d >= 0, status[np.maximum(idx_d, 0), lv], -1)      # (P, D)
            cnt = (idx_g >= 0) & counts[np.maximum(idx_g, 0), lv]
            score = d_scores[np.maximum(idx_d, 0)]
            ok = d_ok & (st != -1)[:, None, :]

            def by_score(cand, g, score=score):
                pick = np.argmax(np.where(cand, score, -np.inf), axis=1)
                return np.where(cand.any(axis=1), pick, -1)

            taken = _assign(ok, g_ok, by_score)
            j = np.maximum(taken, 0)
            rows = np.arange(len(taken))[:, None]
            is_tp = (taken >= 0) & cnt & (st[rows, j] == 0)
            tp_scores[lv].append(score[rows, j][is_tp])
    thresholds = [get_thresholds(np.concatenate(s) if s else np.zeros(0), int(n_gt[lv]))
                  for lv, s in enumerate(tp_scores)]
    T = max([len(t) for t in thresholds] + [0])
    thr_lt = np.full((L, max(T, 1)), np.inf)
    for lv, t in enumerate(thresholds):
        thr_lt[lv, :len(t)] = t
    tp = np.zeros((L, T), dtype=np.int64)
    fp = np.zeros((L, T), dtype=np.int64)
    fn = np.zeros((L, T), dtype=np.int64)
    if T:
        # images without ground truth of the class (or without detections): counts need no matching
        in_group = np.zeros(n_images, dtype=bool)
        for _, idx_d, _ in groups:
            in_group[d_image[idx_d[idx_d >= 0]]] = True
        lone_d = ~in_group[d_image]
        for lv in range(L):
            fp_ok = lone_d & (status[:, lv] == 0) & ~swallowed
            fp[lv] += (d_scores[fp_ok][:, None] >= thr_lt[lv, None, :T]).sum(axis=0)
            fn[lv] += int((counts[:, lv] & ~in_group[g_image]).sum())
        # pass 2, per distinct set of detections above a threshold
        for _, idx_d, idx_g in groups:
            _count_at_thresholds(idx_d, idx_g, d_boxes, g_boxes, d_scores, status, counts, swallowed,
                                 thr, thr_lt[:, :T], tp, fp, fn)
    out = []
    for lv in range(L):
        t = len(thresholds[lv])
        precision = np.zeros(N_SAMPLE_PTS)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision[:t] = tp[lv, :t] / (tp[lv, :t] + fp[lv, :t]).astype(np.float64)
        out.append(DevkitCurve(thresholds[lv], tp[lv, :t], fp[lv, :t], fn[lv, :t],
                               _max_to_the_right(precision), int(n_gt[lv])))
    return out


def _group_arrays(idx_d, idx_g, d_boxes, g_boxes, thr):
    """IoU (P, G, D) of ground truth with detections, the pairs above the threshold, and which
    ground-truth slots are real (not padding)."""
    iou = batched_iou(d_boxes[np.maximum(idx_d, 0)], g_boxes[np.maximum(idx_g, 0)])  # (P, D, G)
    iou = iou.transpose(0, 2, 1)
    pad = (idx_g < 0)[:, :, None] | (idx_d < 0)[:, None, :]
    d_ok = (iou > thr) & ~pad
    return iou, d_ok, idx_g >= 0


def _count_at_thresholds(idx_d, idx_g, d_boxes, g_boxes, d_scores, status, counts, swallowed, thr,
                         thr_lt, tp, fp, fn) -> None:
    """Add the TP/FP/FN of one padded group of images at every (level, threshold) to tp/fp/fn."""
    L, T = thr_lt.shape
    P, D = idx_d.shape
    iou, d_ok, g_ok = _group_arrays(idx_d, idx_g, d_boxes, g_boxes, thr)
    j_d = np.maximum(idx_d, 0)
    score = np.where(idx_d >= 0, d_scores[j_d], -np.inf)                             # (P, D)
    # the set of detections at or above a threshold is fixed by how many there are
    cut = (score[:, None, None, :] >= thr_lt[None, :, :, None]).sum(axis=3)         # (P, L, T)
    key = (np.arange(P)[:, None, None] * L + np.arange(L)[None, :, None]) * (D + 1) + cut
    unique, first, inverse = np.unique(key.reshape(-1), return_index=True, return_inverse=True)
    p_of = first // (L * T)
    l_of = (first // T) % L
    t_of = first % T
    active = score[p_of] >= thr_lt[l_of, t_of][:, None]                              # (Q, D)
    st = np.where(idx_d[p_of] >= 0, status[j_d[p_of], l_of[:, None]], -1)            # (Q, D)
    cnt = (idx_g[p_of] >= 0) & counts[np.maximum(idx_g[p_of], 0), l_of[:, None]]    # (Q, G)
    ok = d_ok[p_of] & (active & (st != -1))[:, None, :]
    q_iou = iou[p_of]
    counted_d = st == 0
    ignored_d = st == 1

    def by_overlap(cand, g):
        valid = cand & counted_d
        best = np.argmax(np.where(valid, q_iou[:, g, :], -1.0), axis=1)
        first_ignored = np.argmax(cand & ignored_d, axis=1)
        return np.where(valid.any(axis=1), best,
                        np.where((cand & ignored_d).any(axis=1), first_ignored, -1))

    taken = _assign(ok, g_ok[p_of], by_overlap)
    rows = np.arange(len(taken))[:, None]
    j = np.maximum(taken, 0)
    q_tp = ((taken >= 0) & cnt & counted_d[rows, j]).sum(axis=1)
    q_fn = ((taken < 0) & cnt).sum(axis=1)
    assigned = np.zeros_like(active)
    hit = taken >= 0
    assigned[np.broadcast_to(rows, taken.shape)[hit], taken[hit]] = True
    sw = swallowed[j_d[p_of]] & (idx_d[p_of] >= 0)
    q_fp = (active & counted_d & ~assigned & ~sw).sum(axis=1)
    # back to (image, level, threshold) and summed over images
    lt = np.broadcast_to(np.arange(L)[:, None] * T + np.arange(T)[None, :], (P, L, T)).reshape(-1)
    for total, per_q in ((tp, q_tp), (fp, q_fp), (fn, q_fn)):
        total += np.bincount(lt, weights=per_q[inverse], minlength=L * T).astype(np.int64).reshape(L, T)
