"""Verified downloads: temporary name, sha256 against the manifest, rename; a lock per destination.

A file already in place with the right size and sha256 is kept (a repeated or resumed pull costs one
hash); a damaged one is reported and fetched again. Two pulls into one folder wait for each other on
a lock file, so neither sees the other's half-written file.

    with folder_lock(dest / ".resnet18-1.lock"):
        fetch_verified(storage, "resnet18/1/model.keras", entry, dest / "model.keras", bar)
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from pathlib import Path
from typing import Iterator

from ..atomic import clean_stale, ensure_writable_dir, publish, temp_prefix
from ..errors import DataError, disk_full
from ..progress import warn
from .manifest import sha256_file

CHUNK = 4 << 20
ATTEMPTS = 2


@contextlib.contextmanager
def folder_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (fcntl.flock: released by the OS if the process dies)."""
    import fcntl

    ensure_writable_dir(lock_path.parent)
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def is_intact(path: Path, entry: dict) -> bool:
    return path.is_file() and path.stat().st_size == entry["size"] and sha256_file(path) == entry["sha256"]


def fetch_verified(storage, relative: str, entry: dict, target: Path, bar=None) -> Path:
    """Make `target` a verified copy of the registry file `relative`; DataError if the registry's copy is bad."""
    if target.exists():
        if is_intact(target, entry):
            if bar is not None:
                bar.update(entry["size"])
            return target
        warn(f"{target}: does not match the registry's sha256 (corrupt or altered); fetching it again")
    for attempt in range(1, ATTEMPTS + 1):
        digest, size = _download(storage, relative, target, entry, bar)
        if digest == entry["sha256"] and size == entry["size"]:
            return target
        if bar is not None:
            bar.update(-size)
        if attempt < ATTEMPTS:
            warn(f"{storage.where(relative)}: the download does not match its manifest; retrying")
    raise DataError(f"{storage.where(relative)}: corrupt or tampered in the registry (sha256 {digest[:12]}..., "
                    f"{size} bytes; the manifest says {entry['sha256'][:12]}..., {entry['size']} bytes); "
                    "push this version again with --overwrite")


def _download(storage, relative: str, target: Path, entry: dict, bar) -> tuple[str, int]:
    """Stream to a temporary file beside `target`, renamed to it only if sha256 and size match `entry`.

    Hashing runs in a second thread (hashlib releases the GIL) so it overlaps the reads and writes.
    """
    ensure_writable_dir(target.parent)
    clean_stale(target)
    tmp = target.parent / f"{temp_prefix(target)}{threading.get_ident()}"
    digest = hashlib.sha256()
    blocks: queue.Queue = queue.Queue(maxsize=8)

    def hash_blocks() -> None:
        while (block := blocks.get()) is not None:
            digest.update(block)

    hasher = threading.Thread(target=hash_blocks, daemon=True)
    hasher.start()
    size = 0
    try:
        try:
            with storage.open(relative) as src, open(tmp, "wb") as out:
                while block := src.read(CHUNK):
                    blocks.put(block)
                    out.write(block)
                    size += len(block)
                    if bar is not None:
                        bar.update(len(block))
        except FileNotFoundError:
            raise DataError(f"{storage.where(relative)}: listed in the manifest but missing from the registry; "
                            "push this version again with --overwrite") from None
        except OSError as exc:
            if exc.errno is not None:  # a local disk problem (full, permissions)
                raise disk_full(exc, target) or exc from None
            raise storage.unreachable(exc) from None
        except DataError:
            raise
        except Exception as exc:
            raise storage.unreachable(exc) from None
        finally:
            blocks.put(None)
            hasher.join()
        result = digest.hexdigest()
        if result == entry["sha256"] and size == entry["size"]:
            publish(tmp, target)
        return result, size
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
