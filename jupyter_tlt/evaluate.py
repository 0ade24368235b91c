"""`evaluate`: KITTI mAP per difficulty for a detector, accuracy and confusion for a classifier.

Example:
    >>> result = evaluate("detection", "runs/detect/weights/model.keras")   # spec stored in the model
    >>> result.to_frame()        # class x easy / moderate / hard, in percent, plus mAP
    >>> evaluate_predictions("deepstream/kitti_out", "data/val/label_2", mode="KITTI_R40")  # no model
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from . import atomic
from .errors import DataError, SpecError
from .progress import bar, warn

DETECTION = "detection"  # the task whose metrics KITTI result folders give (evaluate_predictions)


@dataclass
class EvaluateResult:
    """Metrics (DetectionMetrics or ClassificationMetrics) and where they were written."""

    task: str
    model_path: Path
    metrics: object
    output_dir: Path | None
    num_images: int
    seconds: float
    analysis: object = None  # a tasks.detectnet_v2.error_analysis.ErrorAnalysis when asked for

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
    from .export.formats import canonical
    from .runners import make_runner
    from .spec import load_experiment_spec

    runner = make_runner(model_path, canonical(framework), key)
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
    (detection) overrides the spec's average_precision_mode. What the task adds beyond the metrics
    comes from it (`evaluation_extras`): a detector's best-F1 confidence thresholds are stored in
    metrics.json (``tasks/detectnet_v2/confidence.py``); `analysis` also writes the error analysis
    (``tasks/detectnet_v2/error_analysis.py``) under evaluate/analysis/, at those thresholds or at
    `confidence_threshold` for every class."""
    from .limits import require_batch
    from .tasks import make_task, task_class
    from .training.settings import settings

    start = time.perf_counter()
    if analysis and not task_class(task).supports_analysis:
        raise SpecError("--analysis is for detectors; a classifier's confusion matrix is already in "
                        f"evaluate/{task_class(task).evaluation_figure}")
    if batch_size is not None:
        batch_size = require_batch(batch_size)
    model, info, spec = load_for_inference(model_path, spec, key, framework)
    t = make_task(task, spec, info.get("class_names"), dataset_dir=dataset_dir)
    batch = batch_size or settings(spec).batch_size_per_gpu
    batches = t.eval_batches(batch, use_training_set)
    with bar(desc="evaluate", unit="img", enabled=progress) as pbar:
        metrics, count, predictions = t.evaluate_model(model, batches, pbar, use_training_set, mode=ap_mode)
    out = _output_dir(model_path, results_dir)
    extra, found = t.evaluation_extras(predictions, model_path, analysis=analysis, override=confidence_threshold,
                                       use_training_set=use_training_set, out=out)
    _write(out, metrics, task, extra)
    return EvaluateResult(task, Path(model_path), metrics, out, count, time.perf_counter() - start, found)


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
        from .experiments import Experiment

        out = Experiment(results_dir).evaluate_dir
        _write(out, metrics, DETECTION, extra={"predictions": str(predictions_dir),
                                                  "labels": str(labels_dir), "read": report.to_dict()})
    return EvaluateResult(DETECTION, Path(predictions_dir), metrics, out, len(truth),
                          time.perf_counter() - start)


def _output_dir(model_path, results_dir) -> Path:
    """`<results>/evaluate/`; by default the experiment the model belongs to (`Experiment.of_model`)."""
    from .experiments import Experiment

    return Experiment(results_dir).evaluate_dir if results_dir else Experiment.of_model(model_path).evaluate_dir


def _write(out: Path, metrics, task: str, extra: dict | None = None) -> None:
    """metrics.json (plus `extra` keys), and a PR-curve or confusion-matrix figure (drawn without
    pyplot's global state)."""
    from matplotlib.figure import Figure

    from .tasks import task_class

    atomic.ensure_writable_dir(out)
    atomic.write_text(out / "metrics.json", json.dumps({**metrics.to_dict(), **(extra or {})}, indent=2) + "\n")
    fig = Figure(figsize=(6, 5))
    task_class(task).plot_metrics(metrics, fig.subplots())
    with atomic.atomic_path(out / task_class(task).evaluation_figure) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
