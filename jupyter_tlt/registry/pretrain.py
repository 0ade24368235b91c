"""`pretrain`: train from a spec, then push the final model with its provenance and last validation metrics.

    >>> pretrain("specs/detect_source.cfg", "runs/source", Registry(), "detectnet_v2_resnet18", "1")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .core import PushResult, Registry
from .manifest import check_name


@dataclass
class PretrainResult:
    train: Any
    push: PushResult

    def to_frame(self):
        return self.train.to_frame()

    def __str__(self) -> str:
        return f"{self.train.summary()}\n{self.push}"


def pretrain(spec, results_dir: str | os.PathLike, registry: Registry, name: str, version: str, *,
             task: str | None = None, description: str = "", overwrite: bool = False, key: str | None = None,
             gpus: int = 1, progress: bool = True) -> PretrainResult:
    from ..spec import load_experiment_spec
    from ..train import train

    parsed = load_experiment_spec(spec)
    name, version = check_name(name, "model name"), check_name(str(version), "version")  # before training
    if not overwrite and registry.has_version(name, version):
        from ..errors import OutputError

        raise OutputError(f"{name} version {version} already exists in registry {registry.url}; pass --overwrite "
                          "or choose a new version (checked before training)")
    result = train(parsed, results_dir, task=task, gpus=gpus, key=key, progress=progress)
    last = result.validations[-1] if result.validations else {}
    metrics = {k: v for k, v in last.items() if isinstance(v, (int, float))}
    provenance = {"datasets": datasets(parsed), "task": result.task, "epochs": result.epochs,
                  "results_dir": str(result.results_dir), "spec_file": str(spec) if isinstance(spec, (str, os.PathLike))
                  and os.path.exists(str(spec)) else None}
    pushed = registry.push(result.model_path, name, version, description=description, overwrite=overwrite,
                           key=key, provenance=provenance, metrics=metrics, progress=progress)
    return PretrainResult(result, pushed)


def datasets(spec) -> list[str]:
    """The data a spec trains on: TFRecord paths or image folders (either spec shape)."""
    found = []
    for source in spec.dataset_config.data_sources:
        found += [p for p in (source.tfrecords_path, source.image_directory_path) if p]
    tc = spec.train_config
    found += [p for p in (tc.train_dataset_path, tc.val_dataset_path) if p]
    return found
