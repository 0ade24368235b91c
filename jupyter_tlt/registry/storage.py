"""Where a registry lives and how its files are read and written: any fsspec URL.

`--registry URL`, else `$TLT_REGISTRY`, else a folder in the user's data directory. Plain paths and
`file://` are local folders; `s3://bucket/prefix` (endpoint from `AWS_ENDPOINT_URL` for S3-compatible
servers), `gs://`, `az://` need their fsspec backend installed; `http(s)://` is read-only.

    >>> store = Storage(default_url())
    >>> store.read_json("index.json")        # None when the registry holds nothing yet
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..atomic import write_bytes
from ..errors import DataError, OutputError, TltError

ENV = "TLT_REGISTRY"
READ_ONLY = ("http", "https")


class RegistryUnreachable(TltError):
    """The registry's storage cannot be reached (network, permissions, missing backend)."""


def default_url() -> str:
    """`$TLT_REGISTRY`, else `$XDG_DATA_HOME/jupyter-tlt/registry` (~/.local/share by default)."""
    if os.environ.get(ENV):
        return os.environ[ENV]
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return str(Path(data) / "jupyter-tlt" / "registry")


class Storage:
    """Files of one registry, addressed by paths relative to its root URL."""

    def __init__(self, url: str, storage_options: dict | None = None):
        import fsspec

        self.url = url.rstrip("/") if "://" in url else str(Path(url).expanduser())
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise RegistryUnreachable(f"registry {url}: {exc}; install the fsspec backend for this "
                                      "URL scheme (e.g. pip install s3fs) or use a folder") from None
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = "file" in protocols or "local" in protocols
        self.read_only = any(p in READ_ONLY for p in protocols)

    def path(self, relative: str) -> str:
        return f"{self.root.rstrip('/')}/{relative}"

    def where(self, relative: str) -> str:
        """The user-facing address of a file, for messages."""
        return f"{self.url}/{relative}"

    def read_json(self, relative: str) -> Any | None:
        """The parsed JSON file, or None if it does not exist; DataError if it is not JSON."""
        raw = self.read_bytes(relative)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{self.where(relative)}: is not valid JSON ({exc}); the registry is damaged: "
                            "restore the file or push the model again") from None

    def read_bytes(self, relative: str) -> bytes | None:
        try:
            return self.fs.cat_file(self.path(relative))
        except FileNotFoundError as exc:
            cause = exc.__cause__ or exc.__context__
            if cause is not None and not isinstance(cause, FileNotFoundError) and "404" not in str(cause):
                raise self.unreachable(cause) from None  # fsspec's HTTP backend wraps connection errors
            return None
        except Exception as exc:  # each backend raises its own types for network trouble
            raise self.unreachable(exc) from None

    def open(self, relative: str):
        """A file object to stream from (web servers: sequential reads, range requests not needed)."""
        if self.read_only:
            return self.fs.open(self.path(relative), "rb", block_size=0)
        return self.fs.open(self.path(relative), "rb")

    def write_json(self, relative: str, value: Any) -> None:
        self.write_bytes(relative, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode())

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Replace one file whole: rename on local disks, a single PUT on object stores."""
        self.check_writable()
        try:
            if self.local:
                write_bytes(self.path(relative), data)
            else:
                self.fs.pipe_file(self.path(relative), data)
        except TltError:
            raise
        except Exception as exc:
            raise self.unreachable(exc) from None

    def put_file(self, local: str | os.PathLike, relative: str, callback=None) -> None:
        """Upload a local file to `relative` (callback: an fsspec Callback for progress)."""
        self.check_writable()
        target = self.path(relative)
        try:
            if self.local:
                import shutil

                from ..atomic import atomic_path

                with atomic_path(target) as tmp:
                    shutil.copyfile(local, tmp)
                if callback is not None:
                    callback.relative_update(os.path.getsize(local))
            else:
                self.fs.put_file(str(local), target, callback=callback)
        except TltError:
            raise
        except Exception as exc:
            raise self.unreachable(exc) from None

    def check_writable(self) -> None:
        if self.read_only:
            raise OutputError(f"registry {self.url} is read-only (served over HTTP); push to the folder or "
                              "bucket the web server publishes, or pass --registry with a writable URL")

    def unreachable(self, exc: BaseException) -> TltError:
        if isinstance(exc, PermissionError):
            return OutputError(f"registry {self.url}: permission denied ({exc}); check the folder's or "
                               "bucket's permissions")
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return RegistryUnreachable(f"registry {self.url} cannot be reached ({type(exc).__name__}: {reason}); "
                                   f"check the URL (--registry or ${ENV}) and the network")
