"""The model registry: list, version, pull and push models on a folder, an object store or a web server.

    >>> from jupyter_tlt.registry import Registry
    >>> reg = Registry("s3://team-models/tlt")          # or a folder, file://, https:// (read-only)
    >>> reg.models()                                    # a table: name, task, arch, input size, latest...
    >>> reg.versions("detectnet_v2_resnet18")           # ['2', '1'], newest first
    >>> reg.pull("detectnet_v2_resnet18", "2", dest="pretrained")

The module-level `models()`, `versions()` and `pull()` use the default registry ($TLT_REGISTRY or a
folder in the user's data directory); `registry:NAME@VERSION` in a spec's pretrained_model_path is
resolved by `resolve_reference`. Importing this package imports neither TensorFlow nor fsspec.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalogue import CATALOGUE
from .core import NotInRegistry, PushResult, Registry
from .references import PREFIX, is_reference, resolve_reference
from .results import ModelList, VersionList
from .storage import ENV, RegistryUnreachable, default_url

__all__ = ["Registry", "PushResult", "NotInRegistry", "ModelList", "VersionList", "CATALOGUE", "ENV", "PREFIX",
           "RegistryUnreachable", "default_url", "is_reference", "resolve_reference", "models", "versions",
           "pull"]


def models() -> ModelList:
    """The default registry's models (the interface `widgets.RegistryBrowser` uses)."""
    return Registry().models()


def versions(name: str) -> VersionList:
    return Registry().versions(name)


def pull(name: str, version: str | None = None, dest: str | os.PathLike = ".", progress: bool = True) -> Path:
    return Registry().pull(name, version, dest, progress=progress)
