"""What a spec source is: a file path, spec text, or a dict; and the name used in error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import SpecError

SPEC_SUFFIXES = (".cfg", ".txt", ".spec", ".prototxt", ".pbtxt", ".config")
_FIELD_COLON = re.compile(r"[A-Za-z_]\w*\s*:")  # `name:` as in spec text, not a drive letter `C:\`


def looks_like_path(text: str) -> bool:
    """A one-line string meant as a file name: ends in a spec suffix, or has a slash and no `name:`."""
    if "\n" in text or "{" in text or "}" in text or not text.strip():
        return False
    if text.strip().lower().endswith(SPEC_SUFFIXES):
        return True
    without_drive = re.sub(r"^[A-Za-z]:[\\/]", "", text.strip())
    return ("/" in text or "\\" in text) and not _FIELD_COLON.search(without_drive)


def resolve(source, name: str | None, flag: str) -> tuple[str, object, str]:
    """("text", str, name) or ("dict", Mapping, name) for any accepted source.

    ``flag`` is the CLI option that takes this spec (-e or -d), quoted when a file is missing.
    """
    if isinstance(source, Mapping):
        return "dict", source, name or "<dict>"
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, os.PathLike):
        return "text", _read(Path(source), name, flag), name or os.fspath(source)
    if not isinstance(source, str):
        raise SpecError(f"a spec must be a file path, spec text or a dict, got {type(source).__name__}; "
                        "pass one of those")
    if "\n" not in source and source.strip() and _is_file(source.strip()):
        return "text", _read(Path(source.strip()), name, flag), name or source.strip()
    if looks_like_path(source):
        raise SpecError(f"{name or source.strip()}: no such spec file; check the path given to {flag}")
    return "text", source, name or "<string>"


def _is_file(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # names too long, NUL bytes: not a path
        return False


def _read(path: Path, name: str | None, flag: str) -> str:
    shown = name or str(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError(f"{shown}: no such spec file; check the path given to {flag}") from None
    except IsADirectoryError:
        raise SpecError(f"{shown}: is a directory, not a spec file; give the path of the spec file "
                        f"to {flag}") from None
    except PermissionError:
        raise SpecError(f"{shown}: cannot read the spec file (permission denied); check its "
                        "permissions") from None
    except UnicodeDecodeError:
        raise SpecError(f"{shown}: not a UTF-8 text file; save the spec as UTF-8 text") from None
