"""A detector's extras in evaluate/metrics.json: best-F1 confidence thresholds and the error analysis.

    extra, found = error_analysis(task, (truth, detections), "runs/detect/weights/model.keras",
                                  analysis=True, override=None, use_training_set=False, out=Path("evaluate"))
"""

from __future__ import annotations

import warnings


def error_analysis(t, predictions, model_path, analysis, override, use_training_set, out):
    """({"confidence_thresholds": ...} for metrics.json, the ErrorAnalysis written under
    `out`/analysis when `analysis`, else None)."""
    from . import confidence
    from ...data.loader import split_files
    from .error_analysis import ErrorAnalysis, record_images
    from ...metrics.analysis import confidence_curve

    truth, detections = predictions
    with warnings.catch_warnings():  # the levels' evaluation above already warned
        warnings.simplefilter("ignore")
        metrics_all = t.metrics(truth, detections, difficulties=(confidence.LEVEL,))
    chosen = confidence.choose(metrics_all, model_path)
    extra = {confidence.METRICS_KEY: chosen}
    if not analysis:
        return extra, None
    thresholds = confidence.resolve(t.class_names, override=override, spec=t.spec, evaluated=chosen["by_class"])
    curves = {c: confidence_curve(metrics_all.curves[c][confidence.LEVEL]) for c in t.class_names}
    found = ErrorAnalysis(list(t.class_names), thresholds, dict(metrics_all.iou_thresholds), truth, detections,
                          curves, record_images(split_files(t.spec, training=use_training_set)))
    found.write(out / "analysis")
    return extra, found
