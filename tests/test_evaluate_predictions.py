"""Evaluating folders of KITTI result files: lenient reading, pairing, the CLI, and the round trip
`tlt infer` -> `tlt evaluate --predictions` == `tlt evaluate -m` (real TensorFlow, tiny data)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from jupyter_tlt.errors import DataError
from jupyter_tlt.evaluate import evaluate, evaluate_predictions
from jupyter_tlt.metrics import evaluate_detection
from jupyter_tlt.metrics.kitti_results import load_result_dirs, read_result_file, result_line, unknown_3d

BIN = Path(sys.executable).parent
GT = ("Car 0.00 0 -1.58 100.00 100.00 200.00 180.00 1.5 1.6 3.9 1.0 1.5 10.0 0.1\n"
      "Pedestrian 0.00 0 0.20 300.00 100.00 330.00 180.00 1.7 0.6 0.8 2.0 1.5 12.0 0.2\n"
      "DontCare -1 -1 -10 400.00 100.00 500.00 200.00 -1 -1 -1 -1000 -1000 -1000 -10\n")
# what real result files look like: unknown truncation/occlusion -1, alpha -10, 3D fields -1 / -1000
RESULTS = ("Car -1 -1 4.83 -5.78 101.00 199.00 181.00 -1 -1 -1 -1000 -1000 -1000 -10 0.9\n"
           "Car -1 -1 -10 98.00 99.00 201.00 181.00 -1 -1 -1 -1000 -1000 -1000 -10 0.8\n"
           "Pedestrian -1 -1 -10 420.00 110.00 450.00 190.00 -1 -1 -1 -1000 -1000 -1000 -10 0.7\n"
           "Pedestrian -1 -1 -10 640.00 10.00 700.00 90.00 -1 -1 -1 -1000 -1000 -1000 -10 0.6\n"
           "Car -1 -1 -10 50.00 50.00 50.00 90.00 -1 -1 -1 -1000 -1000 -1000 -10 0.5\n")


def _folders(tmp_path: Path, images: bool = False) -> tuple[Path, Path]:
    labels, results = tmp_path / "labels", tmp_path / "results"
    labels.mkdir()
    results.mkdir()
    for name in ("000001", "000002", "000003"):
        (labels / f"{name}.txt").write_text(GT)
    (results / "000001.txt").write_text(RESULTS)
    (results / "000002.txt").write_text(RESULTS)  # 000003: no result file, no detections
    if images:
        from PIL import Image

        (tmp_path / "images").mkdir()
        for name in ("000001", "000002"):
            Image.new("RGB", (600, 375)).save(tmp_path / "images" / f"{name}.png")
    return labels, results


def test_real_result_files_are_read_leniently_and_counted(tmp_path):
    labels, results = _folders(tmp_path, images=True)
    truth, dets, report = load_result_dirs(labels, results, tmp_path / "images")
    assert [d.name for d in dets] == ["000001", "000002", "000003"] and len(dets[2]) == 0
    # per file: the -5.78 box is clipped to 0, the one at x 640 (image 600 wide) is dropped, the
    # zero-width one is dropped as empty
    assert len(dets[0]) == 3 and dets[0].boxes[0, 0] == 0.0
    assert (report.clipped, report.dropped_outside, report.dropped_empty) == (2, 2, 2)
    assert report.missing_results == ["000003"]
    # without images nothing is clipped: negative coordinates are kept as written
    _, unclipped, report = load_result_dirs(labels, results)
    assert unclipped[0].boxes[0, 0] == -5.78 and report.dropped_outside == 0
    assert report.dropped_empty == 2 and len(unclipped[0]) == 4


def test_predictions_table_metrics_json_and_report(tmp_path):
    labels, results = _folders(tmp_path, images=True)
    with pytest.warns(UserWarning) as warned:
        result = evaluate_predictions(results, labels, mode="KITTI_R40", results_dir=tmp_path / "out",
                                      image_dir=tmp_path / "images")
    assert result.metrics.class_names == ["car", "pedestrian"]  # from the labels, DontCare excluded
    # car: per image with results, the clipped 0.9 box misses (IoU 0.49, a FP) and the 0.8 one hits
    # (0.95); the third image has none. TP scores [0.8, 0.8] of 3 boxes give 2 thresholds, both
    # 0.8, with precision 2 / 4: slots 0 and 1 hold 0.5, so R40 = 0.5 / 40
    assert result.metrics.ap["car"]["easy"] == pytest.approx(0.5 / 40)
    np.testing.assert_allclose(result.metrics.curves["car"]["easy"].precision[:3], [0.5, 0.5, 0.0])
    # pedestrian: the only detection lies in the DontCare region: neither TP nor FP
    assert result.metrics.ap["pedestrian"]["moderate"] == 0.0
    assert "KITTI_R40" in str(result)
    said = " ".join(str(w.message) for w in warned)  # shown as `warning: ...` lines (progress.step_warnings)
    assert "clipped" in said and "no result file" in said
    assert any("clipped" in w for w in result.metrics.warnings)
    saved = json.loads((tmp_path / "out" / "evaluate" / "metrics.json").read_text())
    assert saved["mode"] == "KITTI_R40" and saved["read"]["dropped_outside"] == 2
    assert (tmp_path / "out" / "evaluate" / "pr_curves.png").exists()
    only_car = evaluate_predictions(results, labels, classes=["Car"], mode="SAMPLE")
    assert only_car.metrics.class_names == ["Car"] and only_car.output_dir is None


def test_result_file_without_label_and_malformed_lines_are_clear_errors(tmp_path):
    labels, results = _folders(tmp_path)
    (results / "000009.txt").write_text(RESULTS)
    with pytest.raises(DataError, match=r"000009\.txt: result file without a label file"):
        load_result_dirs(labels, results)
    (results / "000009.txt").unlink()
    (results / "000002.txt").write_text(RESULTS + "Car -1 -1 -10 1 2 3 4 -1 -1 -1 -1000 -1000 -1000 -10\n")
    with pytest.raises(DataError, match=r"000002\.txt:6: a result line needs 16 fields but has 15"):
        load_result_dirs(labels, results)
    (results / "000002.txt").write_text("Car -1 -1 -10 1 2 x 4 -1 -1 -1 -1000 -1000 -1000 -10 0.5\n")
    with pytest.raises(DataError, match=r"000002\.txt:1: a field is not a number"):
        load_result_dirs(labels, results)
    # ground truth stays strict: -1 truncation on an object is refused, naming the line
    (results / "000002.txt").write_text(RESULTS)
    (labels / "000002.txt").write_text(GT.replace("Car 0.00 0", "Car -1 -1"))
    with pytest.raises(DataError, match=r"000002\.txt:1: truncation outside \[0, 1\]"):
        load_result_dirs(labels, results)


def test_result_line_round_trips_exact_doubles(tmp_path):
    box = (np.float32(10.123456), 0.1 + 0.2, 99.99999999, 120.0)
    line = result_line(unknown_3d("Car", box, np.float32(0.87654321)))
    fields = line.split()
    assert len(fields) == 16 and fields[1:4] == ["-1", "-1", "-10"] and fields[11:15] == ["-1000"] * 3 + ["-10"]
    (tmp_path / "a.txt").write_text(line + "\n")
    det = read_result_file(tmp_path / "a.txt")
    assert det.boxes[0].tolist() == [float(v) for v in box]
    assert det.scores[0] == float(np.float32(0.87654321))


def test_cli_predictions_exit_codes(tmp_path):
    labels, results = _folders(tmp_path)
    tlt = str(BIN / "tlt")
    ok = subprocess.run([tlt, "evaluate", "detection", "--predictions", str(results), "--labels", str(labels),
                         "--ap_mode", "kitti_r11", "-r", str(tmp_path / "run")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "class mAP" in ok.stdout and "KITTI_R11" in ok.stdout
    assert json.loads((tmp_path / "run" / "evaluate" / "metrics.json").read_text())["mode"] == "KITTI_R11"
    no_labels = subprocess.run([tlt, "evaluate", "detection", "--predictions", str(results)],
                               capture_output=True, text=True)
    assert no_labels.returncode == 2 and "--predictions needs --labels" in no_labels.stderr
    assert "Traceback" not in no_labels.stderr
    nothing = subprocess.run([tlt, "evaluate", "detection"], capture_output=True, text=True)
    assert nothing.returncode == 2 and "-m/--model_path" in nothing.stderr
    (results / "000007.txt").write_text(RESULTS)
    orphan = subprocess.run([tlt, "evaluate", "detection", "--predictions", str(results), "--labels",
                             str(labels)], capture_output=True, text=True)
    assert orphan.returncode == 2 and "000007.txt: result file without a label file" in orphan.stderr


def test_magic_uses_the_same_flags(tmp_path):
    from jupyter_tlt.commands import run

    labels, results = _folders(tmp_path)
    result = run(["evaluate", "detection", "--predictions", str(results), "--labels", str(labels),
                  "--ap_mode", "KITTI_R40", "--classes", "car"])
    assert result.metrics.mode == "KITTI_R40" and result.metrics.class_names == ["car"]


# --- round trip with a real model -------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from jupyter_tlt.train import train
    from train_fixtures import detection_records, detection_spec

    root = tmp_path_factory.mktemp("rt")
    # 384x256 frames (boxes above KITTI's height limits) for a 96x64 model: JPEGs decode at 1/4
    records = detection_records(root / "data", width=384, height=256)
    # a tiny model finds few boxes at KITTI's IoU limits: evaluate at 0.1 so that the mAP compared is
    # not 0 (the spec's thresholds go to both evaluations)
    overlap = "".join(f' minimum_detection_ground_truth_overlap {{ key: "{c}" value: 0.1 }}'
                      for c in ("car", "cyclist", "pedestrian", "road_sign"))
    spec = detection_spec(records, epochs=4).replace("evaluation_config {", "evaluation_config {" + overlap)
    result = train(spec, root / "run", progress=False)
    return root, records, result.model_path


def test_infer_then_evaluate_predictions_equals_evaluate_model(trained, tmp_path):
    from jupyter_tlt.infer import infer
    from jupyter_tlt.model_info import read_info

    root, records, model = trained
    kitti = Path(records.split("/records/")[0]) / "kitti"
    truth = evaluate("detection", model, progress=False, results_dir=tmp_path / "m").metrics
    val_names = _validation_frames(model)
    val_images, val_labels = tmp_path / "val_images", tmp_path / "val_labels"
    val_images.mkdir()
    val_labels.mkdir()
    for name in val_names:
        image = next((kitti / "image_2").glob(f"{name}.*"))
        shutil.copy(image, val_images / image.name)
        shutil.copy(kitti / "label_2" / f"{name}.txt", val_labels / f"{name}.txt")
    infer("detection", model, val_images, tmp_path / "infer", progress=False, all_candidates=True)
    classes = read_info(model)["class_names"]
    for mode in ("SAMPLE", "KITTI_R40", "KITTI_R11"):
        by_model = evaluate("detection", model, progress=False, results_dir=tmp_path / "m",
                            ap_mode=mode).metrics
        by_files = evaluate_predictions(tmp_path / "infer" / "labels", val_labels, classes=classes,
                                        mode=mode, iou_thresholds=by_model.iou_thresholds).metrics
        assert by_model.mode == by_files.mode == mode
        for level in ("easy", "moderate", "hard"):
            assert by_files.mAP[level] == pytest.approx(by_model.mAP[level], abs=1e-6)
            for c in classes:
                assert by_files.num_ground_truth[c][level] == by_model.num_ground_truth[c][level]
        assert max(by_model.mAP.values()) > 0  # a real check: the model finds some boxes
    assert truth.mode == "SAMPLE"


def _validation_frames(model) -> list[str]:
    from jupyter_tlt.evaluate import load_for_inference
    from jupyter_tlt.tasks import make_task
    from jupyter_tlt.model_info import read_info

    _, info, spec = load_for_inference(model)
    task = make_task("detection", spec, read_info(model)["class_names"])
    return [g.name for g in task.ground_truth()]


def test_kitti_modes_ignore_nothing_at_level_all():
    from jupyter_tlt.metrics.boxes import Detections, GroundTruth

    # 41 heavily truncated and occluded cars, each found (41 TPs fill all 41 recall slots): beyond
    # "hard", all counted at "all"
    gts = [GroundTruth([[0, 0, 10, 10]], ["car"], truncation=[0.9], occlusion=[3]) for _ in range(41)]
    dets = [Detections([[0, 0, 10, 10]], ["car"], [0.5 + i / 100]) for i in range(41)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = evaluate_detection(gts, dets, ["car"], mode="KITTI_R40", difficulties=("all", "hard"))
        one = evaluate_detection(gts[:1], dets[:1], ["car"], mode="KITTI_R40", difficulties=("all",))
    assert m.ap["car"]["all"] == 1.0 and m.num_ground_truth["car"]["hard"] == 0
    # the devkit samples one threshold per TP, so a single box fills slot 0 only: R40 0, R11 1/11
    assert one.ap["car"]["all"] == 0.0 and one.curves["car"]["all"].precision[0] == 1.0


def test_empty_and_blank_result_files(tmp_path):
    labels, results = _folders(tmp_path)
    (results / "000001.txt").write_text("")
    (results / "000002.txt").write_text("\n" + RESULTS.replace("\n", "\n\n") + "   \n")
    _, dets, report = load_result_dirs(labels, results)
    assert [len(d) for d in dets] == [0, 4, 0] and report.dropped_empty == 1
    (results / "000002.txt").write_text("")
    _, dets, _ = load_result_dirs(labels, results)
    assert [len(d) for d in dets] == [0, 0, 0]


def test_spec_names_the_kitti_modes():
    from jupyter_tlt.metrics.average_precision import normalize_mode
    from jupyter_tlt.spec import load_experiment_spec
    from jupyter_tlt.spec.defaults import value

    for name in ("KITTI_R40", "KITTI_R11"):
        spec = load_experiment_spec(f'model_config {{ arch: "resnet" }}\n'
                                    f"evaluation_config {{ average_precision_mode: {name} }}\n")
        assert normalize_mode(value(spec.evaluation_config, "average_precision_mode")) == name
