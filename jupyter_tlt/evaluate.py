"""`evaluate`: KITTI mAP per difficulty for a detector, accuracy and confusion for a classifier.

Example:
    >>> result = evaluate("detection", "runs/detect/weights/model.keras")   # spec stored in the model
    >>> result.to_frame()        # class x easy / moderate / hard, in percent, plus mAP
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from . import atomic
from .errors import SpecError
from .progress import bar


@dataclass
class EvaluateResult:
    """Metrics (DetectionMetrics or ClassificationMetrics) and where they were written."""

    task: str
    model_path: Path
    metrics: object
    output_dir: Path
    num_images: int
    seconds: float

    def to_frame(self):
        return self.metrics.to_frame()

    def __str__(self) -> str:
        return (f"{self.metrics.format_table()}\n\n{self.num_images} images, {self.seconds:.1f}s; "
                f"metrics written to {self.output_dir / 'metrics.json'}")

    def _repr_html_(self) -> str:
        return self.metrics._repr_html_()


def load_for_inference(model_path, spec=None, key: str | None = None, framework: str | None = None):
    """(runner, info, spec): the model behind the runner interface (``runners.py``; `framework` keras,
    onnx or tensorrt, by default from the suffix), its stored info, and the spec (given, or stored)."""
    from .runners import make_runner
    from .spec import load_experiment_spec

    runner = make_runner(model_path, "keras" if framework == "tlt" else framework, key)
    info = runner.info
    if spec is None:
        if not info.get("spec"):
            raise SpecError(f"{model_path}: the model carries no spec; pass -e/--experiment_spec_file.")
        spec = load_experiment_spec(info["spec"], name=f"{model_path} (stored spec)")
    else:
        spec = load_experiment_spec(spec)
    return runner, info, spec


def evaluate(task: str, model_path, *, spec=None, dataset_dir=None, batch_size: int | None = None,
             use_training_set: bool = False, results_dir=None, key: str | None = None,
             framework: str | None = None, progress: bool = True) -> EvaluateResult:
    """Evaluate `model_path` on the spec's validation split (or `dataset_dir` for classification).

    `framework` ("keras", "onnx", "tensorrt"; default: by the file's suffix) picks the runner, so an
    exported model is measured with the same data, post-processing and metric code."""
    from .limits import require_batch
    from .tasks import make_task
    from .training.settings import settings

    start = time.perf_counter()
    if batch_size is not None:
        batch_size = require_batch(batch_size)
    model, info, spec = load_for_inference(model_path, spec, key, framework)
    class_names = info.get("class_names")
    if task == "classification":
        from .tasks.classification import ClassificationTask

        t = ClassificationTask(spec, class_names, dataset_dir=dataset_dir)
    else:
        t = make_task(task, spec, class_names)
    batch = batch_size or settings(spec).batch_size_per_gpu
    batches = t.eval_batches(batch, use_training_set)
    with bar(desc="evaluate", unit="img", enabled=progress) as pbar:
        if task == "detection":
            truth = t.ground_truth(use_training_set)
            pbar.total = len(truth)
            metrics = t.metrics(truth, t.predict(model, batches, pbar))
            count = len(truth)
        else:
            predictions = t.predict(model, batches, pbar)
            metrics = t.metrics(predictions)
            count = len(predictions[0])
    out = _output_dir(model_path, results_dir)
    _write(out, metrics, task)
    return EvaluateResult(task, Path(model_path), metrics, out, count, time.perf_counter() - start)


def _output_dir(model_path, results_dir) -> Path:
    """`<results>/evaluate/`; by default the results directory the model was trained in."""
    if results_dir:
        return Path(results_dir) / "evaluate"
    parent = Path(model_path).resolve().parent
    return (parent.parent if parent.name == "weights" else parent) / "evaluate"


def _write(out: Path, metrics, task: str) -> None:
    """metrics.json, and a PR-curve or confusion-matrix figure (drawn without pyplot's global state)."""
    from matplotlib.figure import Figure

    atomic.ensure_writable_dir(out)
    atomic.write_text(out / "metrics.json", json.dumps(metrics.to_dict(), indent=2) + "\n")
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    if task == "detection":
        metrics.plot_pr(ax=ax)
        name = "pr_curves.png"
    else:
        metrics.plot_confusion(ax=ax)
        name = "confusion_matrix.png"
    with atomic.atomic_path(out / name) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
