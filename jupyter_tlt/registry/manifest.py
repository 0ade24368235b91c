"""The registry's plain-files format: `index.json` at the top, `<model>/<version>/manifest.json` per version.

    index.json                  {"format": 1, "models": {NAME: {task, arch, input_size, description,
                                 versions: {VERSION: {created, size, description, metrics}}}}}
    NAME/VERSION/manifest.json  {"format": 1, name, version, created, description, task, arch,
                                 input_size, class_names, encrypted, model: FILE,
                                 files: [{path, sha256, size}], provenance: {...}, metrics: {...}}
    NAME/VERSION/FILE           the model file(s) the manifest lists

A manifest is the truth about a version's files; the index is a summary for fast listing. Both are
checked on read, and a damaged one is reported with its address.

    >>> check_manifest(json.loads(text), "reg/detectnet_v2_resnet18/1/manifest.json")
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from ..errors import DataError

FORMAT = 1
INDEX = "index.json"
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def manifest_path(name: str, version: str) -> str:
    return f"{name}/{version}/{MANIFEST}"


def check_name(value: str, what: str) -> str:
    """`value` if it is a safe file name (letters, digits, `._-`), else DataError."""
    value = str(value)
    if not _NAME.match(value) or value in (".", ".."):
        raise DataError(f"{what} {value!r}: use letters, digits, '.', '_' and '-' only (it becomes a folder name)")
    return value


def version_key(version: str) -> tuple:
    """Natural order: '2' < '10', '1.9' < '1.10'; numbers before words at the same position."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"[._-]", version))


def newest_first(versions) -> list[str]:
    return sorted(versions, key=version_key, reverse=True)


def empty_index() -> dict:
    return {"format": FORMAT, "models": {}}


def check_index(index: Any, where: str) -> dict:
    """The index if well-formed, else DataError naming `where`."""
    if not isinstance(index, dict) or not isinstance(index.get("models"), dict):
        raise DataError(f"{where}: malformed registry index (expected an object with a \"models\" object); "
                        "restore it from a backup or push the models again")
    for name, entry in index["models"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("versions", {}), dict):
            raise DataError(f"{where}: malformed entry for model {name!r} (expected an object with a "
                            "\"versions\" object); restore the file or push the model again")
    return index


def check_manifest(manifest: Any, where: str) -> dict:
    """The manifest if well-formed (every file with a relative path, a sha256 and a size), else DataError."""
    def bad(what: str) -> DataError:
        return DataError(f"{where}: malformed manifest ({what}); push this version again with --overwrite")

    if not isinstance(manifest, dict):
        raise bad("not a JSON object")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise bad("no \"files\" list")
    for item in files:
        if not isinstance(item, dict):
            raise bad("a file entry is not an object")
        path, digest, size = item.get("path"), item.get("sha256"), item.get("size")
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in Path(path).parts:
            raise bad(f"file path {path!r} is not a plain relative path")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise bad(f"{path}: sha256 {digest!r} is not 64 hex digits")
        if not isinstance(size, int) or size < 0:
            raise bad(f"{path}: size {size!r} is not a byte count")
    if manifest.get("model") not in [item["path"] for item in files]:
        raise bad("\"model\" does not name one of its files")
    return manifest


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
