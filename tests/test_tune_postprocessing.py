"""Post-processing tuning: on hand-made grids where DBSCAN's default eps splits every object in two,
the search finds a merging eps and mAP rises; the best config is written into a spec that loads back."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_tlt.tasks.detectnet_v2.postprocess import PostprocessConfig
from jupyter_tlt.metrics.boxes import GroundTruth
from jupyter_tlt.spec import load_experiment_spec
from jupyter_tlt.tasks.detectnet_v2.task import DetectionTask
from jupyter_tlt.tuning.postprocessing import RawOutputs, score, search, with_postprocessing

SPEC = """
dataset_config { data_sources { tfrecords_path: "unused-*" }
  target_class_mapping { key: "car" value: "car" } validation_fold: 0 }
augmentation_config { preprocessing { output_image_width: 256 output_image_height: 128 } }
model_config { arch: "resnet" num_layers: 10 }
postprocessing_config { target_class_config { key: "car" value { clustering_config {
  coverage_threshold: 0.005 minimum_bounding_box_height: 20 dbscan_eps: 0.13 } } } }
"""
GT = np.array([64.0, 32.0, 128.0, 96.0])  # x1, y1, x2, y2: 64 px high, "moderate" in KITTI's terms


def split_objects(images: int = 6, scale: float = 35.0):
    """Grids (stride 16) whose object cells predict the true box shifted 8 px left or right, alternately:
    the two halves overlap with IoU 0.6, so eps 0.13 keeps them as two boxes (one a duplicate)."""
    cov = np.zeros((images, 8, 16, 1), np.float32)
    bbox = np.zeros((images, 8, 16, 4), np.float32)
    for row in range(2, 6):
        for col in range(4, 8):
            shift = 8.0 if (row + col) % 2 else -8.0
            box = GT + np.array([shift, 0, shift, 0])
            centre = np.array([(col + 0.5) * 16, (row + 0.5) * 16] * 2)
            cov[:, row, col, 0] = 0.9
            bbox[:, row, col] = (box - centre) / scale
    truth = [GroundTruth(boxes=GT[None], classes=np.array(["car"]), image_size=(256, 128))
             for _ in range(images)]
    return RawOutputs([cov], [bbox], [np.ones(images, np.float32)], truth)


def test_tuning_merges_split_objects_and_raises_map():
    spec = load_experiment_spec(SPEC)
    task = DetectionTask(spec, ["car"])
    raw = split_objects()
    config = PostprocessConfig.from_spec(spec, ["car"])
    before = score(task, raw, config, "moderate")
    assert before < 0.75  # every image has one duplicate box scored like the true one
    best, start, after, rows = search(task, raw, config, trials=40, level="moderate", seed=1)
    assert start == pytest.approx(before) and rows[0]["car.dbscan_eps"] == pytest.approx(0.13)
    assert after >= 0.99 > before
    assert best.classes[0].dbscan_eps > 0.4  # 1 - IoU between the halves is 0.4
    assert score(task, raw, best, "moderate") == pytest.approx(after)

    text = with_postprocessing(spec, best)
    reloaded = PostprocessConfig.from_spec(load_experiment_spec(text), ["car"])
    assert reloaded.classes[0].dbscan_eps == pytest.approx(best.classes[0].dbscan_eps)
    assert score(task, raw, reloaded, "moderate") == pytest.approx(after)
    assert load_experiment_spec(text).model_config.arch == "resnet"  # the rest of the spec is kept


def test_search_never_returns_worse_than_the_spec():
    spec = load_experiment_spec(SPEC.replace("dbscan_eps: 0.13", "dbscan_eps: 0.5"))
    task = DetectionTask(spec, ["car"])
    config = PostprocessConfig.from_spec(spec, ["car"])
    best, before, after, _ = search(task, split_objects(), config, trials=3, level="moderate")
    assert after >= before and score(task, split_objects(), best, "moderate") == pytest.approx(after)


def test_cli_step_on_a_model_file_writes_the_spec_and_refuses_bad_input(tmp_path, capsys):
    """End to end on a real (untrained) DetectNet_v2 file and real TFRecords: the network runs once,
    the spec is written; an untrained model gains nothing, so its stored spec stays as it was."""
    from jupyter_tlt import cli
    from jupyter_tlt.model_info import read_info
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet
    from train_fixtures import detection_records, detection_spec

    records = detection_records(tmp_path / "data", n=12)
    spec = detection_spec(records, classes=("car", "pedestrian"))
    model = tmp_path / "weights" / "model.keras"
    save_model(build_detectnet("resnet", 10, (64, 96, 3), 2), model,
               info={"task": "detection", "class_names": ["car", "pedestrian"], "spec": spec})
    out = tmp_path / "tuned.txt"
    assert cli.main(["tune_postprocessing", "-m", str(model), "-o", str(out), "--trials", "5",
                     "--level", "all"]) == 0
    printed = capsys.readouterr().out
    assert "post-processing tuning, 5 trials" in printed and f"best spec written to {out}" in printed
    tuned = load_experiment_spec(out.read_text())
    assert set(tuned.postprocessing_config.target_class_config) == {"car", "pedestrian"}
    assert read_info(model)["spec"] == spec  # no gain: the model's spec is left alone
    for extra, message in [(["--trials", "0"], "--trials: 0 trials is no search"),
                           (["-o", str(out)], "already exists")]:
        assert cli.main(["tune_postprocessing", "-m", str(model), "--level", "all"] + extra) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def square_records(root, labelled: bool = True) -> str:
    """8 frames of 96x64 whose labels are the 24 squares of the 16 px grid (none when not ``labelled``),
    converted to TFRecords under ``root``; returns their glob."""
    from PIL import Image

    from jupyter_tlt.data.convert import dataset_convert

    kitti = root / "kitti"
    (kitti / "image_2").mkdir(parents=True)
    (kitti / "label_2").mkdir()
    squares = [(16 * c, 16 * r, 16 * c + 16, 16 * r + 16) for r in range(4) for c in range(6)] if labelled else []
    for i in range(8):
        Image.new("RGB", (96, 64), (40 * i % 255, 90, 120)).save(kitti / "image_2" / f"{i:06d}.jpg")
        (kitti / "label_2" / f"{i:06d}.txt").write_text("".join(
            f"car 0.00 0 0.0 {x1}.00 {y1}.00 {x2}.00 {y2}.00 1.5 1.6 3.9 0.0 1.5 20.0 0.0\n"
            for x1, y1, x2, y2 in squares))
    dataset_convert(f'kitti_config {{ root_directory_path: "{kitti}" image_dir_name: "image_2" '
                    'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" '
                    'num_partitions: 2 val_split: 50 num_shards: 1 }', root / "records" / "kitti",
                    progress=False, workers=1)
    return f"{root}/records/kitti-fold-*"


def square_model(path, spec: str) -> None:
    """A real model file whose heads ignore the image (zero kernels, set biases): every 16 px cell
    predicts its own 16x16 square with coverage 0.9."""
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet

    model = build_detectnet("resnet", 10, (64, 96, 3), 1)
    cov, bbox = model.get_layer("output_cov"), model.get_layer("output_bbox")
    cov.set_weights([np.zeros_like(cov.get_weights()[0]), np.full(1, np.log(0.9 / 0.1), np.float32)])
    bbox.set_weights([np.zeros_like(bbox.get_weights()[0]), np.array([-8, -8, 8, 8], np.float32) / 35.0])
    save_model(model, path, info={"task": "detection", "class_names": ["car"], "spec": spec,
                                  "input_shape": [3, 64, 96]})


def test_cli_tuning_gains_on_a_hand_made_model_and_updates_its_stored_spec(tmp_path, capsys):
    """The hand-made model (``square_model``) on frames labelled with exactly its squares. The spec's
    minimum_bounding_box_height of 20 drops every box (mAP 0); tuning finds a height <= 16."""
    from jupyter_tlt import cli
    from jupyter_tlt.model_info import read_info
    from train_fixtures import detection_spec

    records = square_records(tmp_path)
    spec = detection_spec(records, classes=("car",)).replace(
        "minimum_bounding_box_height: 2 ", "minimum_bounding_box_height: 20 ")
    path = tmp_path / "weights" / "model.keras"
    square_model(path, spec)
    out = tmp_path / "tuned.txt"
    assert cli.main(["tune_postprocessing", "-m", str(path), "-o", str(out), "--trials", "30",
                     "--level", "all", "--seed", "2"]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "mAP (all) 0.00 -> " in printed and f"spec stored in {path} updated" in printed, printed
    tuned = load_experiment_spec(out.read_text())
    height = tuned.postprocessing_config.target_class_config["car"].clustering_config.minimum_bounding_box_height
    assert height <= 16
    stored = load_experiment_spec(read_info(path)["spec"])
    assert stored.postprocessing_config.target_class_config["car"].clustering_config.minimum_bounding_box_height == height
    after = float(printed.split("mAP (all) 0.00 -> ")[1].split()[0])
    assert after > 50  # percent


def test_validation_records_tune_on_other_frames_and_keep_the_spec_dataset(tmp_path, capsys):
    """The spec's own frames carry no labels (nothing to gain there); --validation_records names frames
    labelled with the model's squares: the search runs on those and gains, and the written spec still
    validates on the spec's own data. The Python argument does the same; a glob matching nothing is
    one line and exit 2."""
    from jupyter_tlt import cli
    from jupyter_tlt.tuning.postprocessing import tune_postprocessing
    from train_fixtures import detection_spec

    own = square_records(tmp_path / "own", labelled=False)
    tuning = square_records(tmp_path / "tuning")
    spec = detection_spec(own, classes=("car",)).replace(
        "minimum_bounding_box_height: 2 ", "minimum_bounding_box_height: 20 ")
    path = tmp_path / "weights" / "model.keras"
    square_model(path, spec)
    out = tmp_path / "tuned.txt"
    assert cli.main(["tune_postprocessing", "-m", str(path), "-o", str(out), "--trials", "30", "--level", "all",
                     "--seed", "2", "--validation_records", tuning, "--no_update_model"]) == 0, \
        capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "mAP (all) 0.00 -> " in printed and float(printed.split("mAP (all) 0.00 -> ")[1].split()[0]) > 50
    written = load_experiment_spec(out.read_text())
    assert not written.dataset_config.HasField("validation_data_source")
    assert list(written.dataset_config.data_sources)[0].tfrecords_path == own
    same = tune_postprocessing(path, output_spec=tmp_path / "py.txt", trials=30, level="all", seed=2,
                               validation_records=tuning, update_model=False)
    assert same.after > 0.5 and same.before == 0.0
    missing = str(tmp_path / "nothing" / "kitti-fold-*")
    assert cli.main(["tune_postprocessing", "-m", str(path), "-o", str(tmp_path / "x.txt"),
                     "--validation_records", missing]) == 2
    err = capsys.readouterr().err
    assert f"--validation_records {missing}: no TFRecord files match" in err and len(err.strip().splitlines()) == 1
