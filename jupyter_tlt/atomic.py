"""Write artifacts under a temporary name and rename them when complete.

An interrupted or failed step therefore never leaves a half-written file under its final name.
Temporaries are named ``.tmp-<final name>.<host>-<pid>.<random>``: a failed write removes its own,
and the next write of the same file removes those of processes that are gone (a ``kill -9``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from .errors import OutputError

TEMP_PREFIX = ".tmp-"
FOREIGN_STALE_SECONDS = 24 * 3600  # a temporary of another host (shared disk) is left alone this long


def _host() -> str:
    return socket.gethostname().replace(".", "_").replace("-", "_") or "host"


def temp_prefix(final: str | os.PathLike) -> str:
    """The name prefix of this process's temporaries of `final` (see the module docstring)."""
    return f"{TEMP_PREFIX}{Path(final).name}.{_host()}-{os.getpid()}."


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_stale(final: str | os.PathLike) -> list[Path]:
    """Remove temporaries of `final` left by processes that are gone; returns what it removed.

    A temporary of this host whose pid is dead is stale at once; one of another host (or an older
    name without host and pid) only after FOREIGN_STALE_SECONDS without a change."""
    final = Path(final)
    removed = []
    for name in glob.glob(glob.escape(str(final.parent / (TEMP_PREFIX + final.name))) + ".*"):
        path = Path(name)
        owner = path.name[len(TEMP_PREFIX + final.name) + 1:].split(".", 1)[0]
        host, _, pid = owner.rpartition("-")
        try:
            if host == _host() and pid.isdigit():
                stale = not pid_alive(int(pid))
            else:
                stale = time.time() - path.lstat().st_mtime > FOREIGN_STALE_SECONDS
            if stale:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
                removed.append(path)
        except FileNotFoundError:  # a concurrent run cleaned it first
            continue
    return removed


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it to `final` only if the block succeeds.

    The temporary is removed on any error (a full disk included); `suffix` ends its name, for
    writers that choose the format by it (Keras).

    Example:
        >>> with atomic_path("out/labels.txt") as tmp:
        ...     tmp.write_text("car\\n")
    """
    final = Path(final)
    ensure_writable_dir(final.parent)
    clean_stale(final)
    fd, name = tempfile.mkstemp(prefix=temp_prefix(final), suffix=suffix, dir=final.parent)
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
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a directory; choose another output path.")
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


def check_overwrite(paths: Iterable[str | os.PathLike], overwrite: bool, what: str) -> list[Path]:
    """The one overwrite policy of every step: raise if any of `paths` exists and `overwrite` is false.

    Steps call it with all their outputs before they write anything; returns the existing ones."""
    existing = [Path(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputError(f"{existing[0]}{more}: {what} already exists; "
                          "pass --overwrite to replace it or choose another output name.")
    return existing


def refuse_existing(paths: list[Path], overwrite: bool, what: str) -> None:
    """`check_overwrite`, then remove the existing outputs (for steps whose output is a set of files,
    which the new run may not replace one for one)."""
    for p in check_overwrite(paths, overwrite, what):
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
