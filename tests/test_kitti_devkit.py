"""KITTI_R40 / KITTI_R11: the devkit's rules on hand-made cases, and (when its source is at hand) the
official evaluate_object.cpp itself on thousands of random and adversarial images.

The devkit source is not redistributable, so it is not in the repository: put evaluate_object.cpp and
mail.h in bench/results/kitti_devkit/ or point $KITTI_DEVKIT_DIR at them (`make devkit` installs g++
and the Boost headers); without them the cross-check is skipped, saying why."""

from __future__ import annotations

import importlib.util
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from jupyter_tlt.metrics import evaluate_detection
from jupyter_tlt.metrics.boxes import Detections, GroundTruth
from jupyter_tlt.metrics.kitti_devkit import get_thresholds

ROOT = Path(__file__).resolve().parent.parent


def _ap(gts, dets, classes=("car",), mode="KITTI_R11", levels=("easy", "moderate", "hard")):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_detection(gts, dets, list(classes), mode=mode, difficulties=levels)


def _copies(gt, det, n=41):
    return [gt] * n, [det] * n


def test_iou_exactly_at_the_threshold_is_no_match():
    # pedestrian threshold 0.5: a box shifted by a third of its width has IoU exactly 0.5
    gt = GroundTruth([[0, 0, 30, 60]], ["pedestrian"])
    at = Detections([[10, 0, 40, 60]], ["pedestrian"], [0.9])
    above = Detections([[9, 0, 39, 60]], ["pedestrian"], [0.9])
    assert _ap(*_copies(gt, at), classes=["pedestrian"]).ap["pedestrian"]["easy"] == 0.0
    assert _ap(*_copies(gt, above), classes=["pedestrian"]).ap["pedestrian"]["easy"] == 1.0
    # SAMPLE keeps TAO's >= rule
    assert _ap(*_copies(gt, at), classes=["pedestrian"], mode="SAMPLE").ap["pedestrian"]["easy"] == 1.0


def test_height_limits_truncate_detection_heights_like_the_devkit():
    # ground truth 60 px counts everywhere; detections 24.9 px (int 24) are ignored at moderate,
    # 25.9 px (int 25) are not: a detection elsewhere is then a false positive
    gt = GroundTruth([[0, 0, 30, 60]], ["car"])
    hit = [0, 0, 30, 60]
    for height, fp_counts in ((24.9, False), (25.9, True)):
        det = Detections([hit, [100, 0, 120, height]], ["car", "car"], [0.5, 0.9])
        m = _ap(*_copies(gt, det), mode="KITTI_R40")
        assert (m.ap["car"]["moderate"] < 1.0) == fp_counts


def test_small_detection_of_another_class_can_take_a_box():
    # the devkit ignores every detection below the minimum height, whatever its class, yet lets it
    # take a box; to find thresholds it takes the highest score: a small pedestrian box scoring
    # above the car's takes the car, so no TP score (and no threshold) comes from that car
    gt = GroundTruth([[0, 0, 30, 30]], ["car"])  # 30 px: moderate, not easy
    car = [0, 0, 30, 30]
    alone = Detections([car], ["car"], [0.5])
    with_small = Detections([car, [0, 0, 30, 24]], ["car", "pedestrian"], [0.5, 0.9])
    assert _ap(*_copies(gt, alone), levels=("moderate",), mode="KITTI_R40").ap["car"]["moderate"] == 1.0
    assert _ap(*_copies(gt, with_small), levels=("moderate",), mode="KITTI_R40").ap["car"]["moderate"] == 0.0


def test_dontcare_swallows_only_unmatched_counted_detections():
    gt = GroundTruth([[0, 0, 50, 50], [200, 0, 300, 100]], ["car", "dontcare"])
    det = Detections([[0, 0, 50, 50], [210, 10, 290, 90]], ["car", "car"], [0.5, 0.9])
    assert _ap(*_copies(gt, det)).ap["car"]["easy"] == 1.0
    outside = Detections([[0, 0, 50, 50], [310, 10, 390, 90]], ["car", "car"], [0.5, 0.9])
    assert _ap(*_copies(gt, outside)).ap["car"]["easy"] < 1.0


def test_neighbour_classes_are_kitti_names():
    # a van found as a car is neither a hit nor a false positive for car
    gt = GroundTruth([[0, 0, 50, 50], [100, 0, 150, 50]], ["car", "van"])
    det = Detections([[0, 0, 50, 50], [100, 0, 150, 50]], ["car", "car"], [0.5, 0.9])
    assert _ap(*_copies(gt, det)).ap["car"]["easy"] == 1.0
    assert _ap(*_copies(gt, det), mode="KITTI_R40").ap["car"]["easy"] == 1.0


def test_get_thresholds_samples_recall_in_fortieths():
    assert len(get_thresholds(np.linspace(1, 0.01, 100), 100)) == 41
    assert get_thresholds(np.array([0.9, 0.8]), 3).tolist() == [0.9, 0.8]
    assert len(get_thresholds(np.zeros(0), 5)) == 0


# --- the official devkit ------------------------------------------------------------------------

def _bench():
    spec = importlib.util.spec_from_file_location("kitti_devkit_bench", ROOT / "bench" / "kitti_devkit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_matches_the_official_devkit(tmp_path):
    bench = _bench()
    source = Path(os.environ.get("KITTI_DEVKIT_DIR", bench.DEFAULT_DEVKIT))
    if not bench.devkit_available(source):
        pytest.skip(f"KITTI devkit source not found in {source} (not redistributable; see "
                    "bench/kitti_devkit.py for where to get it)")
    if shutil.which("g++") is None or not Path("/usr/include/boost").is_dir():
        pytest.skip("g++ or the Boost headers are missing: make devkit")
    binary = bench.build(source, tmp_path / "build")
    for seed in (11, 12):
        result = bench.compare(binary, 400, seed, repeats=1)
        assert result["max_diff"] <= 1e-4, result["diffs"]
        assert any(v[1] > 5.0 for v in result["theirs"].values())  # the cases are not all zero
