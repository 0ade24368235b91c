"""Faults a shared team server sees: a full disk (a real EFBIG from a file-size limit) and `kill -9`.

Every atomic write removes its temporary on any error; the next write of a file removes temporaries
that killed processes left; a failed training records `failed` with the reason; a killed one shows
as `stopped` in the experiment index.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_tlt import atomic
from jupyter_tlt.experiment_index import ExperimentIndex
from jupyter_tlt.experiments import Experiment, stopped_since
from train_fixtures import detection_records, detection_spec

TLT = str(Path(sys.executable).with_name("tlt"))


def limited(max_bytes: int):
    """preexec_fn: writes beyond `max_bytes` fail with EFBIG (SIGXFSZ ignored), as on a full disk."""
    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(atomic.TEMP_PREFIX)]


def test_a_write_that_fills_the_disk_leaves_no_temporary(tmp_path):
    code = textwrap.dedent(f"""
        import errno
        from jupyter_tlt import atomic
        try:
            atomic.write_bytes({str(tmp_path / "big.bin")!r}, b"x" * 1_000_000)
        except OSError as exc:
            assert exc.errno == errno.EFBIG, exc
            print("failed as expected")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limited(4096))
    assert "failed as expected" in done.stdout, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_temporaries_of_killed_writers_are_cleaned_by_the_next_write(tmp_path):
    final = tmp_path / "model.onnx"
    code = textwrap.dedent(f"""
        import time
        from jupyter_tlt import atomic
        with atomic.atomic_path({str(final)!r}) as tmp:
            tmp.write_bytes(b"half a model")
            print(tmp, flush=True)
            time.sleep(600)
    """)
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    left = Path(writer.stdout.readline().strip())
    mine = tmp_path / (atomic.temp_prefix(final) + "in-progress")  # this live process's: kept
    mine.write_bytes(b"")
    other = tmp_path / ".tmp-other.onnx.x-1.y"  # another file's: kept
    other.write_bytes(b"")
    assert atomic.clean_stale(final) == []  # the writer is alive: nothing is stale
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert left.exists() and not final.exists()
    atomic.write_text(final, "complete")
    assert not left.exists() and mine.exists() and other.exists()
    assert final.read_text() == "complete"


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> str:
    return detection_records(tmp_path_factory.mktemp("faults"), n=16, width=96, height=64)


def test_training_on_a_full_disk_records_failed_and_leaves_no_temporary(records, tmp_path):
    spec = tmp_path / "spec.cfg"
    spec.write_text(detection_spec(records, epochs=2))
    run = tmp_path / "run"
    done = subprocess.run([TLT, "train", "detection", "-e", str(spec), "-r", str(run), "-q"], capture_output=True,
                          text=True, preexec_fn=limited(300_000), timeout=600)
    assert done.returncode == 2, done.stderr
    assert "no space left" in done.stderr and "Traceback" not in done.stderr
    info = json.loads((run / "experiment.json").read_text())
    assert info["status"] == "failed" and "no space left" in info["error"]
    assert temporaries(run) == []


def test_a_killed_training_shows_stopped_in_the_index(records, tmp_path):
    spec = tmp_path / "spec.cfg"
    spec.write_text(detection_spec(records, epochs=200))
    run = tmp_path / "runs" / "killed"
    trainer = subprocess.Popen([TLT, "train", "detection", "-e", str(spec), "-r", str(run), "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (run / "weights").is_dir() or not any((run / "weights").iterdir()):
            assert trainer.poll() is None, trainer.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
            time.sleep(0.5)
        index = ExperimentIndex(tmp_path / "runs")
        assert index.summaries()[0]["status"] == "running"
        info = Experiment(run).info()
        assert info["process"]["pid"] == trainer.pid and stopped_since(run, info) is None
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()
    summary = ExperimentIndex(tmp_path / "runs").summaries()[0]
    assert summary["status"] == "stopped" and summary["stopped"], summary
    assert Experiment(run).info()["status"] == "running"  # the record itself is untouched
