"""Error analysis of a detector: confidence thresholds, true/false positives and misses per image,
a detection confusion matrix with a background class, precision/recall/F1 against confidence.

Pure numpy; the evaluation step (`tasks.detectnet_v2.error_analysis`) feeds it, and the drawings
(`jupyter_tlt.drawing`) and the notebook browser (`jupyter_tlt.widgets.error_browser`) read it.

Conventions, chosen to match what a deployment sees:
* A detection is *kept* when its score is >= its class's confidence threshold.
* Colouring (`image_outcome`): per class, kept detections in descending score take the unmatched
  ground-truth box of their class with the highest IoU >= the class's IoU threshold (true
  positive); the rest are false positives; ground-truth boxes of the class nobody took are missed.
  Boxes of classes the model does not predict (DontCare, Van, ...) are neither.
* Confusion (`confusion_matrix`): class-agnostic matching of kept detections to ground truth at
  `iou` (pairs by descending IoU, each box used once); a matched pair counts at (true class,
  predicted class), an unmatched ground-truth box at (class, background), an unmatched detection at
  (background, class), as in the Ultralytics/YOLO confusion matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .boxes import Detections, GroundTruth
from .matching import iou_matrix

__all__ = ["TP", "FP", "MISSED", "BACKGROUND", "ConfidenceCurve", "ImageOutcome", "confidence_curve",
           "best_f1_threshold", "image_outcome", "confusion_matrix", "worst_images", "kept"]

TP, FP, MISSED = "tp", "fp", "missed"
"""Outcome of a box: a true positive, a false positive (detections), a missed object (ground truth)."""
BACKGROUND = "background"
"""The extra row and column of the confusion matrix: nothing there / nothing detected."""


@dataclass
class ConfidenceCurve:
    """Precision, recall and F1 of one class when keeping the detections scored >= each threshold;
    `thresholds` descend (the score of each counted detection, best first)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    num_ground_truth: int

    @property
    def f1(self) -> np.ndarray:
        p, r = self.precision, self.recall
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(p + r > 0, 2 * p * r / (p + r), 0.0)


def confidence_curve(curve) -> ConfidenceCurve:
    """The `ConfidenceCurve` of a `metrics.detection.PRCurve` (same points, indexed by score).

    Tied scores are one threshold (a deployment cannot keep half of them): each threshold takes
    the precision and recall after the last detection with that score."""
    scores = np.asarray(curve.scores, dtype=np.float64)
    if len(scores) == 0:
        return ConfidenceCurve(np.zeros(0), np.zeros(0), np.zeros(0), int(curve.num_ground_truth))
    last_of_run = np.append(scores[1:] != scores[:-1], True)
    return ConfidenceCurve(scores[last_of_run], np.asarray(curve.precision)[last_of_run],
                           np.asarray(curve.recall)[last_of_run], int(curve.num_ground_truth))


def best_f1_threshold(curve: ConfidenceCurve) -> float | None:
    """The score threshold with the highest F1 (the highest such threshold on ties, which keeps
    fewer boxes for the same F1); None when the class has no true positive at any threshold."""
    f1 = curve.f1
    if len(f1) == 0 or f1.max() <= 0.0:
        return None
    return float(curve.thresholds[int(np.argmax(f1))])


def kept(dets: Detections, thresholds: Mapping[str, float]) -> Detections:
    """The detections scored at least their class's threshold (classes not named: all kept)."""
    limit = np.array([thresholds.get(c, -np.inf) for c in dets.classes], dtype=np.float64)
    keep = dets.scores >= limit
    return Detections(dets.boxes[keep], dets.classes[keep], dets.scores[keep], name=dets.name)


@dataclass
class ImageOutcome:
    """One image at one set of thresholds: the kept detections and ground truth with their outcome
    (`TP` / `FP` for detections, `TP` / `MISSED` for ground truth; "" for boxes of other classes)."""

    name: str
    detections: Detections
    detection_outcome: np.ndarray
    truth: GroundTruth
    truth_outcome: np.ndarray

    @property
    def false_positives(self) -> int:
        return int(np.sum(self.detection_outcome == FP))

    @property
    def missed(self) -> int:
        return int(np.sum(self.truth_outcome == MISSED))

    @property
    def true_positives(self) -> int:
        return int(np.sum(self.detection_outcome == TP))


def image_outcome(truth: GroundTruth, dets: Detections, class_names: Sequence[str],
                  iou_thresholds: Mapping[str, float], thresholds: Mapping[str, float]) -> ImageOutcome:
    """TP / FP / missed for one image (see the module docstring for the rule)."""
    names = [c.lower() for c in class_names]
    dets = kept(dets, {k.lower(): v for k, v in thresholds.items()})
    det_out = np.full(len(dets), FP, dtype=object)
    gt_out = np.where(np.isin(truth.classes, names), MISSED, "").astype(object)
    ious = {k.lower(): v for k, v in iou_thresholds.items()}
    for c in names:
        d_idx = np.flatnonzero(dets.classes == c)
        g_idx = np.flatnonzero(truth.classes == c)
        if len(d_idx) == 0 or len(g_idx) == 0:
            continue
        d_idx = d_idx[np.argsort(-dets.scores[d_idx], kind="stable")]
        overlap = iou_matrix(dets.boxes[d_idx], truth.boxes[g_idx])
        free = np.ones(len(g_idx), dtype=bool)
        for row, d in enumerate(overlap):
            candidates = np.where(free & (d >= ious.get(c, 0.5)), d, -1.0)
            best = int(np.argmax(candidates))
            if candidates[best] >= 0.0:
                free[best] = False
                det_out[d_idx[row]] = TP
                gt_out[g_idx[best]] = TP
    return ImageOutcome(truth.name or dets.name, dets, det_out, truth, gt_out)


def confusion_matrix(truth: Sequence[GroundTruth], detections: Sequence[Detections],
                     class_names: Sequence[str], thresholds: Mapping[str, float], *,
                     iou: float = 0.5) -> np.ndarray:
    """(C + 1) x (C + 1) counts: rows the true class, columns the predicted one, the last of each
    being `BACKGROUND` (see the module docstring). Ground truth of other classes is left out."""
    names = [c.lower() for c in class_names]
    index = {c: i for i, c in enumerate(names)}
    bg = len(names)
    matrix = np.zeros((bg + 1, bg + 1), dtype=np.int64)
    lowered = {k.lower(): v for k, v in thresholds.items()}
    for gt, det in zip(truth, detections):
        det = kept(det, lowered)
        g_keep = np.flatnonzero(np.isin(gt.classes, names))
        g_cls = np.array([index[c] for c in gt.classes[g_keep]], dtype=np.int64)
        d_cls = np.array([index.get(c, -1) for c in det.classes], dtype=np.int64)
        d_keep = np.flatnonzero(d_cls >= 0)
        d_cls = d_cls[d_keep]
        overlap = iou_matrix(det.boxes[d_keep], gt.boxes[g_keep])
        d_free = np.ones(len(d_keep), dtype=bool)
        g_free = np.ones(len(g_keep), dtype=bool)
        pairs = np.argwhere(overlap >= iou)
        for d, g in pairs[np.argsort(-overlap[pairs[:, 0], pairs[:, 1]], kind="stable")]:
            if d_free[d] and g_free[g]:
                d_free[d] = g_free[g] = False
                matrix[g_cls[g], d_cls[d]] += 1
        np.add.at(matrix, (g_cls[g_free], bg), 1)
        np.add.at(matrix, (bg, d_cls[d_free]), 1)
    return matrix


def worst_images(outcomes: Sequence[ImageOutcome], by: str = MISSED, count: int = 12) -> list[int]:
    """Indices of the `count` images with the most missed objects (`by=MISSED`) or false positives
    (`by=FP`), worst first (ties: more of the other error, then image order); images without that
    error are left out."""
    if by not in (MISSED, FP):
        raise ValueError(f"by must be {MISSED!r} or {FP!r}, not {by!r}")
    first = [o.missed if by == MISSED else o.false_positives for o in outcomes]
    second = [o.false_positives if by == MISSED else o.missed for o in outcomes]
    order = sorted((i for i in range(len(outcomes)) if first[i] > 0), key=lambda i: (-first[i], -second[i], i))
    return order[:count]
