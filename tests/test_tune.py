"""`tlt tune`: Optuna search over spec fields, trials as experiments, pruning, resume after kill -9, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_tlt import cli
from jupyter_tlt.experiments import Experiment
from jupyter_tlt.spec import load_experiment_spec
from jupyter_tlt.tuning.search import tune
from jupyter_tlt.tuning.space import check_space, load_space, parse_flags
from train_fixtures import classification_folders

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return classification_folders(tmp_path_factory.mktemp("cls"), n=40)


def spec_text(folders, epochs=3):
    train_dir, val_dir = folders
    return (f'model_config {{ arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }}\n'
            f'train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}"\n'
            f'  batch_size_per_gpu: 16 n_epochs: {epochs} learning_rate: 0.01 step_size: 1 gamma: 0.5 }}\n'
            'random_seed: 3\n')


def test_a_resumed_search_draws_new_parameters(folders, tmp_path):
    """The same command run again adds trials with other parameters (the sampler is not re-seeded to
    the first run's draws)."""
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text(folders, epochs=1))
    flags = ["train_config.learning_rate=1e-3:1e-1:log"]
    first = tune("classification", spec, tmp_path / "search", params=flags, trials=1, seed=0, pruner="none")
    again = tune("classification", spec, tmp_path / "search", params=flags, trials=2, seed=0, pruner="none")
    rates = [t["train_config.learning_rate"] for t in again.trials]
    assert len(first.trials) == 1 and len(rates) == 2 and rates[0] == first.trials[0]["train_config.learning_rate"]
    assert rates[1] != rates[0], again.trials


def test_search_of_four_trials_with_a_pruned_one(folders, tmp_path):
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text(folders))
    space = tmp_path / "space.yaml"
    # a rate that learns and two that cannot (1e-7, and 30 which diverges): the median pruner stops one
    space.write_text("train_config.learning_rate: {choices: [0.02, 1.0e-7, 30.0]}\n")
    result = tune("classification", spec, tmp_path / "search", space=space, trials=4, seed=0)
    counts = result.counts()
    assert sum(counts.values()) == 4 and counts.get("COMPLETE", 0) >= 2, result.trials
    assert counts.get("PRUNED", 0) >= 1, result.trials
    pruned = next(t for t in result.trials if t["state"] == "PRUNED")
    epochs = [e for e in Experiment(pruned["experiment"]).events() if e["event"] == "epoch_end"]
    assert len(epochs) < 3 and any(e["event"] == "pruned" for e in Experiment(pruned["experiment"]).events())
    for row in result.trials:  # every trial is an ordinary experiment with its own spec
        exp = Path(row["experiment"])
        assert exp.parent == tmp_path / "search" / "trials" and (exp / "experiment.json").is_file()
        assert f"learning_rate: {row['train_config.learning_rate']}" in (exp / "spec.txt").read_text()
    best = load_experiment_spec(result.best_spec)
    assert best.train_config.learning_rate == result.best["params"]["train_config.learning_rate"]
    assert result.best["value"] == max(t["value"] for t in result.trials if t["state"] == "COMPLETE")
    saved = json.loads((tmp_path / "search" / "tune.json").read_text())
    assert saved["best"]["trial"] == result.best["trial"] and (tmp_path / "search" / "tune.db").is_file()
    assert "best spec:" in str(result) and "<img" in result._repr_html_()

    # the same command with a bigger budget resumes the search: the 4 trials stay, 1 is added
    more = tune("classification", spec, tmp_path / "search", space=space, trials=5, seed=0)
    assert len(more.trials) == 5 and [t["trial"] for t in more.trials[:4]] == [t["trial"] for t in result.trials]


def test_kill_9_then_the_same_command_resumes(folders, tmp_path):
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text(folders, epochs=4))
    search = tmp_path / "search"
    cmd = [sys.executable, "-m", "jupyter_tlt.cli", "tune", "classification", "-e", str(spec), "-r",
           str(search), "-p", "train_config.learning_rate=1e-3:1e-1:log", "--trials", "2", "--pruner", "none"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    first = search / "trials" / "trial_0000"
    deadline = time.time() + 300
    while time.time() < deadline and not Experiment(first).checkpoints():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    assert Experiment(first).checkpoints(), "no checkpoint within 300 s"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = max(e for e, _ in Experiment(first).checkpoints())
    assert done < 4 and not (first / "weights" / "model.keras").exists()

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    saved = json.loads((search / "tune.json").read_text())
    states = [t["state"] for t in saved["trials"]]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") == 2, saved["trials"]
    retry = next(t for t in saved["trials"] if t["state"] == "COMPLETE" and t["experiment"] == str(first))
    assert retry["trial"] != 0  # trial 0 failed; its retry trained on in the same experiment folder
    starts = [e for e in Experiment(first).events() if e["event"] == "start"]
    assert starts[-1]["initial_epoch"] == done  # from the last checkpoint, not from scratch
    assert "best spec:" in again.stdout


def test_space_file_and_flags_are_checked_against_the_spec(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("training_config.regularizer.weight: {low: 1.0e-6, high: 1.0e-3, log: true}\n"
                     "training_config.num_epochs: {low: 2, high: 6, int: true}\n"
                     "training_config.regularizer.type: {choices: [L1, L2]}\n"
                     "model_config.freeze_blocks: {choices: [[], [0], [0, 1]]}\n")
    params = load_space(space)
    check_space(params)
    assert params[0].log and params[1].integer and params[3].choices == ((), (0,), (0, 1))
    flags = parse_flags(["train_config.learning_rate=1e-4:1e-1:log", "model_config.arch=resnet|vgg"])
    check_space(flags)
    assert flags[0].low == 1e-4 and flags[1].choices == ("resnet", "vgg")


@pytest.mark.parametrize("extra,message", [
    (["-p", "training_config.regulariser.weight=1e-6:1e-3"], "unknown field 'regulariser'"),
    (["-p", "training_config.regulariser.weight=1e-6:1e-3"], "did you mean 'regularizer'"),
    (["-p", "train_config.learning_rate=0.1:0.1"], "the range [0.1, 0.1] is empty"),
    (["-p", "train_config.learning_rate=0.1:0.01"], "is empty; give low < high"),
    (["-p", "train_config.learning_rate=0:1:log"], "a log range needs low > 0"),
    (["-p", "train_config.n_epochs=1:3"], "add int: true"),
    (["-p", "train_config=1:3"], "is a block, not a value"),
    (["-p", "model_config.arch=resnet|7"], "7 is no value of model_config.arch"),
    (["--trials", "0"], "a budget of 0 trials runs nothing"),
    (["--timeout", "0"], "a budget of 0 seconds runs nothing"),
    (["--gpus_per_trial", "0"], "--gpus_per_trial: 0; give 1 or more"),
    (["--storage", "nosuchdb://x/y"], "--storage nosuchdb://x/y: cannot open this database"),
    (["--storage", "sqlite:////nonexistent-dir/x/tune.db"], "cannot open this database"),
])
def test_bad_inputs_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text((tmp_path, tmp_path)))
    argv = ["tune", "classification", "-e", str(spec), "-r", str(tmp_path / "s"), "--trials", "2"]
    if not any(a == "-p" for a in extra):
        argv += ["-p", "train_config.learning_rate=1e-3:1e-1:log"]
    assert cli.main(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_bad_space_file_names_the_file(tmp_path, capsys):
    spec = tmp_path / "spec.txt"
    spec.write_text(spec_text((tmp_path, tmp_path)))
    for text, message in [("", "the search space is empty"),
                          ("train_config.learning_rate: {low: 1, high: 2, step: 3}\n", "unknown key 'step'"),
                          ("train_config.learning_rate: {choices: []}\n", "choices is empty"),
                          ("train_config.learning_rat: {low: 0.1, high: 0.2}\n", "did you mean 'learning_rate'"),
                          ("a: [b\n", "not valid YAML")]:
        space = tmp_path / "space.yaml"
        space.write_text(text)
        argv = ["tune", "classification", "-e", str(spec), "-r", str(tmp_path / "s"), "-s", str(space),
                "--trials", "1"]
        assert cli.main(argv) == 2, text
        err = capsys.readouterr().err
        assert message in err and str(space) in err and len(err.strip().splitlines()) == 1, err


def test_detection_search_scores_map_at_the_level_and_the_view_follows_it(tmp_path):
    from jupyter_tlt.tuning.views import SearchView
    from train_fixtures import detection_records, detection_spec

    records = detection_records(tmp_path / "data", n=12)
    spec = tmp_path / "spec.txt"
    spec.write_text(detection_spec(records, epochs=1, classes=("car", "pedestrian")))
    view = SearchView(tmp_path / "search")
    assert "no search" in view.widget.value
    result = tune("detection", spec, tmp_path / "search", trials=2, level="moderate", pruner="none",
                  params=["training_config.regularizer.weight=1e-6:1e-3:log"])
    assert result.objective == "mAP (moderate)" and result.counts() == {"COMPLETE": 2}
    for row in result.trials:
        saved = json.loads((Path(row["experiment"]) / "evaluate" / "metrics.json").read_text())
        assert row["value"] == pytest.approx(saved["mAP"]["moderate"])
    html = view.refresh()
    assert "<table" in html and "<img" in html and html.count("COMPLETE") >= 2
