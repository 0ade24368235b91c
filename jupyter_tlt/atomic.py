"""Write artifacts under a temporary name and rename them when complete.

An interrupted or failed step therefore never leaves a half-written file under its final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputError

TEMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it to `final` only if the block succeeds.

    Example:
        >>> with atomic_path("out/labels.txt") as tmp:
        ...     tmp.write_text("car\\n")
    """
    final = Path(final)
    ensure_writable_dir(final.parent)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + final.name + ".", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        publish(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def publish(tmp: Path, final: str | os.PathLike) -> None:
    """Rename a finished temporary file to ``final`` with the usual permissions (mkstemp makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, final)


def write_text(final: str | os.PathLike, text: str) -> Path:
    """Atomically write `text` to `final` and return the final path."""
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(final)


def write_bytes(final: str | os.PathLike, data: bytes) -> Path:
    """Atomically write `data` to `final` and return the final path."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create `path` if needed and check that files can be written in it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output directory ({exc.strerror}); "
                          "choose a writable location.") from None
    if not path.is_dir():
        raise OutputError(f"{path}: exists and is not a directory; choose another output path.")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the output directory is not writable; "
                          "fix its permissions or choose another location.")
    return path


def refuse_existing(paths: list[Path], overwrite: bool, what: str) -> None:
    """Raise if any of `paths` exists and `overwrite` is false; else remove them when overwriting."""
    existing = [p for p in paths if p.exists()]
    if not existing:
        return
    if not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputError(f"{existing[0]}{more}: {what} already exists; "
                          "pass --overwrite to replace it or choose another output name.")
    for p in existing:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
