"""Which experiments are trials of a search, read back from the files `tlt tune` and `tlt compress`
write (never Optuna or TensorFlow: the lab's server lists them).

A search folder holds `trials/<name>/` (each an experiment) and its own files: `tune.db`, `tune.lock`
while it runs and `tune.json` once it ended (`search.py`), or `prune/` and `compression.json`
(`compression.py`). Each trial's objective and state come from the summary file when there is one.

    >>> rows = ExperimentIndex("/srv/work").summaries()
    >>> group_searches(Path("/srv/work"), rows)[0]
    {'path': 'runs/tune', 'name': 'tune', 'kind': 'tune', 'state': 'finished', 'objective': 'accuracy',
     'count': 4, 'best': {'path': 'runs/tune/trials/trial_0002', 'value': 0.81},
     'trials': [{'path': 'runs/tune/trials/trial_0000', 'state': 'complete', 'value': 0.62}, ...]}
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

from ..atomic import pid_alive
from .layout import COMPRESS_PRUNED, COMPRESS_SUMMARY, TRIALS, TUNE_FILES, TUNE_LOCK, TUNE_SUMMARY


_LOCK = threading.Lock()
_SUMMARIES: dict[str, tuple[tuple, dict]] = {}


def group_searches(root: Path, rows: list[dict]) -> list[dict]:
    """The searches whose trials are among the experiment summaries `rows` (paths relative to `root`),
    in the order of their newest trial in `rows`; experiments of no search are left out."""
    by_folder: dict[str, list[dict]] = {}
    for row in rows:
        parent, _, _ = row["path"].rpartition("/")
        folder, _, trials = parent.rpartition("/")
        if trials == TRIALS:
            by_folder.setdefault(folder, []).append(row)
    found = []
    for folder, trials in by_folder.items():
        search = _search(root, folder, trials)
        if search is not None:
            found.append(search)
    return found


def _search(root: Path, relative: str, trials: list[dict]) -> dict | None:
    folder = root / relative if relative else root
    kind = _kind(folder)
    if kind is None:
        return None
    summary = _read_summary(folder / (TUNE_SUMMARY if kind == "tune" else COMPRESS_SUMMARY))
    known = _trial_outcomes(summary, kind)
    shown = []
    for row in sorted(trials, key=lambda r: r["path"]):
        name = row["path"].rpartition("/")[2]
        state, value = known.get(name, (None, None))
        if row["status"] == "running" or state is None:
            state = "running" if row["status"] == "running" else row["status"]
        shown.append({"path": row["path"], "state": state.lower(), "value": value})
    scored = [t for t in shown if isinstance(t["value"], (int, float))]
    best = max(scored, key=lambda t: t["value"]) if scored else None
    running = any(t["state"] == "running" for t in shown) or _locked(folder / TUNE_LOCK)
    state = "running" if running else ("finished" if summary else "interrupted")
    return {"path": relative, "name": os.path.basename(relative) or os.path.basename(root), "kind": kind,
            "state": state, "objective": summary.get("objective"), "count": len(shown),
            "best": {"path": best["path"], "value": best["value"]} if best else None, "trials": shown}


def _kind(folder: Path) -> str | None:
    if any((folder / name).exists() for name in TUNE_FILES):
        return "tune"
    if (folder / COMPRESS_SUMMARY).is_file() or (folder / COMPRESS_PRUNED).is_dir():
        return "compress"
    return None


def _trial_outcomes(summary: dict, kind: str) -> dict[str, tuple[str | None, float | None]]:
    """{trial folder name: (state, objective)} from tune.json's trials or compression.json's rows."""
    rows = summary.get("trials" if kind == "tune" else "rows")
    out: dict[str, tuple[str | None, float | None]] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("experiment"), str) or not row["experiment"]:
            continue
        value = row.get("value")
        state = row.get("state", "complete") if isinstance(row.get("state", "complete"), str) else None
        out[Path(row["experiment"]).name] = (state, float(value) if _number(value) else None)
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and value not in (float("inf"), float("-inf"))


def _read_summary(path: Path) -> dict:
    """A search's summary JSON, kept while the file is unchanged; {} while there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _LOCK:
        cached = _SUMMARIES.get(str(path))
    if cached and cached[0] == key:
        return cached[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        data = {}
    data = data if isinstance(data, dict) else {}
    with _LOCK:
        if len(_SUMMARIES) > 256:
            _SUMMARIES.pop(next(iter(_SUMMARIES)))
        _SUMMARIES[str(path)] = (key, data)
    return data


def _locked(path: Path) -> bool:
    """Whether tune.lock names a live search process on this host (a killed search leaves it behind)."""
    try:
        held = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    pid = held.get("pid") if isinstance(held, dict) else None
    return held.get("host") == socket.gethostname() and isinstance(pid, int) and pid > 0 and pid_alive(pid)
