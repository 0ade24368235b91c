"""`Registry`: list models and versions, pull a verified copy, push a model as a new version.

    >>> reg = Registry()                                # --registry URL, $TLT_REGISTRY or the local default
    >>> reg.models().to_frame()                         # the catalogue plus everything pushed
    >>> reg.push("runs/src/weights/model.keras", "detectnet_v2_resnet18", "1", description="synthetic source")
    >>> path = reg.pull("detectnet_v2_resnet18", dest="pretrained")   # latest version; returns the model file

A push uploads the files, then the manifest, then updates the index: readers never see a version
whose files are not all there. A pull verifies every file against the manifest's sha256.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..atomic import write_text
from ..errors import DataError, OutputError, quote_input
from .catalogue import CATALOGUE, HOW_TO_GET_WEIGHTS
from .download import fetch_verified, folder_lock
from .manifest import (FORMAT, INDEX, check_index, check_manifest, check_name, empty_index, manifest_path,
                       newest_first, sha256_file)
from .results import ModelList, VersionList, human_size
from .storage import ENV, Storage, default_url

_DESCRIBED = ("task", "arch", "input_size", "description")


@dataclass
class PushResult:
    name: str
    version: str
    registry: str
    manifest: dict

    def __str__(self) -> str:
        size = sum(f["size"] for f in self.manifest["files"])
        return f"Pushed {self.name} version {self.version} ({human_size(size)}) to {self.registry}"


class NotInRegistry(DataError):
    """A model or version the registry does not have (the message lists what it has)."""


class _ByteCounter:
    """Forwards byte counts to a progress bar and to an optional `on_progress(done, total)` callback."""

    def __init__(self, bar, total: int, on_progress: Callable[[int, int], None] | None):
        self.bar, self.total, self.on_progress, self.done = bar, total, on_progress, 0

    def update(self, n: int) -> None:
        self.done += n
        self.bar.update(n)
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)


class Registry:
    """A model registry on any fsspec URL (see `storage.py`); `None` means the default location."""

    def __init__(self, url: str | os.PathLike | None = None, storage_options: dict | None = None):
        self.url = str(url) if url else default_url()
        self.chosen = bool(url) or bool(os.environ.get(ENV))  # the built-in default folder may not exist yet
        self.storage = Storage(self.url, storage_options)

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    # reading

    def index(self) -> dict:
        """The checked index; DataError if a registry that was asked for (URL, $TLT_REGISTRY) is not there."""
        return self._index(must_exist=True)

    def _index(self, must_exist: bool) -> dict:
        raw = self.storage.read_json(INDEX)
        if raw is None and self.storage.read_only:
            raise DataError(f"{self.storage.where(INDEX)}: not found, so {self.url} is not a registry; check the "
                            "URL: it must point at the folder that holds index.json")
        if raw is None and must_exist and self.chosen and self.storage.local and not self.storage.fs.isdir(
                self.storage.root):
            raise DataError(f"registry {self.url}: no such folder; check --registry (or ${ENV}), or create the "
                            "registry by pushing a model to it (tlt push MODEL --model_name NAME --version 1)")
        return empty_index() if raw is None else check_index(raw, self.storage.where(INDEX))

    def models(self) -> ModelList:
        """Every model of the catalogue or the index, by name, with its latest version's size and metrics."""
        pushed = self.index()["models"]
        rows = []
        for name in sorted(set(CATALOGUE) | set(pushed)):
            entry = {**CATALOGUE.get(name, {}), **{k: v for k, v in pushed.get(name, {}).items() if v is not None}}
            versions = entry.get("versions", {})
            latest = newest_first(versions)[0] if versions else None
            summary = versions.get(latest, {})
            rows.append({"name": name, **{k: entry.get(k) for k in _DESCRIBED}, "latest": latest,
                         "versions": len(versions), "size": summary.get("size"),
                         "metrics": summary.get("metrics") or {}})
        return ModelList(rows)

    def versions(self, name: str) -> VersionList:
        """The versions of `name`, newest first (empty for a catalogue model nobody has pushed yet)."""
        check_name(name, "model name")
        pushed = self.index()["models"]
        if name not in pushed and name not in CATALOGUE:
            known = sorted(set(CATALOGUE) | set(pushed))
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise NotInRegistry(f"registry {self.url} has no model {quote_input(name)}; {hint}list them with "
                                "tlt pull --list_models")
        details = pushed.get(name, {}).get("versions", {})
        return VersionList(name, newest_first(details), details)

    def manifest(self, name: str, version: str | None = None) -> dict:
        """The manifest of `version` (default: the latest) of `name`."""
        return self._read_manifest(name, self.resolve_version(name, version))

    def _read_manifest(self, name: str, version: str) -> dict:
        where = self.storage.where(manifest_path(name, version))
        raw = self.storage.read_json(manifest_path(name, version))
        if raw is None:
            raise DataError(f"{where}: missing although the index lists {name} version {version}; the registry "
                            "is damaged: push this version again with --overwrite")
        return check_manifest(raw, where, name, version)

    def has_version(self, name: str, version: str) -> bool:
        """Whether `version` of `name` exists (index or manifest); a registry folder not created yet has none."""
        pushed = self._index(must_exist=False)["models"].get(name, {}).get("versions", {})
        return str(version) in pushed or self.storage.read_bytes(manifest_path(name, str(version))) is not None

    def resolve_version(self, name: str, version: str | None = None) -> str:
        """`version` if `name` has it, else the latest; NotInRegistry or DataError (no weights yet)."""
        versions = self.versions(name)
        if not versions:
            raise DataError(f"{name} has no version with weights in registry {self.url} yet: "
                            + HOW_TO_GET_WEIGHTS.format(name=name))
        if version is None:
            return versions[0]
        if check_name(version, "version") not in versions:
            raise NotInRegistry(f"{name} has no version {quote_input(version)} in registry {self.url}; its "
                                f"versions: {', '.join(versions)}")
        return str(version)

    def pull(self, name: str, version: str | None = None, dest: str | os.PathLike = ".", *,
             progress: bool = True, on_progress: Callable[[int, int], None] | None = None) -> Path:
        """Copy a version into `dest/<name>/<version>/` (verified, locked); returns the model file's path.

        `on_progress(done_bytes, total_bytes)` is called as bytes arrive (the lab sidebar's progress).
        """
        from ..progress import bar

        version = self.resolve_version(name, version)
        manifest = self._read_manifest(name, version)
        folder = Path(dest).expanduser() / check_name(name, "model name") / check_name(version, "version")
        total = sum(f["size"] for f in manifest["files"])
        with folder_lock(folder.parent / f".{version}.lock"):
            _forget_overwritten(folder, manifest)
            with bar(total=total, desc=f"pull {name}:{version}", unit="B", enabled=progress) as b:
                b.unit_scale, b.unit_divisor = True, 1024
                counter = _ByteCounter(b, total, on_progress)
                for entry in manifest["files"]:
                    fetch_verified(self.storage, f"{name}/{version}/{entry['path']}", entry,
                                   folder / entry["path"], counter)
            write_text(folder / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return folder / manifest["model"]

    # writing

    def push(self, model_path: str | os.PathLike, name: str, version: str, *, description: str = "",
             overwrite: bool = False, key: str | None = None, provenance: dict | None = None,
             metrics: dict | None = None, progress: bool = True) -> PushResult:
        """Add `model_path` as `version` of `name`; refuses an existing version unless `overwrite`."""
        from .model_file import describe_model

        self.storage.check_writable()
        name, version = check_name(name, "model name"), check_name(str(version), "version")
        model_path = Path(model_path)
        info = describe_model(model_path, key)
        if not overwrite and self.has_version(name, version):
            raise OutputError(f"{name} version {version} already exists in registry {self.url}; pass --overwrite "
                              "to replace it, or push as a new version")
        stored = "model" + (model_path.suffix.lower() or ".keras")
        size = model_path.stat().st_size
        known = CATALOGUE.get(name, {})
        manifest = {
            "format": FORMAT, "name": name, "version": version, "description": description,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "task": info.get("task") or known.get("task"), "arch": info.get("arch") or known.get("arch"),
            "input_size": info.get("input_size") or known.get("input_size"),
            "class_names": info.get("class_names"), "encrypted": info["encrypted"], "model": stored,
            "files": [{"path": stored, "sha256": sha256_file(model_path), "size": size}],
            "provenance": {"source_file": str(model_path.resolve()), "pushed_by": _user(),
                           "host": platform.node(), "jupyter_tlt": __version__, **(provenance or {})},
            "metrics": metrics or {},
        }
        self._upload(model_path, f"{name}/{version}/{stored}", size, progress)
        self.storage.write_json(manifest_path(name, version), manifest)
        self._add_to_index(manifest)
        return PushResult(name, version, self.url, manifest)

    def _upload(self, local: Path, relative: str, size: int, progress: bool) -> None:
        from fsspec.callbacks import Callback

        from ..progress import bar

        with bar(total=size, desc=f"push {relative}", unit="B", enabled=progress) as b:
            b.unit_scale, b.unit_divisor = True, 1024

            class _ToBar(Callback):
                def call(self, *args, **kwargs):
                    b.n = self.value
                    b.refresh()

            self.storage.put_file(local, relative, callback=_ToBar())

    def _add_to_index(self, manifest: dict) -> None:
        """Read-modify-write the index last; under a lock file on local folders (object stores: last writer wins)."""
        lock = folder_lock(Path(self.storage.path(".index.lock"))) if self.storage.local else _no_lock()
        with lock:
            index = self._index(must_exist=False)
            entry = index["models"].setdefault(manifest["name"], {"versions": {}})
            for k in _DESCRIBED:
                entry[k] = manifest.get(k) or entry.get(k)
            entry.setdefault("versions", {})[manifest["version"]] = {
                "created": manifest["created"], "description": manifest["description"],
                "size": sum(f["size"] for f in manifest["files"]), "metrics": manifest["metrics"]}
            self.storage.write_json(INDEX, index)


def _forget_overwritten(folder: Path, manifest: dict) -> None:
    """Remove local files of an earlier pull whose version was pushed again (--overwrite) since.

    They differ from the new manifest because the version changed, not because they were damaged,
    so they are replaced without the "corrupt or altered" warning.
    """
    try:
        before = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        previous = {f["path"]: f["sha256"] for f in before["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return
    for entry in manifest["files"]:
        if previous.get(entry["path"], entry["sha256"]) != entry["sha256"]:
            (folder / entry["path"]).unlink(missing_ok=True)


class _no_lock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _user() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER", "")
