"""Prune a trained model and retrain it, from Python and from the CLI (real TensorFlow, tiny data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_tlt import cli
from jupyter_tlt.compare import compare
from jupyter_tlt.evaluate import evaluate
from jupyter_tlt.models import load_model
from jupyter_tlt.prune import prune
from jupyter_tlt.train import train
from train_fixtures import classification_folders, detection_records, detection_spec

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


def widths(model):
    return {layer.name: layer.get_config()["filters"] for layer in model.layers if type(layer).__name__ == "Conv2D"}


def test_detection_prune_then_retrain_from_the_cli_keeps_widths_and_resumes(tmp_path, capsys):
    records = detection_records(tmp_path / "data")
    trained = train(detection_spec(records, epochs=1), tmp_path / "train", progress=False)
    pruned_path = tmp_path / "prune" / "model_pruned.keras"
    code = subprocess.run([str(BIN / "tlt-prune"), "-m", str(trained.model_path), "-o", str(pruned_path),
                           "-pth", "0.95", "-nf", "8", "-pg", "8"], capture_output=True, text=True, timeout=300)
    assert code.returncode == 0, code.stderr
    pruned = load_model(pruned_path)
    assert pruned.count_params() < load_model(trained.model_path).count_params()

    spec = tmp_path / "retrain.cfg"
    spec.write_text(detection_spec(records, epochs=2, pretrained=str(pruned_path)))
    run = [str(BIN / "tlt"), "train", "detection", "-e", str(spec), "-r", str(tmp_path / "retrain"), "-q"]
    first = subprocess.run(run, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "pruned model" in first.stdout
    retrained = load_model(tmp_path / "retrain" / "weights" / "model.keras")
    assert widths(retrained) == widths(pruned)
    # more epochs in the spec: the retrain resumes from its checkpoint with the pruned widths
    spec.write_text(detection_spec(records, epochs=3, pretrained=str(pruned_path)))
    again = subprocess.run(run, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resumed at epoch 2" in again.stdout
    result = evaluate("detection", tmp_path / "retrain" / "weights" / "model.keras")
    assert "moderate" in str(result)
    table = compare("detection", {"unpruned": trained.model_path, "pruned": pruned_path,
                                  "retrained": tmp_path / "retrain" / "weights" / "model.keras"}, progress=False)
    frame = table.to_frame()
    assert list(frame.index) == ["unpruned", "pruned", "retrained"]
    assert frame.loc["pruned", "parameters"] == frame.loc["retrained", "parameters"] < frame.loc["unpruned",
                                                                                                   "parameters"]
    assert frame.loc["retrained", "mAP moderate (%)"] == pytest.approx(result.metrics.mAP["moderate"] * 100)
    assert cli.main(["compare", "detection", "-q", "-m", f"before={trained.model_path}", "-m", str(pruned_path)]) == 0
    assert "before" in capsys.readouterr().out


def test_classification_prune_then_retrain_in_python(tmp_path):
    train_dir, val_dir = classification_folders(tmp_path / "data")
    spec = f"""model_config {{ arch: "vgg" n_layers: 16 input_image_size: "3,32,32" freeze_blocks: 1 }}
train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}" pretrained_model_path: "PRE"
  batch_size_per_gpu: 16 n_epochs: 1 learning_rate: 0.01 step_size: 1 gamma: 0.5 weight_decay: 1e-4 }}"""
    trained = train(spec.replace("PRE", ""), tmp_path / "train", task="classification", progress=False)
    report = prune(trained.model_path, tmp_path / "prune" / "small.keras", threshold=0.95, min_num_filters=8)
    assert report.params_after < report.params_before
    result = train(spec.replace("PRE", str(tmp_path / "prune" / "small.keras")), tmp_path / "retrain",
                   task="classification", progress=False)
    retrained = load_model(result.model_path)
    assert retrained.count_params() == report.params_after
    assert "val_accuracy" in result.to_frame()
    # the retrain spec's options apply to the pruned architecture: frozen block 1, L2 weight decay
    assert all(not layer.trainable for layer in retrained.layers if layer.name.startswith("block_1_conv"))
    assert retrained.get_layer("block_2_conv_1").kernel_regularizer is not None


def test_retraining_with_another_arch_is_a_clear_error(tmp_path):
    train_dir, val_dir = classification_folders(tmp_path / "data", n=20)
    spec = f"""model_config {{ arch: "resnet" n_layers: ARCH input_image_size: "3,32,32" }}
train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}" pretrained_model_path: "PRE"
  batch_size_per_gpu: 16 n_epochs: 1 learning_rate: 0.01 }}"""
    trained = train(spec.replace("PRE", "").replace("ARCH", "10"), tmp_path / "train", task="classification",
                    progress=False)
    prune(trained.model_path, tmp_path / "small.keras", threshold=0.95)
    specfile = tmp_path / "retrain.cfg"
    specfile.write_text(spec.replace("PRE", str(tmp_path / "small.keras")).replace("ARCH", "18"))
    code = subprocess.run([str(BIN / "tlt"), "train", "classification", "-e", str(specfile), "-r",
                           str(tmp_path / "r"), "-q"], capture_output=True, text=True, timeout=300)
    assert code.returncode == 2 and "retrain with the model_config" in code.stderr, code.stderr
