"""The panels driven as a user drives them: set values, click buttons; real training on tiny data."""

from __future__ import annotations

import json

import pytest

from jupyter_tlt.widgets import EvaluatePanel, PrunePanel, RegistryBrowser, TrainPanel
from train_fixtures import detection_records

TIMEOUT = 600


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return detection_records(tmp_path_factory.mktemp("widgets"), n=16)


def fill(panel: TrainPanel, records: str, epochs: int) -> None:
    panel.tfrecords_path.value = records
    panel.arch.value = "resnet"
    panel.n_layers.value = 10
    panel.width.value, panel.height.value = 96, 64
    panel.epochs.value, panel.batch_size.value, panel.learning_rate.value = epochs, 4, 0.002


@pytest.fixture(scope="module")
def trained(records, tmp_path_factory):
    """A TrainPanel run to the end: (panel, results dir)."""
    run = tmp_path_factory.mktemp("train_panel") / "run"
    panel = TrainPanel(task="detection", results_dir=str(run))
    fill(panel, records, epochs=1)
    panel.run_button.click()
    assert panel.wait(TIMEOUT) is not None, panel.status.value
    return panel, run


def test_train_panel_builds_the_spec_and_trains(trained, records):
    panel, run = trained
    text = panel.spec_view.value
    for needle in (f'tfrecords_path: "{records}"', "output_image_width: 96", "output_image_height: 64",
                   'arch: "resnet"', "num_layers: 10", "num_epochs: 1", "batch_size_per_gpu: 4",
                   "max_learning_rate: 0.002"):
        assert needle in text, needle
    assert "target_class_mapping" in text  # the template's other fields are kept
    assert (run / "weights" / "model.keras").is_file() and (run / "weights" / "model_epoch_001.keras").is_file()
    assert json.loads((run / "experiment.json").read_text())["status"] == "finished"
    assert panel.progress.value == 1 and panel.progress.description == "1/1"
    assert "Trained detection" in panel.status.value
    assert bytes(panel.chart_image.value).startswith(b"\x89PNG")  # the live chart got the epoch
    assert not panel.run_button.disabled and panel.stop_button.disabled


def test_stop_after_the_epoch_then_run_resumes(records, tmp_path):
    panel = TrainPanel(task="detection", results_dir=str(tmp_path / "run"))
    fill(panel, records, epochs=2)
    panel.run_button.click()
    assert not panel.stop_button.disabled
    panel.stop_button.click()  # before the first epoch ends: training stops after it
    assert panel.wait(TIMEOUT) is None
    assert "Stopped" in panel.status.value and "epoch 1" in panel.status.value
    assert json.loads((tmp_path / "run" / "experiment.json").read_text())["status"] == "interrupted"
    assert (tmp_path / "run" / "weights" / "model_epoch_001.keras").is_file()
    panel.run_button.click()
    result = panel.wait(TIMEOUT)
    assert result is not None and result.initial_epoch == 1 and result.model_path.is_file()


def test_train_panel_pretrained_field_and_picker(tmp_path, monkeypatch):
    (tmp_path / "pretrained" / "m" / "1").mkdir(parents=True)
    (tmp_path / "pretrained" / "m" / "1" / "model.keras").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TLT_REGISTRY", str(tmp_path / "no_registry_here"))
    panel = TrainPanel(task="detection", results_dir="runs/x")
    assert "pretrained/m/1/model.keras" in panel.pretrained.options
    assert "pretrained_model_file" not in panel.spec_text()  # empty field: from scratch
    panel.pretrained.value = "registry:detectnet_v2_resnet18@1"
    assert 'pretrained_model_file: "registry:detectnet_v2_resnet18@1"' in panel.spec_text()


def test_classification_form_and_arch_depths(tmp_path):
    panel = TrainPanel(task="classification", results_dir=str(tmp_path / "cls"))
    panel.train_path.value, panel.val_path.value = "data/cls/train", "data/cls/val"
    panel.width.value, panel.height.value = 48, 32
    panel.arch.value = "vgg"
    assert list(panel.n_layers.options) == [16, 19] and panel.n_layers.value == 16
    text = panel.spec_text()
    for needle in ('train_dataset_path: "data/cls/train"', 'val_dataset_path: "data/cls/val"',
                   'input_image_size: "3,48,32"', 'arch: "vgg"', "n_layers: 16"):
        assert needle in text, needle
    panel.arch.value = "alexnet"
    assert "n_layers" not in panel.spec_text()


def test_prune_panel_slider_prune_and_retrain(trained, tmp_path):
    _, run = trained
    model = run / "weights" / "model.keras"
    panel = PrunePanel(model, tmp_path / "pruned.keras", retrain_dir=tmp_path / "retrain")
    first = panel.label.value
    panel.slider.value = 0.95
    assert panel.label.value != first and "M parameters" in panel.label.value
    assert not (tmp_path / "pruned.keras").exists()  # moving the slider builds no model
    assert panel.retrain_button.disabled
    panel.prune_button.click()
    report = panel.report
    assert report is not None and (tmp_path / "pruned.keras").is_file()
    assert report.params_after < report.params_before and report.options["threshold"] == 0.95
    assert (tmp_path / "pruned_prune_report.json").is_file()
    assert f'pretrained_model_file: "{tmp_path / "pruned.keras"}"' in panel.retrain_spec()
    panel.retrain_button.click()
    result = panel.wait(TIMEOUT)
    assert result is not None, panel.status.value
    assert "pruned" in result.transfer and (tmp_path / "retrain" / "weights" / "model.keras").is_file()


def test_evaluate_panel_finds_models_and_writes_metrics(trained, tmp_path):
    _, run = trained
    panel = EvaluatePanel(run)
    labels = [label for label, _ in panel.model.options]
    assert labels[0] == "weights/model.keras" and "weights/model_epoch_001.keras" in labels
    assert panel.task.value == "detection"
    panel.evaluate_button.click()
    result = panel.result
    assert type(result).__name__ == "EvaluateResult" and "moderate" in result.to_frame().columns
    assert (run / "evaluate" / "metrics.json").is_file()
    empty = EvaluatePanel(tmp_path)
    assert empty.evaluate_button.disabled and empty.evaluate() is None


def test_registry_browser_on_a_real_folder_registry(trained, tmp_path):
    from jupyter_tlt.registry import Registry

    _, run = trained
    registry = Registry(str(tmp_path / "reg"))
    for version in ("1", "2"):
        registry.push(run / "weights" / "model.keras", "detectnet_resnet10_demo", version, progress=False)
    browser = RegistryBrowser(registry, dest=tmp_path / "pretrained")
    assert browser.models.value == "detectnet_resnet10_demo"  # opens on the one model with weights
    assert not browser.pull_button.disabled and "None" not in browser.details.value
    empty = next(name for name in browser.models.options if name != "detectnet_resnet10_demo")
    browser.models.value = empty  # a catalogue entry nobody pushed: nothing to pull
    assert browser.pull_button.disabled and list(browser.versions.options) == []
    browser.models.value = "detectnet_resnet10_demo"
    assert list(browser.versions.options) == ["2", "1"] and "detection" in browser.details.value
    browser.pull_button.click()
    assert browser.pulled == tmp_path / "pretrained" / "detectnet_resnet10_demo" / "2" / "model.keras"
    assert browser.pulled.is_file() and "pulled" in browser.message.value
