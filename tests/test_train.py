"""train / evaluate / infer with real TensorFlow on tiny synthetic data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jupyter_tlt.evaluate import evaluate
from jupyter_tlt.experiments import Experiment
from jupyter_tlt.infer import infer
from jupyter_tlt.model_info import read_info
from jupyter_tlt.train import train
from train_fixtures import classification_folders, detection_records, detection_spec

BIN = Path(sys.executable).parent
SEED_SPEC = Path(__file__).with_name("seed_sample_spec.cfg")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return detection_records(tmp_path_factory.mktemp("det"))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return classification_folders(tmp_path_factory.mktemp("cls"))


def test_detection_train_resume_evaluate_infer(records, tmp_path):
    run = tmp_path / "run"
    first = train(detection_spec(records, epochs=2), run, progress=False)
    info = json.loads((run / "experiment.json").read_text())
    assert info["status"] == "finished" and info["task"] == "detection" and info["arch"] == "resnet10"
    events = [e["event"] for e in Experiment(run).events()]
    assert events.count("epoch_end") == 2 and events.count("validation") == 2
    assert [e for e, _ in Experiment(run).checkpoints()] == [1, 2]
    assert first.model_path == run / "weights" / "model.keras"
    assert read_info(first.model_path)["class_names"] == ["car", "cyclist", "pedestrian", "road_sign"]
    assert np.isfinite(first.to_frame()["loss"]).all() and "val_mAP" in first.to_frame()
    assert (run / "tensorboard").is_dir()

    resumed = train(detection_spec(records, epochs=3), run, progress=False)
    assert resumed.initial_epoch == 2 and [h["epoch"] for h in resumed.history] == [3]

    result = evaluate("detection", resumed.model_path, progress=False)   # spec stored in the model
    frame = result.to_frame()
    assert {"easy", "moderate", "hard"} <= set(frame.columns) and "mAP" in frame.index
    assert (run / "evaluate" / "metrics.json").exists() and (run / "evaluate" / "pr_curves.png").exists()
    assert "moderate" in str(result)

    images = records.split("/records/")[0] + "/kitti/image_2"
    out = infer("detection", resumed.model_path, images, tmp_path / "infer", progress=False)
    labels = sorted((tmp_path / "infer" / "labels").glob("*.txt"))
    assert len(labels) == out.num_images == 24
    assert len(list((tmp_path / "infer" / "images").glob("*.jpg"))) == 24
    for path in labels:
        for line in path.read_text().splitlines():
            assert len(line.split()) == 16


def test_kill_9_mid_training_resumes_from_last_checkpoint(records, tmp_path):
    spec = tmp_path / "spec.cfg"
    spec.write_text(detection_spec(records, epochs=5))
    run = tmp_path / "run"
    cmd = [str(BIN / "tlt"), "train", "detection", "-e", str(spec), "-r", str(run), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not (run / "weights" / "model_epoch_002.keras").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = [e for e, _ in Experiment(run).checkpoints()]
    assert done and max(done) >= 2 and not (run / "weights" / "model.keras").exists()
    code = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert code.returncode == 0, code.stderr
    starts = [e for e in Experiment(run).events() if e["event"] == "start"]
    assert starts[-1]["initial_epoch"] == max(done)
    assert json.loads((run / "experiment.json").read_text())["status"] == "finished"


def test_classification_train_evaluate_infer(folders, tmp_path):
    train_dir, val_dir = folders
    spec = f"""model_config {{ arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }}
train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}"
  batch_size_per_gpu: 16 n_epochs: 2 learning_rate: 0.01 step_size: 1 gamma: 0.5 }}"""
    result = train(spec, tmp_path / "run", task="classification", progress=False)
    assert result.class_names == ["background", "car", "cyclist", "pedestrian", "road_sign"]
    assert "val_accuracy" in result.to_frame()
    code = subprocess.run([str(BIN / "tlt-evaluate"), "classification", "-d", str(val_dir), "-pm",
                           str(result.model_path), "-b", "32", "-q"], capture_output=True, text=True,
                          timeout=600)
    assert code.returncode == 0, code.stderr
    assert "top-1" in code.stdout
    assert (tmp_path / "run" / "evaluate" / "confusion_matrix.png").exists()
    out = infer("classification", result.model_path, val_dir / "car", tmp_path / "inf", progress=False)
    rows = (tmp_path / "inf" / "predictions.csv").read_text().splitlines()
    assert rows[0].startswith("image,class,confidence,background") and len(rows) == out.num_images + 1


def test_seed_sample_spec_trains(folders, tmp_path):
    """The seed article's sample_spec.cfg, verbatim but for its paths, input size and epochs."""
    train_dir, val_dir = folders
    pretrained = tmp_path / "tlt_pretrained_model" / "resnet50.hdf5"
    text = SEED_SPEC.read_text()
    base = (text.replace('"./dataset_train"', f'"{train_dir}"').replace('"./dataset_val"', f'"{val_dir}"')
            .replace('"3,960,544"', '"3,32,32"').replace("n_epochs: 15", "n_epochs: 1")
            .replace("batch_size_per_gpu: 64", "batch_size_per_gpu: 16"))
    # first a pretrained model at the seed's path, then the seed's spec fine-tunes from it
    first = train(base.replace('"./tlt_pretrained_model/resnet50.hdf5"', '""'), tmp_path / "pre",
                  task="classification", progress=False)
    from jupyter_tlt.models import load_model, save_model
    from jupyter_tlt.model_info import write_info

    save_model(load_model(first.model_path), pretrained)
    write_info(pretrained, read_info(first.model_path))
    spec = base.replace('"./tlt_pretrained_model/resnet50.hdf5"', f'"{pretrained}"')
    result = train(spec, tmp_path / "run", task="classification", progress=False)
    assert "copied" in result.transfer and "resnet50" in json.loads(
        (tmp_path / "run" / "experiment.json").read_text())["arch"]


def test_missing_pretrained_model_is_a_clear_error(records, tmp_path):
    spec = detection_spec(records, pretrained=str(tmp_path / "nope.keras"))
    specfile = tmp_path / "s.cfg"
    specfile.write_text(spec)
    code = subprocess.run([str(BIN / "tlt"), "train", "detection", "-e", str(specfile), "-r",
                           str(tmp_path / "r"), "-q"], capture_output=True, text=True, timeout=300)
    assert code.returncode == 2 and "nope.keras" in code.stderr and "Traceback" not in code.stderr
