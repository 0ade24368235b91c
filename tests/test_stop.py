"""Stop from the lab: a training asked to stop ends cleanly after its next checkpoint and resumes when started again."""

from __future__ import annotations

from jupyter_tlt.experiments import Experiment
from jupyter_tlt.train import train
from train_fixtures import detection_records, detection_spec


def test_stop_request_ends_after_a_checkpoint_and_the_run_resumes(tmp_path):
    records = detection_records(tmp_path / "data", n=12)
    spec = detection_spec(records, epochs=3)
    results = tmp_path / "run"
    exp = Experiment(results)
    stale = results / ".stop"
    results.mkdir()
    stale.write_text("from an earlier run\n")  # cleared at start: it must not stop this run at once

    first = train(spec, results, progress=False, on_epoch=lambda record: exp.request_stop())
    assert [r["epoch"] for r in first.history] == [1]
    assert exp.info()["status"] == "interrupted" and exp.info()["stopped_by"] == "request"
    assert exp.latest_checkpoint()[0] == 1 and not exp.stop_requested()
    assert not (results / "weights" / "model.keras").exists()

    second = train(spec, results, progress=False)
    assert second.initial_epoch == 1 and [r["epoch"] for r in second.history] == [2, 3]
    assert exp.info()["status"] == "finished" and (results / "weights" / "model.keras").is_file()
