"""Detection average precision with KITTI difficulty levels, as `tlt evaluate` reports it.

For each class and level, a ground-truth box either counts (a hit or a miss) or is ignored (neither):
it is ignored when it misses the level's limits (`jupyter_tlt.data.kitti.DIFFICULTIES`: height
strictly above the minimum, occlusion and truncation at most the maxima), falls outside the class's
`box_filters`, or belongs to a neighbouring class (Van for Car, Person_sitting for Pedestrian).
Detections are matched greedily in descending score order (`matching.match_greedy`); one matched to an
ignored box is ignored. An unmatched detection is ignored when it is smaller than the level's minimum
height (strictly less, as in the devkit), outside `box_filters`, or lies in a DontCare region
(intersection over the detection's area above the class's IoU threshold, as in the devkit's
`computeStatistics`); every other unmatched one is a false positive. A too-small (or filtered)
detection that matches a counted box is ignored together with that box, as in the devkit.

The level "all" applies no difficulty limits: every box of the class counts (subject to
`box_filters`), which is the plain mAP of DetectNet_v2's validation during training.

mAP is the unweighted mean of the per-class APs; a class with no counted ground truth at a level has
AP 0 there (as in TAO), which lowers the mAP: such classes are listed in `warnings`.
"""

from __future__ import annotations

import html
import math
import warnings as _warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

from ..data.kitti import DIFFICULTIES, KittiObject
from .average_precision import average_precision, normalize_mode, precision_recall, sample_envelope
from .boxes import Detections, GroundTruth
from .ignored import ground_truth_notes
from .kitti_devkit import KITTI_MODES, devkit_ap, devkit_curves
from .matching import batched_iou, batched_overlap_of_first, match_greedy, padded_groups
from .tables import html_table, percent, text_table

__all__ = ["DEFAULT_NEIGHBOURS", "LEVELS", "PRCurve", "DetectionMetrics", "evaluate_detection"]

DEFAULT_NEIGHBOURS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"car": ("van",), "pedestrian": ("person_sitting",)})
"""Classes whose boxes are neither hits nor misses for a class (KITTI devkit)."""

ALL = "all"
LEVELS = (*DIFFICULTIES, ALL)
"""Evaluation levels: the KITTI difficulties and "all" (no difficulty limits)."""

_NO_FILTER = (0.0, math.inf, 0.0, math.inf)


@dataclass
class PRCurve:
    """Precision and recall after each counted detection of one class at one level, detections
    sorted by descending score (`scores`). Empty when there are no counted detections."""

    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    ap: float
    num_ground_truth: int

    def sampled(self, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
        """(recall points, envelope precision at each), for compact storage and plotting."""
        grid = np.linspace(0.0, 1.0, points)
        return grid, sample_envelope(self.precision, self.recall, grid)


@dataclass
class DetectionMetrics:
    """AP per class and level (0..1), mAP per level, PR curves and counts of one evaluation."""

    class_names: list[str]
    levels: list[str]
    mode: str
    iou_thresholds: dict[str, float]
    ap: dict[str, dict[str, float]]
    mAP: dict[str, float]
    curves: dict[str, dict[str, PRCurve]] = field(repr=False)
    num_ground_truth: dict[str, dict[str, int]] = field(repr=False)
    num_detections: dict[str, int] = field(repr=False)
    num_images: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_frame(self):
        """pandas DataFrame of AP in percent: rows are the classes and a final `mAP` row, columns
        the levels (e.g. easy, moderate, hard)."""
        import pandas as pd

        data = [[100.0 * self.ap[c][lv] for lv in self.levels] for c in self.class_names]
        data.append([100.0 * self.mAP[lv] for lv in self.levels])
        frame = pd.DataFrame(data, index=[*self.class_names, "mAP"], columns=list(self.levels))
        frame.index.name = "class"
        return frame

    def format_table(self) -> str:
        """The AP table as TLT printed it: `class mAP` then one column per level, in percent."""
        rows = [[c, *(percent(self.ap[c][lv]) for lv in self.levels)] for c in self.class_names]
        rows.append(["mAP", *(percent(self.mAP[lv]) for lv in self.levels)])
        return text_table(["class mAP", *self.levels], rows)

    def __str__(self) -> str:
        return self.format_table()

    def _repr_html_(self) -> str:
        rows = [[c, *(percent(self.ap[c][lv]) for lv in self.levels)] for c in self.class_names]
        shades = [[None, *(self.ap[c][lv] for lv in self.levels)] for c in self.class_names]
        rows.append(["mAP", *(percent(self.mAP[lv]) for lv in self.levels)])
        shades.append([None, *(self.mAP[lv] for lv in self.levels)])
        ious = ", ".join(f"{c} {self.iou_thresholds[c]:g}" for c in self.class_names)
        caption = f"Average precision (%), {self.mode}, {self.num_images} images, IoU {ious}"
        out = html_table(["class", *self.levels], rows, shades, caption=caption, footer_rows=1)
        for text in self.warnings:
            out += f'<div style="color:#b35900">warning: {html.escape(text)}</div>'
        return out

    def to_dict(self, curve_points: int = 101) -> dict:
        """JSON-ready dict (metrics.json); curves are stored as the precision envelope sampled at
        `curve_points` recall values."""
        curves = {}
        for c in self.class_names:
            curves[c] = {}
            for lv in self.levels:
                grid, prec = self.curves[c][lv].sampled(curve_points)
                curves[c][lv] = {"recall": [round(float(r), 6) for r in grid],
                                 "precision": [round(float(p), 6) for p in prec]}
        return {
            "task": "detection",
            "mode": self.mode,
            "levels": list(self.levels),
            "class_names": list(self.class_names),
            "iou_thresholds": dict(self.iou_thresholds),
            "ap": {c: {lv: float(v) for lv, v in d.items()} for c, d in self.ap.items()},
            "mAP": {lv: float(v) for lv, v in self.mAP.items()},
            "num_ground_truth": {c: dict(d) for c, d in self.num_ground_truth.items()},
            "num_detections": dict(self.num_detections),
            "num_images": self.num_images,
            "warnings": list(self.warnings),
            "curves": curves,
        }

    def plot_pr(self, ax=None, level: str | None = None):
        """Precision-recall curves, one line per class, at `level` (default: moderate if evaluated,
        else the first level). Returns the matplotlib Axes."""
        if level is None:
            level = "moderate" if "moderate" in self.levels else self.levels[0]
        if level not in self.levels:
            raise ValueError(f"level {level!r} was not evaluated; choose from {self.levels}")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(5.5, 4.5))
        for c in self.class_names:
            curve = self.curves[c][level]
            recall = np.concatenate([[0.0], curve.recall]) if len(curve.recall) else np.zeros(1)
            precision = (np.concatenate([[curve.precision[0]], curve.precision])
                         if len(curve.precision) else np.zeros(1))
            ax.plot(recall, precision, drawstyle="steps-post",
                    label=f"{c} (AP {percent(self.ap[c][level])})")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.05)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"Precision-recall, {level} (mAP {percent(self.mAP[level])} %)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower left", fontsize="small")
        return ax


# --- evaluation -------------------------------------------------------------------------------

def _as_ground_truth(item, index: int) -> GroundTruth:
    if isinstance(item, GroundTruth):
        return item
    if isinstance(item, (list, tuple)) and all(isinstance(o, KittiObject) for o in item):
        return GroundTruth.from_kitti(item, name=str(index))
    raise TypeError(f"ground_truth[{index}] must be a GroundTruth or a list of KittiObject, "
                    f"not {type(item).__name__}")


def _as_detections(item, index: int) -> Detections:
    if isinstance(item, Detections):
        return item
    if isinstance(item, (list, tuple)) and all(isinstance(o, KittiObject) for o in item):
        return Detections.from_kitti(item, name=str(index))
    raise TypeError(f"detections[{index}] must be a Detections or a list of KittiObject, "
                    f"not {type(item).__name__}")


def _class_index(names: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """Index of each name in `class_names` (-1 when absent), by binary search in C."""
    if len(names) == 0:
        return np.zeros(0, dtype=np.int64)
    names = np.asarray(names, dtype=str)
    table = np.asarray(class_names, dtype=str)
    by_name = np.argsort(table)
    ordered = table[by_name]
    pos = np.minimum(np.searchsorted(ordered, names), len(ordered) - 1)
    return np.where(ordered[pos] == names, by_name[pos], -1)


def _thresholds(class_names: Sequence[str], iou_thresholds: Mapping[str, float] | None) -> dict:
    from ..spec.defaults import DEFAULT_IOU, DEFAULT_IOU_OTHER

    given = {str(k).lower(): float(v) for k, v in (iou_thresholds or {}).items()}
    out = {}
    for c in class_names:
        t = given.get(c, DEFAULT_IOU.get(c, DEFAULT_IOU_OTHER))
        if not 0.0 < t <= 1.0:
            raise ValueError(f"IoU threshold for class '{c}' must be in (0, 1]; got {t}")
        out[c] = t
    return out


def _radix_int(values: np.ndarray, upper: int) -> np.ndarray:
    """`values` (0..upper) in the narrowest integer type, so a stable sort uses radix sort."""
    for dtype in (np.uint8, np.uint16):
        if upper <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values


def _by_image_class(order: np.ndarray, image: np.ndarray, cls: np.ndarray, n_images: int,
                    n_classes: int) -> np.ndarray:
    """`order` (entry indices) stably re-sorted by (image, class): two stable radix passes."""
    order = order[np.argsort(_radix_int(cls[order], n_classes), kind="stable")]
    return order[np.argsort(_radix_int(image[order], n_images), kind="stable")]


def _descending(values: np.ndarray) -> np.ndarray:
    """Indices of `values` by descending value, ties in index order (as a stable sort gives)."""
    order = np.argsort(-values)
    ordered = values[order]
    if len(ordered) > 1:
        new_run = ordered[1:] != ordered[:-1]
        if not new_run.all():
            # ties: put each run of equal values back in index order (one integer sort)
            run = np.concatenate([[0], np.cumsum(new_run)])
            order = np.sort(run * len(values) + order) % len(values)
    return order


def _concat(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
    return np.concatenate(parts) if parts else empty


def _in_filter(boxes: np.ndarray, limits: np.ndarray) -> np.ndarray:
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    return (h >= limits[:, 0]) & (h <= limits[:, 1]) & (w >= limits[:, 2]) & (w <= limits[:, 3])


def evaluate_detection(ground_truth: Sequence[GroundTruth], detections: Sequence[Detections],
                       class_names: Sequence[str], *,
                       iou_thresholds: Mapping[str, float] | None = None,
                       mode: str | int = "SAMPLE",
                       difficulties: Sequence[str] = ("easy", "moderate", "hard"),
                       box_filters: Mapping[str, Sequence[float]] | None = None,
                       neighbours: Mapping[str, Sequence[str]] | None = DEFAULT_NEIGHBOURS,
                       dontcare_overlap: float | None = None) -> DetectionMetrics:
    """AP of `detections` against `ground_truth` (one entry per image, same order) for each class in
    `class_names` and each level in `difficulties` ("easy", "moderate", "hard", "all").

    iou_thresholds: class -> minimum IoU of a match (missing classes: car 0.7, pedestrian and
    cyclist 0.5, others 0.5). mode: "SAMPLE" (11-point), "INTEGRATE", "COCO101", or the KITTI
    benchmark's "KITTI_R40" / "KITTI_R11" (computed as the devkit does: `kitti_devkit.py`).
    box_filters: class -> (min_height, max_height, min_width, max_width) in pixels, inclusive
    (DetectNet_v2's evaluation_box_config). neighbours: class -> classes ignored for it (None: none).
    dontcare_overlap: a detection is swallowed by a DontCare region when intersection / detection
    area exceeds this (default: the class's IoU threshold, as the KITTI devkit does).
    Entries may also be lists of KittiObject (one label file's objects). Class names match
    ignoring case; results are keyed by `class_names` as given.
    """
    if len(ground_truth) != len(detections):
        raise ValueError(f"got ground truth for {len(ground_truth)} images but detections for "
                         f"{len(detections)}; pass one entry per image, in the same order")
    given = [str(c) for c in class_names]  # results are keyed by the names as given
    class_names = [c.lower() for c in given]  # matching is case-insensitive
    if not class_names:
        raise ValueError("class_names is empty; name the classes to evaluate")
    if len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names has duplicates (ignoring case): {given}")
    levels = list(difficulties)
    if not levels:
        raise ValueError("difficulties is empty; use e.g. ('easy', 'moderate', 'hard') or ('all',)")
    for lv in levels:
        if lv not in LEVELS:
            raise ValueError(f"unknown difficulty {lv!r}; use {', '.join(LEVELS)}")
    if len(set(levels)) != len(levels):
        raise ValueError(f"difficulties has duplicates: {levels}")
    mode = normalize_mode(mode)
    thresholds = _thresholds(class_names, iou_thresholds)
    gts = [_as_ground_truth(g, i) for i, g in enumerate(ground_truth)]
    dets = [_as_detections(d, i) for i, d in enumerate(detections)]
    C, L, n_images = len(class_names), len(levels), len(gts)
    thr = np.array([thresholds[c] for c in class_names])
    dc_thr = thr if dontcare_overlap is None else np.full(C, float(dontcare_overlap))
    box_filters = {str(k).lower(): v for k, v in (box_filters or {}).items()}
    filters = np.array([tuple(float(v) for v in box_filters.get(c, _NO_FILTER))
                        for c in class_names], dtype=np.float64).reshape(C, 4)
    neighbours = {str(k).lower(): v for k, v in (neighbours or {}).items()}
    neighbour_names = {c: [str(n).lower() for n in neighbours.get(c, ())] for c in class_names}
    report: list[str] = []
    if mode in KITTI_MODES:
        return _evaluate_devkit(gts, dets, given, class_names, levels, mode, thresholds, thr, dc_thr,
                                neighbour_names, filters, report)

    # Ground truth, flattened: one entry per (object, class it counts or is ignored for), sorted
    # by (image, class).
    gt_counts = np.array([len(g) for g in gts], dtype=np.int64)
    gt_boxes = _concat([g.boxes for g in gts], np.zeros((0, 4)))
    gt_names = _concat([g.classes for g in gts], np.zeros(0, dtype=str))
    gt_trunc = _concat([g.truncation for g in gts], np.zeros(0))
    gt_occl = _concat([g.occlusion for g in gts], np.zeros(0, dtype=np.int64))
    gt_image = np.repeat(np.arange(n_images), gt_counts)
    gt_cls = _class_index(gt_names, class_names)
    own = np.flatnonzero(gt_cls >= 0)
    ent_obj, ent_cls, ent_neighbour = [own], [gt_cls[own]], [np.zeros(len(own), bool)]
    for c, names in enumerate(neighbour_names.values()):
        if names:
            idx = np.flatnonzero(np.isin(gt_names, names))
            ent_obj.append(idx)
            ent_cls.append(np.full(len(idx), c))
            ent_neighbour.append(np.ones(len(idx), bool))
    ent_obj = np.concatenate(ent_obj).astype(np.int64)
    ent_cls = np.concatenate(ent_cls).astype(np.int64)
    ent_neighbour = np.concatenate(ent_neighbour)
    order = _by_image_class(np.arange(len(ent_obj)), gt_image[ent_obj], ent_cls, n_images, C)
    ent_obj, ent_cls, ent_neighbour = ent_obj[order], ent_cls[order], ent_neighbour[order]
    ent_key = gt_image[ent_obj] * C + ent_cls
    e_boxes = gt_boxes[ent_obj]
    e_h = e_boxes[:, 3] - e_boxes[:, 1]
    counted = ~ent_neighbour & _in_filter(e_boxes, filters[ent_cls])
    valid = np.zeros((len(ent_obj), L), dtype=bool)
    for j, lv in enumerate(levels):
        if lv == ALL:
            valid[:, j] = counted
        else:
            d = DIFFICULTIES[lv]
            valid[:, j] = (counted & (e_h > d.min_height) & (gt_occl[ent_obj] <= d.max_occlusion)
                           & (gt_trunc[ent_obj] <= d.max_truncation))

    # Detections, flattened and sorted by (image, class), then by descending score.
    det_counts = np.array([len(d) for d in dets], dtype=np.int64)
    d_boxes = _concat([d.boxes for d in dets], np.zeros((0, 4)))
    d_names = _concat([d.classes for d in dets], np.zeros(0, dtype=str))
    d_scores = _concat([d.scores for d in dets], np.zeros(0))
    d_image = np.repeat(np.arange(n_images), det_counts)
    d_cls = _class_index(d_names, class_names)
    unknown = d_cls < 0
    if unknown.any():
        names, n = np.unique(d_names[unknown], return_counts=True)
        listed = ", ".join(f"'{a}' ({b})" for a, b in zip(names, n))
        report.append(f"{int(unknown.sum())} detections of classes not in class_names were not "
                      f"evaluated: {listed}; check the class names the model was trained with")
    by_score = _descending(d_scores)
    by_score = by_score[~unknown[by_score]]
    order = _by_image_class(by_score, d_image, d_cls, n_images, C)
    d_boxes, d_scores, d_image, d_cls = d_boxes[order], d_scores[order], d_image[order], d_cls[order]
    d_key = d_image * C + d_cls
    n_det = len(d_key)
    d_out = ~_in_filter(d_boxes, filters[d_cls])
    d_h = d_boxes[:, 3] - d_boxes[:, 1]
    small = np.zeros((n_det, L), dtype=bool)
    for j, lv in enumerate(levels):
        small[:, j] = d_out if lv == ALL else d_out | (d_h < DIFFICULTIES[lv].min_height)

    # Greedy matching of every (image, class) at once, bucketed by size.
    matched = np.zeros((n_det, L), dtype=bool)
    matched_valid = np.zeros((n_det, L), dtype=bool)
    for keys, idx_d, idx_g in padded_groups(d_key, ent_key, n_images * C):
        pad_d, pad_g = idx_d < 0, idx_g < 0
        iou = batched_iou(d_boxes[np.maximum(idx_d, 0)], e_boxes[np.maximum(idx_g, 0)])
        iou[pad_d[:, :, None] | pad_g[:, None, :]] = -1.0
        v = valid[np.maximum(idx_g, 0)].transpose(0, 2, 1)
        match, mvalid = match_greedy(iou, v, thr[keys % C], n_det=(~pad_d).sum(axis=1))
        real = ~pad_d
        rows = idx_d[real]
        matched[rows] = (match >= 0).transpose(0, 2, 1)[real]
        matched_valid[rows] = mvalid.transpose(0, 2, 1)[real]

    # DontCare regions swallow unmatched detections.
    dc_counts = np.array([len(g.dontcare) for g in gts], dtype=np.int64)
    swallowed = np.zeros(n_det, dtype=bool)
    if dc_counts.sum() and n_det:
        dc_boxes = np.concatenate([g.dontcare for g in gts])
        dc_image = np.repeat(np.arange(n_images), dc_counts)
        for _, idx_d, idx_c in padded_groups(d_image, dc_image, n_images):
            ov = batched_overlap_of_first(d_boxes[np.maximum(idx_d, 0)],
                                          dc_boxes[np.maximum(idx_c, 0)])
            ov[np.broadcast_to((idx_c < 0)[:, None, :], ov.shape)] = -1.0
            best = ov.max(axis=2)
            real = idx_d >= 0
            rows = idx_d[real]
            swallowed[rows] = best[real] > dc_thr[d_cls[rows]]

    tp = matched_valid & ~small
    fp = ~matched & ~small & ~swallowed[:, None]
    # a too-small detection on a counted box takes that box out of the count, as in the devkit
    dropped = matched_valid & small
    npos = np.zeros((C, L), dtype=np.int64)
    for j in range(L):
        npos[:, j] = (np.bincount(ent_cls[valid[:, j]], minlength=C)
                      - np.bincount(d_cls[dropped[:, j]], minlength=C))

    # Per class: PR curves over all images, detections by descending score, ties in image order
    # (the order pycocotools' accumulate uses): the score order, stably sorted by class.
    current = np.empty(len(unknown), dtype=np.int64)
    current[order] = np.arange(n_det)             # input index -> index after the sort above
    by_score = current[by_score]
    order = by_score[np.argsort(_radix_int(d_cls[by_score], C), kind="stable")]
    starts = np.searchsorted(d_cls[order], np.arange(C + 1))
    tp, fp, scores = tp[order].T, fp[order].T, d_scores[order]
    ap: dict[str, dict[str, float]] = {}
    curves: dict[str, dict[str, PRCurve]] = {}
    num_gt: dict[str, dict[str, int]] = {}
    for c, name in enumerate(given):
        sel = slice(starts[c], starts[c + 1])
        ap[name], curves[name], num_gt[name] = {}, {}, {}
        for j, lv in enumerate(levels):
            t, f = tp[j, sel], fp[j, sel]
            kept = t | f
            n = int(npos[c, j])
            precision, recall = precision_recall(t[kept], f[kept], n)
            value = average_precision(precision, recall, mode) if n > 0 else 0.0
            ap[name][lv] = value
            curves[name][lv] = PRCurve(precision, recall, scores[sel][kept], value, n)
            num_gt[name][lv] = n
    m_ap = {lv: float(np.mean([ap[c][lv] for c in given])) for lv in levels}

    mine = ~ent_neighbour
    report[:0] = ground_truth_notes(given, levels, n_images, ent_cls[mine], counted[mine],
                                    e_h[mine], gt_occl[ent_obj][mine], gt_trunc[ent_obj][mine])
    for text in report:
        _warnings.warn(text, UserWarning, stacklevel=2)
    num_det = {c: int(n) for c, n in zip(given, np.diff(starts))}
    return DetectionMetrics(class_names=given, levels=levels, mode=mode,
                            iou_thresholds=dict(zip(given, thresholds.values())), ap=ap, mAP=m_ap, curves=curves,
                            num_ground_truth=num_gt, num_detections=num_det,
                            num_images=n_images, warnings=report)


def _report_missing(report: list[str], gts, given, class_names, levels) -> None:
    """Put first in `report` why a class has no counted ground truth (its AP counts as 0), in a KITTI mode."""
    classes = _concat([g.classes for g in gts], np.zeros(0, dtype=str))
    known = np.isin(classes, class_names)
    index = {c: i for i, c in enumerate(class_names)}
    cls = np.array([index[c] for c in classes[known]], dtype=np.int64)
    boxes = _concat([g.boxes for g in gts], np.zeros((0, 4)))[known]
    occlusion = _concat([g.occlusion for g in gts], np.zeros(0))[known]
    truncation = _concat([g.truncation for g in gts], np.zeros(0))[known]
    report[:0] = ground_truth_notes(given, levels, len(gts), cls, np.ones(len(cls), dtype=bool),
                                    boxes[:, 3] - boxes[:, 1], occlusion, truncation)


def _evaluate_devkit(gts, dets, given, class_names, levels, mode, thresholds, thr, dc_thr,
                     neighbour_names, filters, report) -> DetectionMetrics:
    """evaluate_detection in a KITTI mode: the devkit's curves; PRCurve holds its 41 recall slots."""
    curves_by_class = devkit_curves(gts, dets, class_names, levels, thr, dc_thr,
                                    [neighbour_names[c] for c in class_names], filters)
    all_classes = _concat([d.classes for d in dets], np.zeros(0, dtype=str))
    known = np.isin(all_classes, class_names)
    ap, curves, num_gt, num_det = {}, {}, {}, {}
    slots = np.linspace(0.0, 1.0, len(curves_by_class[0][0].precision)) if class_names else None
    for name, lower, per_level in zip(given, class_names, curves_by_class):
        ap[name], curves[name], num_gt[name] = {}, {}, {}
        for lv, curve in zip(levels, per_level):
            value = devkit_ap(curve.precision, mode) if curve.num_ground_truth else 0.0
            ap[name][lv] = value
            curves[name][lv] = PRCurve(curve.precision, slots, curve.thresholds, value,
                                       curve.num_ground_truth)
            num_gt[name][lv] = curve.num_ground_truth
        num_det[name] = int((all_classes == lower).sum())
    m_ap = {lv: float(np.mean([ap[c][lv] for c in given])) for lv in levels}
    if (~known).any():
        report.append(f"{int((~known).sum())} detections of classes not in class_names were not "
                      "evaluated; check the class names the model was trained with")
    _report_missing(report, gts, given, class_names, levels)
    for text in report:
        _warnings.warn(text, UserWarning, stacklevel=3)
    return DetectionMetrics(class_names=given, levels=levels, mode=mode,
                            iou_thresholds=dict(zip(given, thresholds.values())), ap=ap, mAP=m_ap,
                            curves=curves, num_ground_truth=num_gt, num_detections=num_det,
                            num_images=len(gts), warnings=report)
