"""The sidebar's dashboard answers: a model's lineage and several runs side by side (no tornado here).

Paths in and out are relative to the experiments root, as everywhere in the sidebar API; a model of the
chain that lies outside the root is shown by name only (`outside: true`) and cannot be opened.

    >>> lineage_answer(index, "runs/retrain/export/model.onnx")["nodes"][0]["step"]
    'train'
    >>> compare_answer(index, ["runs/a", "runs/b"])["spec_diff"][0]
    {'field': 'training_config.num_epochs', 'values': ['2', '3']}
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

from ..errors import TltError
from ..experiment_index import ExperimentIndex, ExperimentNotFound, resolve_inside
from ..experiments import EVENTS, INFO, STOPPED, stopped_since
from ..lineage import describe, lineage
from .encoding import encode

MAX_COMPARE = 64
MAX_CACHED = 256  # experiments whose comparison data is kept (their history: some 40 KB each)
MAX_BODIES = 32   # encoded comparisons kept (one per selection the open compare tabs show)
MAX_POINTS = 500  # epochs of a curve sent to the browser
_RUNS: dict[str, tuple[tuple, dict, dict, dict | None]] = {}
_BODIES: OrderedDict[tuple, tuple[list, bytes]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_FIELD = re.compile(r"^\s*([A-Za-z_][\w]*)\s*:\s*(.*?)\s*$")
_OPEN = re.compile(r"^\s*([A-Za-z_][\w]*)\s*\{\s*$")


class TooMany(TltError):
    """More runs than a comparison shows."""


def lineage_answer(index: ExperimentIndex, relative: str) -> dict:
    """{"path", "nodes": [{step, path, experiment, figures, files, summary, exists, ...}]}, oldest first."""
    target = resolve_inside(index.root, relative)
    if not target.exists():
        raise ExperimentNotFound(f"{relative!r}: no such model or experiment under {index.root}; pick an "
                                 "artifact or an experiment from the experiments list")
    nodes = []
    for node in lineage(target):
        shown = {**node, "summary": describe(node)}
        for key in ("path", "experiment"):
            shown[key] = _inside(index.root, node.get(key))
        shown["outside"] = node.get("path") is not None and shown["path"] is None
        if shown["outside"]:
            shown["name"] = os.path.basename(node["path"])
        shown["files"] = {k: p for k, p in ((k, _inside(index.root, v)) for k, v in node["files"].items()) if p}
        nodes.append(shown)
    return {"path": relative, "nodes": nodes}


def _inside(root: Path, path: str | None) -> str | None:
    if not path:
        return None
    full = Path(path)
    if not full.is_relative_to(root):
        return None
    relative = full.relative_to(root).as_posix()
    return relative if relative != "." else ""


def compare_answer(index: ExperimentIndex, paths: list[str]) -> dict:
    """Each run's summary, per-epoch history (at most MAX_POINTS epochs) and final metrics, and the spec
    fields that differ."""
    runs = [_compared(index, relative) for relative in _unique(paths)]
    return {"runs": [row for row, _ in runs], "spec_diff": spec_diff([spec for _, spec in runs])}


def compare_body(index: ExperimentIndex, paths: list[str]) -> bytes:
    """`compare_answer` encoded, the bytes kept while none of the runs changed: 20 clients polling the
    same comparison cost a stat of each run's two files, not a parse and a 50 KB `json.dumps` each.

    Example:
        >>> json.loads(compare_body(index, ["runs/a", "runs/b"]))["runs"][0]["path"]
        'runs/a'
    """
    runs = [_compared(index, relative) for relative in _unique(paths)]
    key = tuple(id(row) for row, _ in runs)  # a run's row is a new object whenever its files changed
    with _CACHE_LOCK:
        cached = _BODIES.get(key)
        if cached is not None and all(a is b for a, (b, _) in zip(cached[0], runs)):
            _BODIES.move_to_end(key)
            return cached[1]
    body = encode({"runs": [row for row, _ in runs], "spec_diff": spec_diff([spec for _, spec in runs])}).encode()
    with _CACHE_LOCK:
        _BODIES[key] = ([row for row, _ in runs], body)
        while len(_BODIES) > MAX_BODIES:
            _BODIES.popitem(last=False)
    return body


def _unique(paths: list[str]) -> list[str]:
    if len(paths) < 1:
        raise TltError("no experiments to compare: send ?path=A&path=B (two or more experiment paths)")
    if len(paths) > MAX_COMPARE:
        raise TooMany(f"{len(paths)} experiments: a comparison shows at most {MAX_COMPARE}; select fewer")
    return list(dict.fromkeys(paths))


def _compared(index: ExperimentIndex, relative: str) -> tuple[dict, dict[str, str]]:
    """(a run's row of the answer, its flattened spec), kept while experiment.json and status.jsonl are
    unchanged (parsing a long status.jsonl and the spec is most of a comparison's cost). A "running"
    run's liveness is checked on every call: its process may die without touching either file."""
    folder = str(resolve_inside(index.root, relative))
    key = tuple(_stat_key(os.path.join(folder, name)) for name in (INFO, EVENTS))
    with _CACHE_LOCK:
        cached = _RUNS.get(folder)
    if not (cached and cached[0] == key and key[0]):
        detail = index.detail(relative, artifacts=False)
        info = detail.get("info") or {}
        spec = info.get("spec") if isinstance(info.get("spec"), str) else ""
        row = ({k: detail.get(k) for k in ("path", "name", "task", "arch", "status", "epoch", "epochs", "metric",
                                           "updated")}
               | {"history": thin(detail["history"], MAX_POINTS), "final": _final(info)})
        cached = (key, row, flatten_spec(spec), info if info.get("status") == "running" else None)
        with _CACHE_LOCK:
            if len(_RUNS) >= MAX_CACHED:
                _RUNS.pop(next(iter(_RUNS)))
            _RUNS[folder] = cached
    _, row, spec, running_info = cached
    if running_info is not None:
        status = STOPPED if stopped_since(folder, running_info) is not None else "running"
        if status != row["status"]:
            row = {**row, "status": status}
            with _CACHE_LOCK:
                _RUNS[folder] = (key, row, spec, running_info)
    return row, spec


def thin(history: list[dict], points: int) -> list[dict]:
    """At most `points` records of a per-epoch history, evenly spread, the first and the last kept (a
    chart of 5000 epochs shows no more than one of 500, and the browser draws it 10x faster).

    Example:
        >>> [r["epoch"] for r in thin([{"epoch": e} for e in range(1, 11)], 4)]
        [1, 4, 7, 10]
    """
    if len(history) <= points or points < 2:
        return history
    last = len(history) - 1
    picked = sorted({round(i * last / (points - 1)) for i in range(points)})
    return [history[i] for i in picked]


def _stat_key(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _final(info: dict) -> dict:
    """The last validation's figures as experiment.json records them at the end of a run."""
    skip = {"task", "arch", "class_names", "epochs", "batch_size", "replicas", "spec", "initial_epoch", "transfer",
            "created", "updated", "status", "process", "model", "error", "name", "epoch"}
    return {k: v for k, v in info.items() if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)}


def flatten_spec(text: str) -> dict[str, str]:
    """A spec in protobuf text format as {dotted.field: value}; repeated fields get [i].

    Example:
        >>> flatten_spec('training_config { num_epochs: 3 }')
        {'training_config.num_epochs': '3'}
    """
    flat: dict[str, str] = {}
    stack: list[str] = []
    counts: list[dict[str, int]] = [{}]

    def name_of(field: str) -> str:
        seen = counts[-1].get(field, 0)
        counts[-1][field] = seen + 1
        return f"{field}[{seen}]" if seen else field

    for raw in text.replace("{", "{\n").replace("}", "\n}\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "}":
            if stack:
                stack.pop()
                counts.pop()
            continue
        opened = _OPEN.match(line)
        if opened:
            stack.append(name_of(opened.group(1)))
            counts.append({})
            continue
        for field, value in _pairs(line):
            flat[".".join([*stack, name_of(field)])] = value
    return flat


def _pairs(line: str) -> list[tuple[str, str]]:
    """`key: "v" other: 3` -> [(key, '"v"'), (other, '3')] (values without spaces, or quoted)."""
    return re.findall(r'([A-Za-z_]\w*)\s*:\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[^\s"\']+)', line)


def spec_diff(specs: list[dict[str, str]]) -> list[dict]:
    """The fields whose values differ between the specs (a missing field is null), sorted by name."""
    if len(specs) < 2:
        return []
    fields = sorted(set().union(*specs))
    out = []
    for field in fields:
        values = [spec.get(field) for spec in specs]
        if len(set(values)) > 1:
            out.append({"field": field, "values": [_unquote(v) for v in values]})
    return out


def _unquote(value: str | None) -> str | None:
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value

