"""The task is the plug-in point: one folder per kind of model, one registration line here.

Each task (``tasks/<folder>/task.py``) holds everything its kind of model needs: the head
(``head.py``), training data and targets, losses, evaluation batches, prediction and decoding,
metrics and the headline metric, output names, writing predictions (``tlt infer``), the DeepStream
section and labels file. ``train``, ``evaluate``, ``infer``, ``compare``, ``export``, the runners and
the front ends call the task and never branch on its name; their choices come from ``TASKS``.

    task = make_task("detection", spec)
    train_ds, steps = task.train_data(batch_size)
    model = task.build()
    metrics = task.validate(model, batch_size)
    task_class("classification").metric_label     # 'top-1 accuracy (%)', without building anything

Adding a task: a folder with ``task.py`` (the class below's attributes and methods), its spec
message, and one ``register`` line. Task modules are imported on first use, so ``TASKS`` and the
CLI's ``--help`` stay cheap.
"""

from __future__ import annotations

from importlib import import_module

_REGISTRY: dict[str, tuple[str, str]] = {}  # name -> ("module:Class", one-line description)


def register(name: str, where: str, description: str) -> None:
    """Register the task class at ``where`` ("package.module:Class", relative to this package) as ``name``."""
    _REGISTRY[name] = (where, description)


register("detection", ".detectnet_v2.task:DetectionTask", "DetectNet_v2")
register("classification", ".classification.task:ClassificationTask", "")

TASKS = tuple(_REGISTRY)
DEFAULT_TASK = TASKS[0]


def describe() -> str:
    """The tasks as the CLI's help lists them: 'detection (DetectNet_v2) or classification'."""
    return " or ".join(f"{name} ({desc})" if desc else name for name, (_, desc) in _REGISTRY.items())


def task_class(name: str) -> type:
    """The class registered as ``name`` (its module imported on first use)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; use one of {TASKS}")
    module, cls = _REGISTRY[name][0].split(":")
    return getattr(import_module(module, __name__), cls)


def make_task(name: str, spec, class_names=None, **options):
    """The task object for `name`; `class_names` fixes the model's classes (e.g. from a model file);
    `options` go to the task (e.g. ``dataset_dir`` for a classifier's evaluation folder)."""
    return task_class(name)(spec, class_names, **options)


def infer_task(spec) -> str:
    """The first registered task whose spec layout ``spec`` follows (e.g. DetectNet_v2's dataset_config)."""
    for name in TASKS:
        if task_class(name).matches_spec(spec):
            return name
    return TASKS[-1]


def task_of_outputs(output_names) -> str:
    """The task whose model has these output names (e.g. an ONNX file or a Keras model without info)."""
    names = [str(n) for n in output_names]
    for name in TASKS:
        if task_class(name).matches_outputs(names):
            return name
    raise ValueError(f"no task has the outputs {names}; use one of {TASKS}")


def build_model(spec, task: str, num_classes: int):
    """The ``keras.Model`` an experiment spec describes for ``task`` (its head on the spec's backbone).

    Reads model_config (arch, n_layers/num_layers, use_batch_norm, freeze_blocks, freeze_bn,
    all_projections, dropout_rate, activation), the input size (``views.input_shape``) and the
    regularizer (``models.regularizer_from_spec``); unset fields take ``spec.defaults``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task_class(task).build_from_spec(spec, num_classes)
