"""Where a model came from: each model-making step records its parent and figures; `lineage` follows them.

Every step that writes a model (train, prune, export) appends one `model` event to the status.jsonl of
the experiment that holds the new file (the nearest folder above it with an experiment.json):

    {"event": "model", "step": "prune", "path": "prune/model_pruned.keras",
     "parent": {"model": "/abs/runs/detect/weights/model.keras", "experiment": "/abs/runs/detect",
                "sha256": "..."},
     "figures": {"parameters": 812345, "flops": 1.2e9, "size": 3301234, "precision": "fp32"}}

A registry parent is {"reference": "registry:NAME@VERSION", "name", "version", "sha256", "model"}.
`lineage(path)` walks parents from a model (or from an experiment folder: its newest model) back to
the first one and returns the chain oldest first (pretrained -> fine-tuned -> pruned -> retrained ->
exported). A model written elsewhere outside any experiment is not recorded; its parent is then read from the
provenance stored inside the file (`pruned.source`, `exported_from`), so the chain still connects.

    >>> [node["step"] for node in lineage("runs/retrain/export/model.onnx")]
    ['registry', 'train', 'prune', 'train', 'export']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from .experiments import EXPORT, INFER, INFO, PRUNE, Experiment

EVENT = "model"
MAX_UP = 4          # an experiment's models lie at most this deep in it (weights/, prune/, export/x/)
STEP_FOLDERS = (PRUNE, EXPORT, INFER)
MAX_CHAIN = 32      # a longer chain is a loop in hand-edited records
_HASH_CHUNK = 1 << 20
_EVENT_BYTES = b'"model"'
_CACHE_SIZE = 4096  # experiments whose model events are kept (a few hundred bytes each)
_EVENTS_CACHE: dict[str, tuple[tuple, list[dict]]] = {}
_CACHE_LOCK = threading.Lock()


def owning_experiment(path: str | os.PathLike) -> Path | None:
    """The nearest folder above `path` (up to MAX_UP levels) that holds an experiment.json."""
    folder = Path(os.path.abspath(path)).parent
    for _ in range(MAX_UP + 1):
        if (folder / INFO).is_file():
            return folder
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def sha256(path: str | os.PathLike) -> str | None:
    """The file's sha256 in hex (None if it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def parent_ref(model: str | os.PathLike | None, reference: str | None = None) -> dict | None:
    """How a step names the model it started from: a file (with its experiment) or a registry reference."""
    if not model:
        return None
    path = Path(os.path.abspath(model))
    ref: dict[str, Any] = {"model": str(path)}
    if reference:
        ref["reference"] = reference
        manifest = _manifest_of(path)
        if manifest:
            ref["name"], ref["version"] = manifest.get("name"), manifest.get("version")
            for entry in manifest.get("files", []):
                if isinstance(entry, dict) and path.name == Path(str(entry.get("path", ""))).name \
                        and entry.get("sha256"):
                    ref["sha256"] = entry["sha256"]
    owner = owning_experiment(path)
    if owner:
        ref["experiment"] = str(owner)
    ref.setdefault("sha256", sha256(path))
    return ref


def _manifest_of(path: Path) -> dict:
    """The registry manifest.json of a pulled model (in its folder or one above)."""
    for folder in (path.parent, path.parent.parent):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
    return {}


def keras_figures(model: Any, path: str | os.PathLike, **extra: Any) -> dict:
    """Parameters, FLOPs, file size and precision of a Keras model just saved at `path`."""
    from .models.flops import count_flops

    figures = {"parameters": int(model.count_params()), "flops": int(count_flops(model)),
               "size": file_size(path), "precision": "fp32"}
    figures.update({k: v for k, v in extra.items() if v is not None})
    return figures


def file_size(path: str | os.PathLike) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def record(output: str | os.PathLike, step: str, parent: dict | None, figures: dict,
           files: dict | None = None, task: str | None = None) -> bool:
    """Append the `model` event of `output` to its experiment's records; False when no experiment holds it.

    A model written into a folder named prune/, export/ or infer/ outside any experiment makes that
    folder an experiment of its own (status finished, `step` and `task` recorded).

    `files` names the other files the step wrote with the model ({kind: path}), e.g. an export's
    INT8 ONNX, calibration cache and DeepStream config. A failed write warns and never fails the step
    (the model is already written; only its history is incomplete).
    """
    owner = owning_experiment(output)
    folder = Path(os.path.abspath(output)).parent
    if owner is None and folder.name in STEP_FOLDERS:
        # demo/runs/prune/, demo/export/: a step's own results folder becomes its record, so the sidebar
        # lists what it holds and the chain continues through it
        try:
            exp = Experiment(folder)
            exp.start(task=task, step=step)
            exp.set_status("finished", model=str(Path(os.path.abspath(output))))
            owner = folder
        except OSError:
            return False
    if owner is None:
        return False
    inside = Path(os.path.abspath(output)).relative_to(owner).as_posix()
    extra = {"files": {k: _relative_or_abs(v, owner) for k, v in files.items()}} if files else {}
    try:
        Experiment(owner).log(EVENT, step=step, path=inside, parent=parent, figures=figures, **extra)
    except OSError as exc:
        from .progress import warn

        warn(f"{owner / 'status.jsonl'}: could not record where {inside} came from ({exc}); "
             "its lineage will stop there")
        return False
    return True


def _relative_or_abs(path: str | os.PathLike, owner: Path) -> str:
    full = Path(os.path.abspath(path))
    return full.relative_to(owner).as_posix() if full.is_relative_to(owner) else str(full)


def model_events(experiment: str | os.PathLike) -> list[dict]:
    """The `model` events of an experiment, oldest first (cached while status.jsonl is unchanged)."""
    path = Path(experiment) / "status.jsonl"
    try:
        st = os.stat(path)
    except OSError:
        return []
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        cached = _EVENTS_CACHE.get(str(path))
    if cached and cached[0] == key:
        return cached[1]
    found = []
    try:
        with open(path, "rb") as f:
            for line in f:
                if _EVENT_BYTES not in line:  # most lines are epochs: skip them without parsing
                    continue
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    if isinstance(event, dict) and event.get("event") == EVENT and isinstance(event.get("path"), str):
                        found.append(event)
    except OSError:
        return []
    with _CACHE_LOCK:
        if len(_EVENTS_CACHE) >= _CACHE_SIZE:
            _EVENTS_CACHE.pop(next(iter(_EVENTS_CACHE)))
        _EVENTS_CACHE[str(path)] = (key, found)
    return found


def lineage(target: str | os.PathLike) -> list[dict]:
    """The chain of models ending at `target` (a model file, or an experiment folder: its newest model).

    Each node: {"step", "path" (absolute), "experiment" (absolute or None), "figures", "files",
    "time"}, plus "reference", "name", "version", "sha256" for a registry model. Oldest first.
    """
    target = Path(os.path.abspath(target))
    if (target / INFO).is_file():
        events = model_events(target)
        if not events:
            return []
        target = target / events[-1]["path"]
    chain: list[dict] = []
    seen: set[str] = set()
    current: dict | None = {"model": str(target)}
    while current and len(chain) < MAX_CHAIN:
        path = current.get("model")
        if current.get("reference"):
            chain.append({"step": "registry", "path": path, "experiment": None, "figures": {}, "files": {},
                          **{k: current.get(k) for k in ("reference", "name", "version", "sha256")}})
            break
        if not path or path in seen:
            break
        seen.add(path)
        node, current = _node(Path(path), current)
        chain.append(node)
    chain.reverse()
    return chain


def _node(path: Path, ref: dict) -> tuple[dict, dict | None]:
    """The node of the model at `path` and the reference to its parent (None at the start of the chain)."""
    owner = owning_experiment(path)
    event: dict = {}
    if owner is not None:
        inside = path.relative_to(owner).as_posix() if path.is_relative_to(owner) else None
        for candidate in model_events(owner):
            if candidate["path"] == inside:
                event = candidate  # the newest record wins (a re-export with --overwrite)
    node = {"step": event.get("step") or _guess_step(path), "path": str(path),
            "experiment": str(owner) if owner else None, "figures": event.get("figures") or {},
            "files": {k: str(owner / v) if owner and not os.path.isabs(v) else v
                      for k, v in (event.get("files") or {}).items()},
            "time": event.get("time"), "exists": path.is_file()}
    if event:
        return node, event.get("parent")
    return node, _parent_from_file(path)


def _guess_step(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return EXPORT
    if PRUNE in path.name.lower() or path.parent.name == PRUNE:
        return PRUNE
    return "model"


def _parent_from_file(path: Path) -> dict | None:
    """The parent named by the provenance inside a model file (for models written outside experiments)."""
    try:
        if path.suffix.lower() == ".onnx":
            from .export.step import onnx_info

            info = onnx_info(path)
            source = info.get("exported_from")
        elif path.suffix.lower() in (".keras", ".h5", ".hdf5"):
            from .model_info import read_info

            info = read_info(path)
            source = (info.get("pruned") or {}).get("source")
        else:
            return None
    except Exception:  # an unreadable or encrypted file: the chain starts here
        return None
    if not isinstance(source, str) or not source:
        return None
    source_path = Path(source) if os.path.isabs(source) else (path.parent / source)
    if not source_path.exists():
        source_path = Path(os.path.abspath(source))
    return {"model": str(source_path)}


class Lineage(list):
    """`lineage`'s chain, printed as one line per model (what `tlt lineage` and `%tlt lineage` show).

    Example:
        >>> print(Lineage(lineage("runs/retrain")))
        registry  registry:detectnet@1  sha256 3f2a…
        train     runs/detect/weights/model.keras  1.2M params, 3.1 GFLOPs, 4.7 MB, mAP 61.0%
    """

    def rows(self) -> list[tuple[str, str, str]]:
        out = []
        for node in self:
            where = node.get("reference") or _shown_path(node.get("path"))
            out.append((node["step"], where, describe(node)))
        return out

    def __str__(self) -> str:
        if not self:
            return "no model recorded yet (train, prune or export record one)"
        rows = self.rows()
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{step:<{width}}  {where}" + (f"  {text}" if text else "") for step, where, text in rows)

    def _repr_html_(self) -> str:
        import html

        body = "".join(f"<tr><td>{html.escape(s)}</td><td><code>{html.escape(w)}</code></td>"
                       f"<td>{html.escape(t)}</td></tr>" for s, w, t in self.rows())
        return f"<table><tr><th>step</th><th>model</th><th>figures</th></tr>{body}</table>"


def _shown_path(path: str | None) -> str:
    if not path:
        return "?"
    with contextlib.suppress(ValueError):
        return os.path.relpath(path)
    return path


def describe(node: dict) -> str:
    """A node's figures in words: parameters, FLOPs, size, precision, headline metric."""
    f = node.get("figures") or {}
    parts = []
    if isinstance(f.get("parameters"), int):
        parts.append(f"{f['parameters'] / 1e6:.2f}M params")
    if isinstance(f.get("flops"), (int, float)):
        parts.append(f"{f['flops'] / 1e9:.2f} GFLOPs")
    if isinstance(f.get("size"), int):
        parts.append(f"{f['size'] / 2**20:.1f} MB")
    if f.get("precision"):
        parts.append(str(f["precision"]))
    metrics = f.get("metrics") or {}
    for name, label in (("mAP", "mAP (level all)"), ("accuracy", "accuracy")):
        if isinstance(metrics.get(name), (int, float)):
            parts.append(f"{label} {100 * metrics[name]:.1f}%")
    if node.get("sha256"):
        parts.append(f"sha256 {node['sha256'][:12]}")
    return ", ".join(parts)
