"""`evaluate`: KITTI mAP per difficulty for a detector, accuracy and confusion for a classifier.

Example:
    >>> result = evaluate("detection", "runs/detect/weights/model.keras")   # spec stored in the model
    >>> result.to_frame()        # class x easy / moderate / hard, in percent, plus mAP
    >>> evaluate_predictions("deepstream/kitti_out", "data/val/label_2", mode="KITTI_R40")  # no model
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import atomic
from .errors import DataError, SpecError
from .progress import bar, warn


@dataclass
class EvaluateResult:
    """Metrics (DetectionMetrics or ClassificationMetrics) and where they were written."""

    task: str
    model_path: Path
    metrics: object
    output_dir: Path | None
    num_images: int
    seconds: float
    analysis: object = None  # an error_analysis.ErrorAnalysis when asked for (detection)

    def to_frame(self):
        return self.metrics.to_frame()

    def __str__(self) -> str:
        written = (f"metrics written to {self.output_dir / 'metrics.json'}" if self.output_dir
                   else "nothing written (pass -r/--results_dir for metrics.json and PR curves)")
        mode = f", AP mode {self.metrics.mode}" if getattr(self.metrics, "mode", None) else ""
        text = f"{self.metrics.format_table()}\n\n{self.num_images} images{mode}, {self.seconds:.1f}s; {written}"
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
             framework: str | None = None, progress: bool = True, ap_mode: str | None = None,
             analysis: bool = False, confidence_threshold: float | None = None) -> EvaluateResult:
    """Evaluate `model_path` on the spec's validation split (or `dataset_dir` for classification).

    `framework` ("keras", "onnx", "tensorrt"; default: by the file's suffix) picks the runner, so an
    exported model is measured with the same data, post-processing and metric code. `ap_mode`
    (detection) overrides the spec's average_precision_mode. A detector's best-F1 confidence
    thresholds are stored in metrics.json (see `confidence`); `analysis` also writes the error analysis
    (`error_analysis`) under evaluate/analysis/, at those thresholds or at `confidence_threshold` for
    every class."""
    from .limits import require_batch
    from .tasks import make_task
    from .training.settings import settings

    start = time.perf_counter()
    if analysis and task != "detection":
        raise SpecError("--analysis is for detectors; a classifier's confusion matrix is already in "
                        "evaluate/confusion_matrix.png")
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
            detections = t.predict(model, batches, pbar)
            metrics = t.metrics(truth, detections, mode=ap_mode)
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


def evaluate_predictions(predictions_dir, labels_dir, *, classes=None, mode: str = "SAMPLE",
                         results_dir=None, image_dir=None, iou_thresholds=None,
                         difficulties=("easy", "moderate", "hard")) -> EvaluateResult:
    """Evaluate a folder of KITTI result files (any detector's: DeepStream, TensorRT, `tlt infer`)
    against a folder of KITTI labels, no model needed.

    Images pair by file name; a label without a result file has no detections, a result file without
    a label is an error. `classes`: default the classes present in the labels (DontCare excluded).
    `image_dir`: when given, boxes are clipped to their image. `results_dir`: where evaluate/
    metrics.json and the PR curves go (default: nothing written)."""
    from .metrics import evaluate_detection
    from .metrics.kitti_results import load_result_dirs

    start = time.perf_counter()
    truth, detections, report = load_result_dirs(labels_dir, predictions_dir, image_dir)
    if classes is None:
        classes = sorted({str(c) for g in truth for c in g.classes})
        if not classes:
            raise DataError(f"{labels_dir}: the label files hold no objects (only DontCare or nothing); "
                            "pass --classes or check the folder")
    metrics = evaluate_detection(truth, detections, list(classes), mode=mode,
                                 iou_thresholds=iou_thresholds, difficulties=difficulties)
    for message in report.messages():
        warn(message)
    metrics.warnings.extend(report.messages())
    out = None
    if results_dir:
        out = Path(results_dir) / "evaluate"
        _write(out, metrics, "detection", extra={"predictions": str(predictions_dir),
                                                  "labels": str(labels_dir), "read": report.to_dict()})
    return EvaluateResult("detection", Path(predictions_dir), metrics, out, len(truth),
                          time.perf_counter() - start)


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
