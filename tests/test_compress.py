"""Compression search: prune to targets, retrain each as an experiment, Pareto front, recommendation."""

from __future__ import annotations

import json

from jupyter_tlt import cli
from jupyter_tlt.experiments import Experiment
from jupyter_tlt.train import train
from jupyter_tlt.tuning.compression import compress, pareto_front
from train_fixtures import classification_folders


def test_pareto_front_keeps_only_undominated_points():
    rows = [{"flops": 10, "value": 0.9}, {"flops": 6, "value": 0.85}, {"flops": 6, "value": 0.8},
            {"flops": 3, "value": 0.5}, {"flops": 8, "value": 0.7}]
    assert [r["flops"] for r in pareto_front(rows)] == [10, 6, 3]
    assert {"flops": 6, "value": 0.8} not in pareto_front(rows)


def test_compression_search_end_to_end(tmp_path, capsys):
    train_dir, val_dir = classification_folders(tmp_path / "data", n=30)
    spec = (f'model_config {{ arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }}\n'
            f'train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}"\n'
            '  batch_size_per_gpu: 16 n_epochs: 1 learning_rate: 0.01 step_size: 1 gamma: 0.5 }\n')
    model = train(spec, tmp_path / "run", task="classification", progress=False).model_path
    result = compress(model, tmp_path / "compress", keep=(0.6, 0.3), epochs=1, max_drop=1.0,
                      min_num_filters=8, cpu_latency=True)
    original, *candidates = result.rows
    assert original["candidate"] == "original" and [r["candidate"] for r in candidates] == ["keep_0.6", "keep_0.3"]
    for row in candidates:
        assert row["flops_kept"] <= row["target"] and row["threshold"] is not None
        assert Experiment(row["experiment"]).info()["status"] == "finished"
        assert "pruned" in Experiment(row["experiment"]).info().get("transfer", "")
    assert result.recommended["candidate"] == "keep_0.3"  # max_drop 1.0: the smallest always qualifies
    assert original["speedup"] == 1.0 and all(r["cpu_ms"] > 0 and r["speedup"] > 0 for r in result.rows)
    assert "x on the CPU" in str(result).splitlines()[-1]
    assert any(r["pareto"] for r in result.rows)
    saved = json.loads((tmp_path / "compress" / "compression.json").read_text())
    assert saved["recommended"]["candidate"] == "keep_0.3"
    assert "<img" in result._repr_html_() and "recommended: keep_0.3" in str(result)
    assert cli.main(["compress", "-m", str(model), "-r", str(tmp_path / "c2"), "--epochs", "0"]) == 2
    assert "--epochs: 0 epochs retrains nothing" in capsys.readouterr().err


def test_a_retraining_shorter_than_the_validation_schedule_still_validates():
    """A detector's spec validating first at epoch 3, retrained for 1 epoch: the schedule is pulled
    inside the retraining (the spec as it stands would be refused: it would never validate)."""
    import pytest

    from jupyter_tlt.errors import SpecError
    from jupyter_tlt.spec import load_experiment_spec
    from jupyter_tlt.tuning.compression import _validated_within
    from jupyter_tlt.tuning.space import apply
    from train_fixtures import detection_spec

    text = detection_spec("records/kitti-fold-*", epochs=6).replace(
        "validation_period_during_training: 1 first_validation_epoch: 1",
        "validation_period_during_training: 3 first_validation_epoch: 3")
    values = _validated_within(load_experiment_spec(text), 1)
    assert values == {"evaluation_config.first_validation_epoch": 1,
                      "evaluation_config.validation_period_during_training": 1}
    with pytest.raises(SpecError, match="would never validate"):
        load_experiment_spec(apply(text, {"training_config.num_epochs": 1}))
    retrain = load_experiment_spec(apply(text, {"training_config.num_epochs": 1, **values}))
    assert retrain.evaluation_config.first_validation_epoch == 1
    assert _validated_within(load_experiment_spec(text), 3) == {}
