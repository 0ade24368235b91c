"""Mixed precision (`train --use_amp`): off with a reason on a CPU, float32 heads and saved models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jupyter_tlt.model_info import read_info
from jupyter_tlt.models import load_model
from jupyter_tlt.tf_import import keras, tensorflow
from jupyter_tlt.train import train
from jupyter_tlt.training.precision import MIXED, USE_AMP_DEFAULT, Precision, float32_copy, precision_for
from train_fixtures import detection_records, detection_spec

BIN = Path(sys.executable).parent
HAS_GPU = bool(tensorflow().config.list_physical_devices("GPU"))


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return detection_records(tmp_path_factory.mktemp("amp"), n=12)


def test_off_unless_asked_and_why_it_is_off_on_a_cpu():
    assert USE_AMP_DEFAULT is False
    assert precision_for(False) == Precision("float32") and precision_for(False).describe() == ""
    on_cpus = precision_for(True, devices=["/cpu:0", "/cpu:1"])
    assert on_cpus.policy == "float32" and "not all GPUs" in on_cpus.describe()
    if not HAS_GPU:
        here = precision_for(True)
        assert here.policy == "float32"
        assert "no GPU is visible" in here.describe() and "training in float32" in here.describe()


@pytest.mark.skipif(HAS_GPU, reason="checks the CPU's report; a GPU machine runs the mixed test instead")
def test_cli_use_amp_on_a_cpu_reports_and_trains_float32(records, tmp_path):
    spec = tmp_path / "spec.cfg"
    spec.write_text(detection_spec(records, epochs=1))
    run = tmp_path / "run"
    done = subprocess.run([str(BIN / "tlt"), "train", "detection", "-e", str(spec), "-r", str(run), "-q",
                           "--use_amp"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--use_amp: mixed precision is off: no GPU is visible" in done.stderr
    assert json.loads((run / "experiment.json").read_text())["precision"] == "float32"


def test_mixed_model_keeps_float32_heads_and_saves_float32(records, tmp_path):
    """Built under mixed_float16 (runs on a CPU too, only slowly): the heads' outputs are float32 and
    the copy that is saved and exported computes in float32 with the same weights."""
    from jupyter_tlt.spec import load_experiment_spec
    from jupyter_tlt.tasks import make_task

    task = make_task("detection", load_experiment_spec(detection_spec(records)))
    with Precision(MIXED).building():
        model = task.build()
    assert keras().mixed_precision.global_policy().name == "float32"  # restored
    assert model.get_layer("block_1a_conv_1").compute_dtype == "float16"
    assert [o.dtype for o in model.outputs] == ["float32", "float32"]
    plain = float32_copy(model)
    assert {layer.dtype_policy.name for layer in plain.layers} == {"float32"}
    assert [layer.name for layer in plain.layers] == [layer.name for layer in model.layers]
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).uniform(size=(2, 64, 96, 3)).astype("float32")
    for mixed_out, plain_out in zip(model(x, training=False), plain(x, training=False)):
        np.testing.assert_allclose(np.asarray(mixed_out), np.asarray(plain_out), atol=2e-2)


@pytest.mark.skipif(not HAS_GPU, reason="mixed float16 trains only on a GPU (on a CPU --use_amp is reported "
                    "as off; see test_cli_use_amp_on_a_cpu_reports_and_trains_float32)")
def test_use_amp_trains_mixed_on_a_gpu_and_saves_float32(records, tmp_path):
    run = tmp_path / "run"
    result = train(detection_spec(records, epochs=2), run, progress=False, use_amp=True)
    assert json.loads((run / "experiment.json").read_text())["precision"] == MIXED
    assert np.isfinite(result.to_frame()["loss"]).all()
    saved = load_model(result.model_path)
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    assert read_info(result.model_path)["class_names"]
