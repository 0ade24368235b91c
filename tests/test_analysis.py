"""Error analysis and confidence thresholds on hand-made cases (no model involved)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from google.protobuf import text_format
from PIL import Image

from jupyter_tlt.tasks.detectnet_v2 import confidence
from jupyter_tlt.drawing.boxes import OUTCOME_COLORS, LabelledBox, draw_boxes, font_size, outcome_boxes
from jupyter_tlt.errors import SpecError
from jupyter_tlt.metrics import Detections, GroundTruth, evaluate_detection
from jupyter_tlt.metrics.analysis import (FP, MISSED, TP, best_f1_threshold, confidence_curve, confusion_matrix,
                                          image_outcome, worst_images)
from jupyter_tlt.spec.protos import experiment_pb2

CLASSES = ["car", "pedestrian"]
IOU = {"car": 0.7, "pedestrian": 0.5}


def _gt(boxes, classes, name=""):
    return GroundTruth(boxes=np.array(boxes, dtype=float).reshape(-1, 4), classes=classes, name=name)


def _det(boxes, classes, scores, name=""):
    return Detections(np.array(boxes, dtype=float).reshape(-1, 4), classes, scores, name=name)


def test_best_f1_threshold_from_a_pr_curve():
    # 4 cars; detections by score: hit 0.9, hit 0.8, miss 0.6, hit 0.4, miss 0.3
    # F1 after each: 2/5=0.4, 4/6=0.667, 4/7=0.571, 6/8=0.75, 6/9=0.667 -> best at 0.4
    cars = [[i * 20, 0, i * 20 + 10, 10] for i in range(4)]
    truth = [_gt(cars, ["car"] * 4)]
    dets = [_det([cars[0], cars[1], [100, 100, 110, 110], cars[2], [200, 200, 210, 210]], ["car"] * 5,
                 [0.9, 0.8, 0.6, 0.4, 0.3])]
    metrics = evaluate_detection(truth, dets, ["car"], difficulties=("all",))
    curve = confidence_curve(metrics.curves["car"]["all"])
    np.testing.assert_allclose(curve.thresholds, [0.9, 0.8, 0.6, 0.4, 0.3])
    np.testing.assert_allclose(curve.f1, [0.4, 2 / 3, 4 / 7, 0.75, 2 / 3])
    assert best_f1_threshold(curve) == pytest.approx(0.4)
    entry = confidence.choose(metrics, None)
    assert entry["by_class"] == {"car": pytest.approx(0.4)} and entry["level"] == "all"


def test_tied_scores_are_one_threshold_and_no_hit_means_none():
    truth = [_gt([[0, 0, 10, 10]], ["car"])]
    dets = [_det([[50, 50, 60, 60], [0, 0, 10, 10]], ["car", "car"], [0.5, 0.5])]
    with pytest.warns(UserWarning, match="no ground truth"):
        metrics = evaluate_detection(truth, dets, ["car", "pedestrian"], difficulties=("all",))
    curve = confidence_curve(metrics.curves["car"]["all"])
    assert list(curve.thresholds) == [0.5] and curve.precision[0] == 0.5 and curve.recall[0] == 1.0
    assert best_f1_threshold(confidence_curve(metrics.curves["pedestrian"]["all"])) is None


def test_outcome_colours_tp_fp_missed():
    truth = _gt([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 20], [60, 0, 70, 10]],
                ["car", "car", "pedestrian", "van"], name="frame")
    dets = _det([[0, 0, 10, 10],      # car hit
                 [0, 0, 10, 9.5],     # duplicate of the same car: FP
                 [20, 0, 27, 10],     # car IoU 0.7 -> hit (>= threshold)
                 [40, 0, 50, 10],     # pedestrian IoU 0.5 -> hit
                 [60, 0, 70, 10],     # a "car" on the van: FP (van is another class)
                 [80, 0, 90, 10]],    # pedestrian scored below its threshold: not kept
                ["car", "car", "car", "pedestrian", "car", "pedestrian"], [0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    outcome = image_outcome(truth, dets, CLASSES, IOU, {"car": 0.2, "pedestrian": 0.3})
    assert list(outcome.detection_outcome) == [TP, FP, TP, TP, FP]
    assert list(outcome.truth_outcome) == [TP, TP, TP, ""]
    assert (outcome.true_positives, outcome.false_positives, outcome.missed) == (3, 2, 0)
    # raise the car threshold: the 0.7 hit goes, its car is missed
    outcome = image_outcome(truth, dets, CLASSES, IOU, {"car": 0.75})
    assert list(outcome.truth_outcome) == [TP, MISSED, TP, ""]
    assert list(outcome.detection_outcome) == [TP, FP, TP, FP]  # pedestrians: no threshold, both kept
    boxes = outcome_boxes(outcome)
    assert [b.color for b in boxes if b.dashed and b.label] == [OUTCOME_COLORS[MISSED]]
    assert sum(b.color == OUTCOME_COLORS[FP] for b in boxes) == 2


def test_confusion_matrix_with_background():
    truth = [_gt([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [0, 50, 10, 60]],
                 ["car", "car", "pedestrian", "dontcare"]),
             _gt([[0, 0, 10, 10]], ["pedestrian"])]
    dets = [_det([[0, 0, 10, 10],     # car as car
                  [20, 0, 30, 10],    # car as pedestrian
                  [100, 0, 110, 10],  # pedestrian on nothing -> background row
                  [40, 0, 50, 10]],   # pedestrian below threshold: dropped, so that one is missed
                 ["car", "pedestrian", "pedestrian", "pedestrian"], [0.9, 0.8, 0.7, 0.1]),
            _det([[1, 0, 10, 10]], ["car"], [0.9])]  # pedestrian detected as car (IoU 0.9)
    m = confusion_matrix(truth, dets, CLASSES, {"pedestrian": 0.5})
    #                      car ped background
    np.testing.assert_array_equal(m, [[1, 1, 0],
                                      [1, 0, 1],
                                      [0, 1, 0]])


def test_worst_images_order():
    truth = [_gt([[0, 0, 10, 10]] * n, ["car"] * n, name=str(n)) for n in (0, 2, 1, 2)]
    dets = [_det([[50, 50, 60, 60]] * k, ["car"] * k, [0.5] * k) for k in (1, 0, 3, 1)]
    outcomes = [image_outcome(g, d, ["car"], IOU, {}) for g, d in zip(truth, dets)]
    assert worst_images(outcomes, MISSED) == [3, 1, 2]   # 2 missed + 1 FP before 2 missed + 0 FP
    assert worst_images(outcomes, FP, count=2) == [2, 3]
    with pytest.raises(ValueError):
        worst_images(outcomes, "tp")


def test_threshold_precedence(tmp_path):
    spec = text_format.Parse("""
postprocessing_config {
  target_class_config { key: "car" value { clustering_config { dbscan_confidence_threshold: 0.3 } } }
  target_class_config { key: "pedestrian" value { clustering_config { coverage_threshold: 0.1 } } }
}""", experiment_pb2.ExperimentSpec())
    t = confidence.resolve(["car", "pedestrian", "cyclist"], spec=spec,
                           evaluated={"car": 0.9, "pedestrian": 0.6, "cyclist": None})
    assert t.values == {"car": 0.3, "pedestrian": 0.6, "cyclist": None}
    assert t.sources == {"car": confidence.SPEC, "pedestrian": confidence.EVALUATION, "cyclist": confidence.NONE}
    assert t.active() == {"car": 0.3, "pedestrian": 0.6}
    assert "cyclist: every candidate (none)" in t.describe()
    flag = confidence.resolve(["car"], override=0.5, spec=spec, evaluated={"car": 0.9})
    assert flag.values == {"car": 0.5} and flag.sources == {"car": confidence.FLAG}
    with pytest.raises(SpecError, match="confidence_threshold"):
        confidence.resolve(["car"], override=-1.0)


def test_stored_thresholds_belong_to_their_model(tmp_path):
    model, other = tmp_path / "model.keras", tmp_path / "other.keras"
    model.write_bytes(b"weights one")
    other.write_bytes(b"weights two")
    (tmp_path / "evaluate").mkdir()
    entry = {"by_class": {"car": 0.42}, "model_sha256": confidence.file_digest(model)}
    (tmp_path / "evaluate" / "metrics.json").write_text(json.dumps({confidence.METRICS_KEY: entry}))
    assert confidence.stored(model, tmp_path / "evaluate") == {"car": 0.42}
    assert confidence.stored(other, tmp_path / "evaluate") == {}
    assert confidence.stored(model, tmp_path / "nowhere") == {}


def test_labels_do_not_overlap_and_scale_with_the_image():
    assert font_size(1248, 384) > font_size(256, 160) >= 10
    image = Image.new("RGB", (320, 200))
    # ten boxes stacked on the same spot: at most four label places exist around it
    boxes = [LabelledBox([100, 80, 180, 140], f"car 0.{i}", (31, 119, 180), priority=i) for i in range(10)]
    skipped = draw_boxes(image, boxes)
    assert 0 < skipped <= 8
    # boxes apart: every label finds a place
    apart = [LabelledBox([10 + 100 * i, 60, 90 + 100 * i, 120], "pedestrian 0.9", (255, 127, 14)) for i in range(3)]
    assert draw_boxes(Image.new("RGB", (320, 200)), apart) == 0
