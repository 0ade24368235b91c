"""Evaluation metrics: detection AP with KITTI difficulty levels, and classification accuracy.

Pure numpy (no TensorFlow): `evaluate_detection` for `tlt evaluate` on a detector and for the mAP
validation during training, `evaluate_classification` for classifiers. Results are dataclasses with
`to_frame()`, `format_table()`, `to_dict()` and `_repr_html_`.
"""

from .average_precision import AP_MODES, average_precision, precision_recall
from .boxes import Detections, GroundTruth
from .classification import ClassificationMetrics, evaluate_classification
from .detection import DEFAULT_NEIGHBOURS, LEVELS, DetectionMetrics, PRCurve, evaluate_detection
from .matching import iou_matrix, match_greedy, overlap_of_first

__all__ = [
    "AP_MODES", "LEVELS", "DEFAULT_NEIGHBOURS",
    "GroundTruth", "Detections",
    "evaluate_detection", "DetectionMetrics", "PRCurve",
    "evaluate_classification", "ClassificationMetrics",
    "average_precision", "precision_recall", "iou_matrix", "overlap_of_first", "match_greedy",
]
