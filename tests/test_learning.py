"""The detector learns (not just runs), and a fifth class can be added to a trained 4-class detector
without losing the shared classes' AP. Evaluated on the training frames: these tests show fitting
and weight transfer, not generalisation (bench/train_detect.py measures that)."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.kitti import read_labels, write_labels
from jupyter_tlt.evaluate import evaluate
from jupyter_tlt.train import train
from train_fixtures import CLASSES, detection_records, detection_spec

SIZE = dict(width=256, height=160)
SHARED = ("cyclist", "pedestrian", "road_sign")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("learn")
    records = detection_records(root, n=20, width=256, height=160, seed=21)
    spec = detection_spec(records, epochs=30, lr=3e-3, batch=4, **SIZE).replace(
        "validation_period_during_training: 1", "validation_period_during_training: 30")
    result = train(spec, root / "run", progress=False)
    metrics = evaluate("detection", result.model_path, use_training_set=True, progress=False).metrics
    return root, result, metrics


def test_a_tiny_detector_learns(trained):
    _, _, metrics = trained
    # measured: easy mAP 55%, moderate 38%, cyclist and pedestrian easy AP 100% and 95%
    assert metrics.mAP["easy"] > 0.35, metrics.format_table()
    assert metrics.mAP["moderate"] > 0.25, metrics.format_table()
    assert max(metrics.ap[c]["easy"] for c in CLASSES) > 0.6, metrics.format_table()


def test_adding_a_fifth_class_keeps_the_shared_classes(trained):
    root, four, before = trained
    five = root / "five"
    shutil.copytree(root / "kitti", five / "kitti")
    for path in (five / "kitti" / "label_2").glob("*.txt"):
        objects = read_labels(path)
        # side views of cars (wide boxes) become a new class, "van"
        write_labels(path, [replace(o, type="van")
                            if o.type == "car" and o.box_width > 2.2 * o.box_height else o
                            for o in objects])
    dataset_convert(f'kitti_config {{ root_directory_path: "{five}/kitti" image_dir_name: "image_2" '
                    'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" '
                    'num_partitions: 2 val_split: 25 num_shards: 1 }', five / "records" / "kitti",
                    progress=False, workers=1)
    spec = detection_spec(f"{five}/records/kitti-fold-*", epochs=3, lr=3e-4, batch=4,
                          classes=(*CLASSES, "van"), pretrained=str(four.model_path), **SIZE)
    result = train(spec, five / "run", progress=False)
    assert "new: van" in result.transfer, result.transfer
    after = evaluate("detection", result.model_path, use_training_set=True, progress=False).metrics
    # an AP over one or two boxes is 0 or 100: compare the classes with enough boxes in both runs
    counted = [c for c in SHARED if min(before.num_ground_truth[c]["moderate"],
                                        after.num_ground_truth[c]["moderate"]) >= 3]
    assert len(counted) >= 2, (before.num_ground_truth, after.num_ground_truth)
    for c in counted:
        assert after.ap[c]["moderate"] >= 0.8 * before.ap[c]["moderate"] - 0.05, (
            c, before.format_table(), after.format_table())
