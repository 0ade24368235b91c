"""What differs between the two tasks: data, model, losses, validation and prediction.

`train`, `evaluate` and `infer` are written once against this small interface:

    task = make_task("detection", spec)
    train_ds, steps = task.train_data(batch_size)
    model = task.build()
    metrics = task.validate(model)
"""

from __future__ import annotations

TASKS = ("detection", "classification")


def make_task(name: str, spec, class_names=None):
    """The task object for `name`; `class_names` fixes the model's classes (e.g. from a model file)."""
    if name == "detection":
        from .detection import DetectionTask

        return DetectionTask(spec, class_names)
    if name == "classification":
        from .classification import ClassificationTask

        return ClassificationTask(spec, class_names)
    raise ValueError(f"unknown task {name!r}; use one of {TASKS}")


def infer_task(spec) -> str:
    """Detection when the spec has DetectNet_v2 data (dataset_config), else classification."""
    return "detection" if spec.HasField("dataset_config") else "classification"
