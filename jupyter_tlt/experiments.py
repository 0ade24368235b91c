"""An experiment's results directory: the single source of truth for its state, and the one owner of
its layout (every step asks `Experiment` where to write).

    <results>/experiment.json   task, arch, spec snapshot, created/updated, status
    <results>/status.jsonl      one event per line (epoch, loss, lr, metrics, errors)
    <results>/weights/          checkpoints model_epoch_NNN.keras and the final model
    <results>/tensorboard/      TensorBoard logs
    <results>/evaluate/         metrics.json, PR curves or confusion matrix, analysis/
    <results>/prune/            pruned models and their reports
    <results>/export/           model.onnx, cal.bin, labels.txt, nvinfer_config.txt, engines
    <results>/.heartbeat        touched every few seconds while a training process runs

A model inside an experiment (in its weights/ or prune/ folder) belongs to that experiment:
``Experiment.of_model(path)`` is where evaluate and export write for it by default.

Nothing else keeps state: the CLI, the magics and the lab sidebar all read these files. A run whose
process was killed (``kill -9``, a reboot) cannot record that it ended: `stopped_since` tells it from
the process recorded at start (host, pid) and the heartbeat's age.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from . import atomic
from .errors import DataError

STATUSES = ("created", "running", "finished", "failed", "interrupted")
STOPPED = "stopped"  # shown, never recorded: "running" whose process is gone
HEARTBEAT = ".heartbeat"
STOP_REQUEST = ".stop"  # written by the lab's Stop; training stops after the next checkpoint
HEARTBEAT_SECONDS = 10
HEARTBEAT_STALE_SECONDS = 12 * HEARTBEAT_SECONDS  # another host's run: no heartbeat for this long
CHECKPOINT = re.compile(r"^model_epoch_(\d{3,})\.keras$")  # weights/model_epoch_NNN.keras
WEIGHTS, TENSORBOARD, EVALUATE, PRUNE, EXPORT, INFER = "weights", "tensorboard", "evaluate", "prune", "export", "infer"
ARTIFACT_DIRS = frozenset({WEIGHTS, TENSORBOARD, EVALUATE, PRUNE, EXPORT, INFER})  # step outputs, not experiments
RETRAIN = "retrain"
INFO, EVENTS = "experiment.json", "status.jsonl"
MODEL_DIRS = (WEIGHTS, PRUNE)  # a model file in one of these belongs to the folder above it


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _jsonable(value: Any) -> Any:
    """Numbers from numpy/TensorFlow as plain floats; NaN and inf as strings (JSON has neither)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class Experiment:
    """Handle on one results directory.

    Example:
        >>> exp = Experiment("runs/detect")
        >>> exp.start(task="detection", arch="resnet18", spec_text=text)
        >>> exp.log("epoch_end", epoch=1, loss=0.42)
        >>> exp.latest_checkpoint()
    """

    root: Path

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @classmethod
    def of_model(cls, model_path: str | os.PathLike) -> "Experiment":
        """The experiment a model file belongs to: the folder above its weights/ or prune/ folder, else
        the model's own folder.

            >>> Experiment.of_model("runs/detect/prune/model_pruned.keras").root   # runs/detect
        """
        parent = Path(model_path).resolve().parent
        return cls(parent.parent if parent.name in MODEL_DIRS else parent)

    @property
    def weights_dir(self) -> Path:
        return self.root / WEIGHTS

    @property
    def tensorboard_dir(self) -> Path:
        return self.root / TENSORBOARD

    @property
    def evaluate_dir(self) -> Path:
        return self.root / EVALUATE

    @property
    def prune_dir(self) -> Path:
        return self.root / PRUNE

    @property
    def export_dir(self) -> Path:
        return self.root / EXPORT

    def pruned_model_path(self, model_path: str | os.PathLike) -> Path:
        """prune/<model>_pruned.keras: where a pruned copy of `model_path` goes by default."""
        return self.prune_dir / f"{Path(model_path).stem}_pruned.keras"

    @property
    def retrain_dir(self) -> Path:
        """retrain/: the default results directory (an experiment of its own) of retraining a pruned model."""
        return self.root / RETRAIN

    def export_path(self, model_path: str | os.PathLike) -> Path:
        """export/<model>.onnx: where `model_path` is exported by default."""
        return self.export_dir / f"{Path(model_path).stem}.onnx"

    @property
    def info_path(self) -> Path:
        return self.root / INFO

    @property
    def events_path(self) -> Path:
        return self.root / EVENTS

    def info(self) -> dict:
        """experiment.json as a dict ({} when the directory holds no experiment yet)."""
        try:
            return json.loads(self.info_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{self.info_path}: unreadable experiment record ({exc}); "
                            "remove it or use another results directory.") from None

    def start(self, **fields: Any) -> None:
        """Create or update experiment.json with `fields` and status "running"."""
        atomic.ensure_writable_dir(self.root)
        info = self.info()
        info.setdefault("created", _now())
        info.pop("error", None)
        info.update(_jsonable(fields))
        info["status"] = "running"
        info["updated"] = _now()
        info["process"] = {"pid": os.getpid(), "host": socket.gethostname()}
        self.clear_stop()  # a stop asked of an earlier run does not stop this one
        self.beat()
        atomic.write_text(self.info_path, json.dumps(info, indent=2) + "\n")
        self.log("start", **{k: v for k, v in fields.items() if k != "spec"})

    def beat(self) -> None:
        """Touch the heartbeat file (its modification time is the heartbeat)."""
        with contextlib.suppress(OSError):  # a full disk must not end the run; the pid still tells
            (self.root / HEARTBEAT).touch()

    @contextlib.contextmanager
    def heartbeat(self, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
        """Beat every `every` seconds in a daemon thread while the block runs."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                self.beat()

        thread = threading.Thread(target=run, name="jupyter-tlt-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def set_status(self, status: str, **fields: Any) -> None:
        assert status in STATUSES, status
        info = self.info()
        info.update(_jsonable(fields))
        info["status"] = status
        info["updated"] = _now()
        atomic.write_text(self.info_path, json.dumps(info, indent=2) + "\n")
        self.log(status, **fields)

    def log(self, event: str, **fields: Any) -> None:
        """Append one event line to status.jsonl (one write call, so readers never see half a line)."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": time.time(), "event": event, **_jsonable(fields)}) + "\n"
        with open(self.events_path, "a", encoding="utf-8") as f:
            f.write(line)

    def events(self) -> Iterator[dict]:
        """Events in order; a torn last line (a process killed mid-write) is skipped."""
        try:
            with open(self.events_path, encoding="utf-8") as f:
                for line in f:
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue
        except FileNotFoundError:
            return

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every complete checkpoint, oldest first."""
        if not self.weights_dir.is_dir():
            return []
        found = []
        for p in self.weights_dir.iterdir():
            m = CHECKPOINT.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        points = self.checkpoints()
        return points[-1] if points else None

    def checkpoint_path(self, epoch: int) -> Path:
        return self.weights_dir / f"model_epoch_{epoch:03d}.keras"

    def request_stop(self) -> None:
        """Ask a running training to stop cleanly after its next checkpoint (it resumes when started again)."""
        atomic.write_text(self.root / STOP_REQUEST, _now() + "\n")

    def stop_requested(self) -> bool:
        return (self.root / STOP_REQUEST).exists()

    def clear_stop(self) -> None:
        (self.root / STOP_REQUEST).unlink(missing_ok=True)

    def lineage(self, model: str | os.PathLike | None = None) -> list[dict]:
        """The chain of models (oldest first) ending at `model`, default this experiment's newest model.

        Example:
            >>> [n["step"] for n in Experiment("runs/retrain").lineage()]
            ['registry', 'train', 'prune', 'train', 'export']
        """
        from .lineage import lineage

        return lineage(model if model is not None else self.root)


def stopped_since(root: str | os.PathLike, info: dict, now: float | None = None) -> float | None:
    """When a "running" experiment's process was last seen, if it is gone (None while it runs).

    Gone: on this host, its pid no longer exists; on another host (a shared disk), its heartbeat is
    older than HEARTBEAT_STALE_SECONDS. Records without a process (older versions) are left as they are.
    """
    from .atomic import pid_alive

    process = info.get("process")
    if info.get("status") != "running" or not isinstance(process, dict):
        return None
    try:
        last = os.stat(os.path.join(root, HEARTBEAT)).st_mtime
    except OSError:
        last = None
    pid = process.get("pid")
    if process.get("host") == socket.gethostname() and isinstance(pid, int):
        return None if pid_alive(pid) else (last or 0.0)
    now = time.time() if now is None else now
    return last if last is not None and now - last > HEARTBEAT_STALE_SECONDS else None
