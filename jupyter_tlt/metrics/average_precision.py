"""Precision/recall curves and average precision, in the modes users of TAO and COCO know.

- SAMPLE (DetectNet_v2's default, PASCAL VOC 2007): the mean, over the 11 recall points
  linspace(0, 1, 11), of the highest precision at a recall >= that point (0 where none).
- INTEGRATE (VOC 2010 and later): the area under the precision envelope (precision made
  non-increasing in recall) over the recall values reached.
- COCO101: what pycocotools' `accumulate` does, 101 recall points linspace(0, 1, 101) read off the
  envelope; there so our numbers can be checked exactly against pycocotools.
- KITTI_R40 / KITTI_R11: the KITTI benchmark's own numbers (40 recall points since 2019, 11 before).
  They are not functions of one PR curve (the devkit matches and counts per score threshold), so
  `evaluate_detection` computes them in `kitti_devkit.py`; `average_precision` refuses them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AP_MODES", "SPEC_AP_MODES", "normalize_mode", "precision_recall", "precision_envelope",
           "average_precision"]

AP_MODES = ("SAMPLE", "INTEGRATE", "COCO101", "KITTI_R40", "KITTI_R11")
SPEC_AP_MODES = ("SAMPLE", "INTEGRATE", "KITTI_R40", "KITTI_R11")
"""The spec's `average_precision_mode` enum, in the order of its values (experiment.proto)."""
_SAMPLE_POINTS = {"SAMPLE": 11, "COCO101": 101}


def normalize_mode(mode: str | int) -> str:
    """"sample" / "SAMPLE" / 0 (the spec's enum value) -> "SAMPLE"; likewise INTEGRATE (1),
    KITTI_R40 (2), KITTI_R11 (3) and COCO101 (by name only)."""
    if isinstance(mode, (int, np.integer)) and not isinstance(mode, bool) and 0 <= mode < len(SPEC_AP_MODES):
        return SPEC_AP_MODES[int(mode)]
    name = str(mode).upper()
    if name not in AP_MODES:
        raise ValueError(f"unknown average precision mode {mode!r}; use one of "
                         f"{', '.join(AP_MODES)} (SAMPLE: 11-point, INTEGRATE: area under the curve, "
                         "KITTI_R40 / KITTI_R11: the KITTI benchmark's)")
    return name


def precision_recall(tp: np.ndarray, fp: np.ndarray, num_ground_truth: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each detection, from true/false-positive flags of the counted
    detections sorted by descending score. Recall is 0 everywhere when there is no ground truth."""
    tp_sum = np.cumsum(np.asarray(tp, dtype=bool), dtype=np.float64)
    fp_sum = np.cumsum(np.asarray(fp, dtype=bool), dtype=np.float64)
    total = tp_sum + fp_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(total > 0, tp_sum / total, 0.0)
    recall = tp_sum / num_ground_truth if num_ground_truth > 0 else np.zeros_like(tp_sum)
    return precision, recall


def precision_envelope(precision: np.ndarray) -> np.ndarray:
    """Precision made non-increasing in recall: at each point, the highest precision at it or after."""
    precision = np.asarray(precision, dtype=np.float64)
    if len(precision) == 0:
        return precision
    return np.maximum.accumulate(precision[::-1])[::-1]


def sample_envelope(precision: np.ndarray, recall: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The envelope's precision at each recall point: the highest precision at recall >= point
    (0 beyond the highest recall reached). `recall` must be non-decreasing."""
    envelope = precision_envelope(precision)
    idx = np.searchsorted(np.asarray(recall, dtype=np.float64), points, side="left")
    if len(envelope) == 0:
        return np.zeros(len(points))
    return np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)


def average_precision(precision: np.ndarray, recall: np.ndarray, mode: str | int = "SAMPLE") -> float:
    """Average precision (0..1) of a curve whose recall is non-decreasing (detections sorted by
    descending score), in `mode` SAMPLE, INTEGRATE or COCO101 (see the module docstring)."""
    mode = normalize_mode(mode)
    if mode.startswith("KITTI_"):
        raise ValueError(f"{mode} is not a function of one precision-recall curve; compute it with "
                         f"evaluate_detection(..., mode={mode!r})")
    precision = np.asarray(precision, dtype=np.float64)
    recall = np.asarray(recall, dtype=np.float64)
    if len(precision) == 0:
        return 0.0
    if mode == "INTEGRATE":
        envelope = precision_envelope(precision)
        widths = np.diff(recall, prepend=0.0)
        return float(np.sum(widths * envelope))
    points = np.linspace(0.0, 1.0, _SAMPLE_POINTS[mode])
    return float(np.mean(sample_envelope(precision, recall, points)))
