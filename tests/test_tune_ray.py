"""`tlt tune --backend ray`: the search on a local Ray (2 CPUs, no dashboard), and an address nobody answers."""

from __future__ import annotations

import os
import socket

import pytest

from jupyter_tlt import cli
from jupyter_tlt.tuning.ray_backend import check_address, start_ray
from train_fixtures import classification_folders


def spec_text(train_dir, val_dir):
    return (f'model_config {{ arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }}\n'
            f'train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}"\n'
            '  batch_size_per_gpu: 16 n_epochs: 2 learning_rate: 0.01 step_size: 1 gamma: 0.5 }\nrandom_seed: 3\n')


def test_an_address_where_nothing_answers_is_one_line_and_exit_2(tmp_path, capsys):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from jupyter_tlt.errors import UsageError

    with pytest.raises(UsageError, match="no Ray cluster answers there"):
        check_address(f"ray://127.0.0.1:{port}")
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'jupyter-tlt[ray]')")
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text(tmp_path, tmp_path))
    code = cli.main(["tune", "classification", "-e", str(spec), "-r", str(tmp_path / "s"), "--trials", "2",
                     "-p", "train_config.learning_rate=1e-3:1e-1:log", "--backend", "ray",
                     "--address", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and "no Ray cluster answers there" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.skipif(os.environ.get("TLT_RAY_TESTS") != "1", reason="starts a local Ray and trains 2 trials: "
                    "2 min 44 s to 4 min 17 s on the shared 2-core machine, over the 2 min a default test may take; "
                    "opt in with TLT_RAY_TESTS=1 (docs/benchmarks.md, issue 21)")
def test_two_trials_on_a_local_ray(tmp_path, monkeypatch):
    """Two trials on a local Ray, the spec's data paths relative to the driver's folder (Ray starts each
    trial in its own folder; the trial goes back to the driver's)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'jupyter-tlt[ray]')")
    from jupyter_tlt.tuning.search import tune

    classification_folders(tmp_path / "data", n=30)
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text("data/train", "data/val"))
    start_ray(None, num_cpus=2)
    try:
        result = tune("classification", "spec.txt", "search", trials=2, backend="ray", pruner="none",
                      params=["train_config.learning_rate=1e-3:1e-1:log"])
    finally:
        ray.shutdown()
    assert [t["state"] for t in result.trials] == ["COMPLETE", "COMPLETE"], result.trials
    for row in result.trials:
        assert row["experiment"].startswith(str((tmp_path / "search" / "trials").resolve()))
        assert 1e-3 <= row["train_config.learning_rate"] <= 1e-1
    assert result.best_spec.is_file() and result.backend == "ray"
