"""GET experiments says which experiments are trials of a search (`tlt tune`, `tlt compress`), from the
files those write (tune.db, tune.lock, tune.json; prune/, compression.json), on a real jupyter_server."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from jupyter_tlt.experiments import Experiment
from jupyter_tlt.tuning.listing import group_searches
from test_registry import local, tiny_model  # noqa: F401
from test_server import get_json, jp_server_config  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def _trial(folder: Path, status: str, accuracy: float) -> Path:
    exp = Experiment(folder)
    exp.start(task="classification", arch="resnet", epochs=1, spec="train_config { learning_rate: 0.01 }")
    exp.log("validation", epoch=1, accuracy=accuracy)
    exp.log("epoch_end", epoch=1, loss=0.5, val_accuracy=accuracy)
    if status != "running":
        exp.set_status(status, accuracy=accuracy)
    return folder


def _searches(root: Path) -> None:
    """A finished tune of 3 trials (one pruned), a compress of 2 candidates, a running tune, a stray folder."""
    tune = root / "runs" / "tune"
    rows = []
    for number, (state, value) in enumerate([("COMPLETE", 0.62), ("COMPLETE", 0.81), ("PRUNED", None)]):
        trial = _trial(tune / "trials" / f"trial_{number:04d}", "finished", value or 0.1)
        rows.append({"trial": number, "state": state, "value": value, "epochs": 1,
                     "train_config.learning_rate": 0.01, "experiment": str(trial)})
    (tune / "tune.db").write_bytes(b"")
    (tune / "tune.json").write_text(json.dumps({
        "objective": "accuracy", "storage": "sqlite:///tune.db", "backend": "optuna", "space": [],
        "best": {"trial": 1, "value": 0.81, "params": {}, "experiment": rows[1]["experiment"]},
        "best_spec": str(tune / "best_spec.txt"), "trials": rows}))
    compress = root / "runs" / "compress"
    (compress / "prune").mkdir(parents=True)
    cands = [{"candidate": "original", "value": 0.7, "experiment": ""}]
    for name, value in (("keep_0.6", 0.66), ("keep_0.3", 0.5)):
        cands.append({"candidate": name, "value": value, "experiment": str(_trial(compress / "trials" / name,
                                                                                  "finished", value))})
    (compress / "compression.json").write_text(json.dumps({"objective": "accuracy", "rows": cands}))
    live = root / "runs" / "live"
    _trial(live / "trials" / "trial_0000", "finished", 0.5)
    _trial(live / "trials" / "trial_0001", "running", 0.3)
    (live / "tune.db").write_bytes(b"")
    (live / "tune.lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    _trial(root / "runs" / "misc" / "trials" / "x", "finished", 0.2)  # a folder named trials, of no search


async def test_the_listing_groups_trials_under_their_search(jp_fetch, jp_root_dir):
    _searches(Path(jp_root_dir))
    answer = await get_json(jp_fetch, "experiments")
    listed = {row["path"] for row in answer["experiments"]}
    assert "runs/tune/trials/trial_0000" in listed and "runs/misc/trials/x" in listed  # trials stay experiments
    searches = {s["path"]: s for s in answer["searches"]}
    assert set(searches) == {"runs/tune", "runs/compress", "runs/live"}
    tune = searches["runs/tune"]
    assert (tune["name"], tune["kind"], tune["state"], tune["objective"], tune["count"]) == \
        ("tune", "tune", "finished", "accuracy", 3)
    assert tune["best"] == {"path": "runs/tune/trials/trial_0001", "value": 0.81}
    assert [(t["path"].rsplit("/", 1)[1], t["state"], t["value"]) for t in tune["trials"]] == [
        ("trial_0000", "complete", 0.62), ("trial_0001", "complete", 0.81), ("trial_0002", "pruned", None)]
    compress = searches["runs/compress"]
    assert compress["kind"] == "compress" and compress["state"] == "finished" and compress["count"] == 2
    assert compress["best"] == {"path": "runs/compress/trials/keep_0.6", "value": 0.66}
    live = searches["runs/live"]
    assert live["state"] == "running" and live["objective"] is None and live["best"] is None
    assert [t["state"] for t in live["trials"]] == ["finished", "running"]  # no tune.json yet: the runs' own


def test_a_killed_search_reads_interrupted_and_the_root_can_be_a_search(tmp_path):
    from jupyter_tlt.experiment_index import ExperimentIndex

    _trial(tmp_path / "trials" / "trial_0000", "finished", 0.4)
    (tmp_path / "tune.db").write_bytes(b"")
    (tmp_path / "tune.lock").write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": socket.gethostname()}))
    [search] = group_searches(tmp_path, ExperimentIndex(tmp_path).summaries())
    assert search["path"] == "" and search["name"] == tmp_path.name and search["state"] == "interrupted"
    assert [t["path"] for t in search["trials"]] == ["trials/trial_0000"]
