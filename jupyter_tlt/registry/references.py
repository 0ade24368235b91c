"""`registry:NAME@VERSION` (or `registry:NAME` for the latest) in a spec's pretrained model path.

The version is pulled, verified, into a cache folder ($XDG_CACHE_HOME/jupyter-tlt/registry, one
sub-folder per registry URL) and the local model file is used from there.

    >>> resolve_reference("registry:detectnet_v2_resnet18@2")
    '/home/me/.cache/jupyter-tlt/registry/3f1c.../detectnet_v2_resnet18/2/model.keras'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import SpecError

PREFIX = "registry:"


def is_reference(path: str) -> bool:
    return str(path).startswith(PREFIX)


def cache_dir(url: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jupyter-tlt" / "registry" / hashlib.sha256(url.encode()).hexdigest()[:16]


def resolve_reference(path: str, registry_url: str | None = None, *, progress: bool = True) -> str:
    """The local file for `path`: itself if it is not a registry reference, else the pulled model."""
    if not is_reference(path):
        return path
    from .core import Registry

    name, _, version = path[len(PREFIX):].partition("@")
    if not name:
        raise SpecError(f"{path!r}: a registry reference is registry:NAME@VERSION (or registry:NAME for the "
                        "latest version), e.g. registry:detectnet_v2_resnet18@1")
    registry = Registry(registry_url)
    return str(registry.pull(name, version or None, cache_dir(registry.url), progress=progress))
