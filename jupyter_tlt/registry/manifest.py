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

from ..errors import DataError, quote_input

FORMAT = 1
INDEX = "index.json"
MANIFEST = "manifest.json"
NAME_RULE = "1 to 128 of letters, digits, '.', '_' and '-', starting with a letter or digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def manifest_path(name: str, version: str) -> str:
    return f"{name}/{version}/{MANIFEST}"


def is_valid_name(value: object) -> bool:
    """Whether `value` may be a model name or version: the one rule for push, index reads and the REST API.

    Names become folder names and the words of `%tlt pull` cells, so nothing but `NAME_RULE` passes.
    """
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def check_name(value: object, what: str) -> str:
    """`value` if `is_valid_name`, else DataError showing it escaped and cut short."""
    value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not is_valid_name(value):
        raise DataError(f"{what} {quote_input(value)} is refused: use {NAME_RULE} (it becomes a folder "
                        "name and a word of %tlt pull cells)")
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
    """The index if well-formed, else DataError naming `where`; entries with unsafe names are dropped.

    A shared registry's index is untrusted: a model or version whose name fails `is_valid_name` is
    skipped with a warning (showing it escaped and cut short), so it is never listed, pulled or echoed.
    """
    if not isinstance(index, dict) or not isinstance(index.get("models"), dict):
        raise DataError(f"{where}: malformed registry index (expected an object with a \"models\" object); "
                        "restore it from a backup or push the models again")
    for name, entry in list(index["models"].items()):
        if not is_valid_name(name):
            _skipped(where, f"model {quote_input(name)}")
            del index["models"][name]
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("versions", {}), dict):
            raise DataError(f"{where}: malformed entry for model {name!r} (expected an object with a "
                            "\"versions\" object); restore the file or push the model again")
        for version in [v for v in entry.get("versions", {}) if not is_valid_name(v)]:
            _skipped(where, f"version {quote_input(version)} of model {name}")
            del entry["versions"][version]
    return index


def _skipped(where: str, what: str) -> None:
    import warnings

    warnings.warn(f"{where}: skipped {what}: not a valid name ({NAME_RULE}); remove it from the index",
                  UserWarning, stacklevel=4)


def check_manifest(manifest: Any, where: str, name: str | None = None, version: str | None = None) -> dict:
    """The manifest if well-formed, else DataError.

    Well-formed: it describes `name` and `version` (when given), and lists files whose paths are
    plain relative names (each part passing `is_valid_name`), each with a sha256 and a size.
    """
    def bad(what: str) -> DataError:
        return DataError(f"{where}: malformed manifest ({what}); push this version again with --overwrite")

    if not isinstance(manifest, dict):
        raise bad("not a JSON object")
    for field, expected in (("name", name), ("version", version)):
        if expected is not None and field in manifest and manifest[field] != expected:
            raise bad(f"its {field} is {quote_input(manifest[field])}, not {expected}")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise bad("no \"files\" list")
    for item in files:
        if not isinstance(item, dict):
            raise bad("a file entry is not an object")
        path, digest, size = item.get("path"), item.get("sha256"), item.get("size")
        if (not isinstance(path, str) or not path or path.startswith("/")
                or not all(is_valid_name(part) for part in path.split("/"))):
            raise bad(f"file path {quote_input(path)} is not a plain relative path")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise bad(f"{path}: sha256 {quote_input(digest)} is not 64 hex digits")
        if not isinstance(size, int) or size < 0:
            raise bad(f"{path}: size {quote_input(size)} is not a byte count")
    if manifest.get("model") not in [item["path"] for item in files]:
        raise bad("\"model\" does not name one of its files")
    return manifest


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
