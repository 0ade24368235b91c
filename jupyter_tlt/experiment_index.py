"""Find the experiments under a folder and summarise them for the lab sidebar (no server code here).

An experiment is any directory that holds `experiment.json` (see `experiments.py`). The index walks
the root (depth-limited, skipping hidden folders, `node_modules`, `site-packages`) and caches every
directory listing, experiment.json and status.jsonl by modification time: a warm scan only stats
files, and status.jsonl is read once, then only the bytes appended since.

    >>> index = ExperimentIndex("~/work")
    >>> index.summaries()[0]          # newest first
    {'path': 'runs/detect', 'name': 'detect', 'task': 'detection', 'arch': 'resnet18',
     'status': 'finished', 'epoch': 3, 'epochs': 3, 'metric': {'name': 'mAP', 'value': 0.61}, ...}
    >>> [(a["path"], a["kind"]) for a in index.detail("runs/detect")["artifacts"]][-1]
    ('runs/detect/weights/model_epoch_003.keras', 'checkpoint')
    >>> resolve_inside("~/work", "../etc/passwd")
    Traceback (most recent call last):
    UnsafePath: path '../etc/passwd' contains '..'; ...
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .errors import DataError, TltError
from .experiments import (ARTIFACT_DIRS, CHECKPOINT, EVENTS, INFER, INFO, PRUNE, STATUSES, STOPPED, Experiment,
                          stopped_since)

MAX_DEPTH = 6
SKIP_DIRS = frozenset({"node_modules", "site-packages", "__pycache__"})
METRICS = ("mAP", "accuracy")  # the headline validation metric of detection, then classification
KINDS = ("checkpoint", "model", "pruned", "onnx", "engine", "calibration", "deepstream", "spec", "log",
         "report", "image", "labels", "other")
_IMAGES = (".jpg", ".jpeg", ".png")
MAX_ARTIFACTS = 10_000
_STATUS_OF_EVENT = {"start": "running", **{s: s for s in STATUSES}}
_FIELDS = re.compile(rb'"event":\s*"(' + "|".join(_STATUS_OF_EVENT).encode() + rb')"|"epoch":\s*(\d+)')
_VALIDATION = b'"validation"'
_DECODER = json.JSONDecoder(parse_constant=str)
_RACY_NS = 2_000_000_000  # a listing younger than this may change within the same mtime tick


class UnsafePath(TltError):
    """A path that is absolute, holds `..` or NUL, or resolves (through a symlink) outside the root."""


class ExperimentNotFound(TltError):
    """A path inside the root that holds no experiment.json."""


def resolve_inside(root: str | os.PathLike, relative: str) -> Path:
    """The real path of `relative` under `root`; UnsafePath if it could reach anything outside it.

    Example:
        >>> resolve_inside("/srv/work", "runs/detect")
        PosixPath('/srv/work/runs/detect')
    """
    text = str(relative)
    if "\0" in text:
        raise UnsafePath(f"path {text!r} contains a NUL byte; send a plain path relative to the experiments root")
    if text.startswith(("/", "\\")) or (":" in text and PureWindowsPath(text).drive):
        raise UnsafePath(f"path {text!r} is absolute; send a path relative to the experiments root")
    if ".." in text.replace("\\", "/").split("/"):
        raise UnsafePath(f"path {text!r} contains '..'; send a path that stays inside the experiments root")
    # os.path on strings, not pathlib: this runs for every path of every request (10x cheaper)
    base = os.path.realpath(os.path.expanduser(os.fspath(root)))
    target = os.path.realpath(os.path.join(base, text))
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise UnsafePath(f"path {text!r} resolves to {target}, outside the experiments root {base} (a symlink?); "
                         "only files inside the root are served")
    return Path(target)


def artifact_kind(relative: str | PurePosixPath) -> str:
    """The sidebar's kind of a file, from its path inside the results directory.

    Example:
        >>> artifact_kind("weights/model_epoch_007.keras"), artifact_kind("export/cal.bin")
        ('checkpoint', 'calibration')
    """
    path = PurePosixPath(relative)
    name, lower, suffix = path.name, path.name.lower(), path.suffix.lower()
    if name == INFO:
        return "spec"
    if name == EVENTS or suffix == ".log" or "tfevents" in lower:
        return "log"
    if CHECKPOINT.match(name):
        return "checkpoint"
    if INFER in path.parts[:-1] and suffix in _IMAGES:
        return "image"  # an inference run's drawn boxes
    if INFER in path.parts[:-1] and suffix == ".txt":
        return "labels"  # its KITTI label files
    if (lower.endswith("_prune_report.json") or suffix in (".csv", ".png", ".svg")
            or lower == "metrics.json"):
        return "report"
    if suffix == ".onnx":
        return "onnx"
    if suffix in (".engine", ".plan", ".trt"):
        return "engine"
    if lower == "cal.bin" or suffix in (".cache", ".tensorfile") or (suffix in (".hdf5", ".h5") and "cal" in lower):
        return "calibration"
    if lower == "labels.txt" or (lower.startswith("nvinfer") and "config" in lower and suffix == ".txt"):
        return "deepstream"
    if suffix in (".cfg", ".txt", ".prototxt"):
        return "spec"
    if PRUNE in lower or PRUNE in path.parts[:-1]:
        return "pruned"
    if suffix in (".keras", ".h5", ".hdf5", ".tlt", ".etlt"):
        return "model"
    return "other"


@dataclass
class _Events:
    """What the sidebar needs from status.jsonl, kept up to date by reading only appended bytes."""

    ino: int = -1
    offset: int = 0
    epoch: int | None = None
    status: str | None = None
    best: dict[str, float] = field(default_factory=dict)

    def advance(self, path: str, st: os.stat_result) -> _Events:
        state = self if self.ino == st.st_ino and self.offset <= st.st_size else _Events(ino=st.st_ino)
        if state.offset == st.st_size:
            return state
        with open(path, "rb") as f:
            f.seek(state.offset)
            data = f.read(st.st_size - state.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return state  # only a torn line so far
        chunk = data[:end]
        new = _Events(st.st_ino, state.offset + end + 1, state.epoch, state.status, dict(state.best))
        for match in _FIELDS.finditer(chunk):
            if match.group(1):
                new.status = _STATUS_OF_EVENT[match.group(1).decode()]
            else:
                new.epoch = max(new.epoch or 0, int(match.group(2)))
        at = chunk.find(_VALIDATION)
        while at >= 0:
            line_end = chunk.find(b"\n", at)
            line_end = len(chunk) if line_end < 0 else line_end
            record = _loads(chunk[chunk.rfind(b"\n", 0, at) + 1:line_end])
            if record.get("event") == "validation":
                for name in METRICS:
                    value = record.get(name)
                    if _finite(value) and value > new.best.get(name, float("-inf")):
                        new.best[name] = float(value)
            at = chunk.find(_VALIDATION, line_end)
        return new


def _loads(line: bytes | str) -> dict:
    try:
        value = _DECODER.decode(line.decode() if isinstance(line, bytes) else line)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and value not in (float("inf"), float("-inf"))


def _key(st: os.stat_result | None) -> tuple:
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st else ()


def _stat(path: str | Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


class ExperimentIndex:
    """Summaries and details of every experiment under `root`, cached by modification time.

    Thread-safe: concurrent `summaries()` calls share one scan in flight.

    Example:
        >>> index = ExperimentIndex("/srv/work")
        >>> [s["path"] for s in index.summaries()]
        ['runs/retrain', 'runs/detect']
    """

    def __init__(self, root: str | os.PathLike, max_depth: int = MAX_DEPTH):
        self.root = Path(root).expanduser().resolve()
        self.max_depth = max_depth
        self._root = str(self.root)
        self._prefix = self._root.rstrip(os.sep) + os.sep
        self._dirs: dict[str, tuple[int, tuple[str, ...], bool]] = {}
        self._infos: dict[str, tuple[tuple, dict]] = {}
        self._events: dict[str, _Events] = {}
        self._summaries: dict[str, tuple[tuple, dict]] = {}
        self._flight = threading.Condition()
        self._scanning = False
        self._generation = 0
        self._last: list[dict] = []

    def summaries(self) -> list[dict]:
        """One summary per experiment, newest first; the dicts are the cache's own, so do not modify them.

        A call made while a scan is running waits for that scan and shares its result.
        """
        with self._flight:
            if self._scanning:
                generation = self._generation
                self._flight.wait_for(lambda: self._generation != generation)
                return list(self._last)
            self._scanning = True
        result: list[dict] = []
        try:
            result = self._scan()
        finally:
            with self._flight:
                self._scanning = False
                self._generation += 1
                self._last = result
                self._flight.notify_all()
        return list(result)

    def detail(self, relative: str, artifacts: bool = True) -> dict:
        """The summary plus experiment.json (`info`), per-epoch `history` and every file (`artifacts`;
        left out with `artifacts=False`, which spares walking the folder)."""
        folder = resolve_inside(self.root, relative)
        if not (folder / INFO).is_file():
            raise ExperimentNotFound(f"{relative!r} under {self.root} holds no {INFO}; pick a path from the "
                                     "experiments list (directories with an experiment.json)")
        info = Experiment(folder).info()
        summary = self._summary(folder, _stat(folder / INFO), _stat(folder / EVENTS), store=False)
        return {**summary, "info": info, "history": history(folder / EVENTS),
                **({"artifacts": self.artifacts(folder)} if artifacts else {})}

    def artifacts(self, folder: Path) -> list[dict]:
        """Every file under `folder` (not nested experiments, hidden files or links leaving the root)."""
        found: list[dict] = []
        for top, dirs, files in os.walk(folder):
            here = Path(top)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                             and not (here / d / INFO).is_file())
            for name in sorted(files):
                path = here / name
                if name.startswith(".") or (path.is_symlink() and not path.resolve().is_relative_to(self.root)):
                    continue
                st = _stat(path)
                if st is None or not stat.S_ISREG(st.st_mode):
                    continue
                inside = path.relative_to(folder).as_posix()
                found.append({"path": self._relative(path), "name": inside, "kind": artifact_kind(inside),
                              "size": st.st_size, "mtime": st.st_mtime})
                if len(found) >= MAX_ARTIFACTS:
                    return found
        return found

    def _relative(self, path: str | Path) -> str:
        path = os.fspath(path)
        return path[len(self._prefix):] if path != self._root else "."

    def _scan(self) -> list[dict]:
        seen_dirs: dict[str, tuple[int, tuple[str, ...], bool]] = {}
        found: dict[str, tuple[tuple, dict]] = {}
        now = time.time_ns()
        stack = [(self._root, 0)]
        while stack:
            folder, depth = stack.pop()
            st = _stat(folder)
            if st is None:
                continue
            cached = self._dirs.get(folder)
            if cached and cached[0] == st.st_mtime_ns and now - st.st_mtime_ns > _RACY_NS:
                listing = cached
            else:
                listing = (st.st_mtime_ns, *self._list(folder))
            seen_dirs[folder] = listing
            if listing[2]:
                found[folder] = self._cached_summary(folder)
            if depth < self.max_depth:
                stack.extend((sub, depth + 1) for sub in listing[1])
        self._dirs = seen_dirs
        self._summaries = found
        self._infos = {p: v for p, v in self._infos.items() if p in found}
        self._events = {p: v for p, v in self._events.items() if p in found}
        rows = [summary for _, summary in found.values()]
        rows.sort(key=lambda s: (-s["mtime"], s["path"]))
        return rows

    @staticmethod
    def _list(folder: str) -> tuple[tuple[str, ...], bool]:
        """(subfolders worth searching, whether `folder` is an experiment); its artifact folders are not."""
        subdirs, has_info = [], False
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name == INFO:
                        has_info = True
                    elif (not entry.name.startswith(".") and entry.name not in SKIP_DIRS
                          and entry.is_dir(follow_symlinks=False)):
                        subdirs.append(entry.name)
        except OSError:
            pass
        if has_info:
            subdirs = [d for d in subdirs if d not in ARTIFACT_DIRS]
        return tuple(os.path.join(folder, d) for d in sorted(subdirs)), has_info

    def _cached_summary(self, folder: str) -> tuple[tuple, dict]:
        info_st, events_st = _stat(os.path.join(folder, INFO)), _stat(os.path.join(folder, EVENTS))
        key = (_key(info_st), _key(events_st))
        cached = self._summaries.get(folder)
        if cached and cached[0] == key:
            return cached
        return key, self._summary(folder, info_st, events_st)

    def _summary(self, folder: str | Path, info_st: os.stat_result | None, events_st: os.stat_result | None,
                 store: bool = True) -> dict:
        """`store=False` leaves the caches alone (callers outside the scan, which owns them)."""
        folder = os.fspath(folder)
        info = self._info(folder, info_st, store)
        events = self._events.get(folder, _Events())
        if events_st is not None:
            try:
                events = events.advance(os.path.join(folder, EVENTS), events_st)
            except OSError:
                pass
        if store:
            self._events[folder] = events
        status = info.get("status") if info.get("status") in STATUSES else events.status or "created"
        stopped = stopped_since(folder, info) if status == "running" else None
        if stopped is not None:
            status = STOPPED
        epoch = events.epoch if events.epoch is not None else info.get("epoch", info.get("initial_epoch", 0))
        metric = None
        for name in METRICS:
            value = events.best.get(name, info.get(name))
            if _finite(value):
                metric = {"name": name, "value": float(value)}
                break
        mtimes = [st.st_mtime for st in (info_st, events_st) if st is not None]
        return {"path": self._relative(folder), "name": str(info.get("name") or os.path.basename(folder)),
                "task": info.get("task"), "arch": info.get("arch"), "status": status,
                "epoch": epoch if isinstance(epoch, int) else 0, "epochs": info.get("epochs"),
                "metric": metric, "updated": info.get("updated"), "mtime": max(mtimes, default=0.0),
                **({"stopped": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(stopped))}
                   if stopped else {})}

    def _info(self, folder: str, st: os.stat_result | None, store: bool) -> dict:
        key = _key(st)
        cached = self._infos.get(folder)
        if cached and cached[0] == key:
            return cached[1]
        try:
            with open(os.path.join(folder, INFO), "rb") as f:
                info = _loads(f.read())
        except OSError:
            info = {}
        if store:
            self._infos[folder] = (key, info)
        return info


def history(events_path: Path) -> list[dict]:
    """Per-epoch records (`epoch_end` events), one per epoch: a resumed run's later record wins.

    Example:
        >>> history(Path("runs/detect/status.jsonl"))[0]
        {'epoch': 1, 'loss': 0.93, 'lr': 0.001, 'val_mAP': 0.12, 'time': 1718000000.0}
    """
    by_epoch: dict[int, dict] = {}
    try:
        with open(events_path, "rb") as f:
            for line in f:
                if b"epoch_end" not in line:
                    continue
                record = _loads(line)
                if record.get("event") == "epoch_end" and isinstance(record.get("epoch"), int):
                    record.pop("event")
                    by_epoch[record["epoch"]] = record
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DataError(f"{events_path}: unreadable event log ({exc}); check its permissions") from None
    return [by_epoch[e] for e in sorted(by_epoch)]
