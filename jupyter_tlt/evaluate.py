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
    analysis: object = None  # an error_analysis.ErrorAnalysis when asked for (detection)

    def to_frame(self):
        return self.metrics.to_frame()

    def __str__(self) -> str:
        text = (f"{self.metrics.format_table()}\n\n{self.num_images} images, {self.seconds:.1f}s; "
                f"metrics written to {self.output_dir / 'metrics.json'}")
        return text + (f"\n\n{self.analysis}" if self.analysis is not None else "")

    def _repr_html_(self) -> str:
        return self.metrics._repr_html_() + (self.analysis._repr_html_() if self.analysis is not None else "")


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
             framework: str | None = None, progress: bool = True, analysis: bool = False,
             confidence_threshold: float | None = None) -> EvaluateResult:
    """Evaluate `model_path` on the spec's validation split (or `dataset_dir` for classification).

    `framework` ("keras", "onnx", "tensorrt"; default: by the file's suffix) picks the runner, so an
    exported model is measured with the same data, post-processing and metric code. A detector's
    best-F1 confidence thresholds are stored in metrics.json (see `confidence`); `analysis` also
    writes the error analysis (`error_analysis`) under evaluate/analysis/, at those thresholds or
    at `confidence_threshold` for every class."""
    from .tasks import make_task
    from .training.settings import settings

    start = time.perf_counter()
    if analysis and task != "detection":
        raise SpecError("--analysis is for detectors; a classifier's confusion matrix is already in "
                        "evaluate/confusion_matrix.png")
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
            detections = t.predict(model, batches, pbar)
            metrics = t.metrics(truth, detections)
            count = len(truth)
        else:
            predictions = t.predict(model, batches, pbar)
            metrics = t.metrics(predictions)
            count = len(predictions[0])
    out = _output_dir(model_path, results_dir)
    extra, found = {}, None
    if task == "detection":
        extra, found = _error_analysis(t, model_path, spec, truth, detections, analysis, confidence_threshold,
                                       use_training_set, out)
    _write(out, metrics, task, extra)
    return EvaluateResult(task, Path(model_path), metrics, out, count, time.perf_counter() - start, found)


def _error_analysis(t, model_path, spec, truth, detections, analysis, override, use_training_set, out):
    """({"confidence_thresholds": ...} for metrics.json, the ErrorAnalysis written under
    `out`/analysis when `analysis`, else None)."""
    import warnings

    from . import confidence
    from .data.loader import split_files
    from .error_analysis import ErrorAnalysis, record_images
    from .metrics.analysis import confidence_curve

    with warnings.catch_warnings():  # the levels' evaluation above already warned
        warnings.simplefilter("ignore")
        metrics_all = t.metrics(truth, detections, difficulties=(confidence.LEVEL,))
    chosen = confidence.choose(metrics_all, model_path)
    extra = {confidence.METRICS_KEY: chosen}
    if not analysis:
        return extra, None
    thresholds = confidence.resolve(t.class_names, override=override, spec=spec, evaluated=chosen["by_class"])
    curves = {c: confidence_curve(metrics_all.curves[c][confidence.LEVEL]) for c in t.class_names}
    found = ErrorAnalysis(list(t.class_names), thresholds, dict(metrics_all.iou_thresholds), truth, detections,
                          curves, record_images(split_files(spec, training=use_training_set)))
    found.write(out / "analysis")
    return extra, found


def default_output_dir(model_path) -> Path:
    """Where `evaluate` writes for a model by default (see `_output_dir`)."""
    return _output_dir(model_path, None)


def _output_dir(model_path, results_dir) -> Path:
    """`<results>/evaluate/`; by default the results directory the model was trained in."""
    if results_dir:
        return Path(results_dir) / "evaluate"
    parent = Path(model_path).resolve().parent
    return (parent.parent if parent.name == "weights" else parent) / "evaluate"


def _write(out: Path, metrics, task: str, extra: dict | None = None) -> None:
    """metrics.json (plus `extra` keys), and a PR-curve or confusion-matrix figure (drawn without
    pyplot's global state)."""
    from matplotlib.figure import Figure

    atomic.ensure_writable_dir(out)
    atomic.write_text(out / "metrics.json", json.dumps({**metrics.to_dict(), **(extra or {})}, indent=2) + "\n")
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
