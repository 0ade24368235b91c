"""Confidence thresholds of a detector: which detections a deployment keeps, per class.

Where a threshold comes from, first match wins:
1. ``--confidence_threshold`` (one value for every class), given to `infer` / the analysis;
2. the spec: a ``dbscan_confidence_threshold`` (DBSCAN) or ``nms_confidence_threshold`` (NMS)
   written explicitly in ``postprocessing_config.target_class_config[class].clustering_config``
   (TAO's meaning: the confidence a cluster needs to be output);
3. the model's evaluation: `evaluate` picks, per class, the threshold with the best F1 on the
   validation precision-recall curve (level "all": every box of the class counts, as a camera
   sees them) and stores it in ``<results>/evaluate/metrics.json`` under
   ``"confidence_thresholds"``, with the SHA-256 of the model file: a threshold is only reused
   for the very model it was chosen for;
4. none: every candidate the post-processing outputs is kept (and the result says so).

Scores are DetectNet_v2 cluster confidences (summed coverage with DBSCAN, so they may exceed 1).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

FLAG, SPEC, EVALUATION, NONE = "--confidence_threshold", "spec", "evaluation", "none"
"""Where a class's threshold came from (`Thresholds.sources`)."""
METRICS_KEY = "confidence_thresholds"
LEVEL = "all"


@dataclass
class Thresholds:
    """Per-class thresholds (`None`: keep every candidate) and where each came from."""

    values: dict[str, float | None]
    sources: dict[str, str] = field(default_factory=dict)

    def active(self) -> dict[str, float]:
        """Only the classes that have a threshold (what `metrics.analysis.kept` takes)."""
        return {c: v for c, v in self.values.items() if v is not None}

    def describe(self) -> str:
        """One line, e.g. "car >= 0.84 (evaluation), pedestrian: every candidate (none)"."""
        parts = [f"{c} >= {v:.3g}" if v is not None else f"{c}: every candidate"
                 for c, v in self.values.items()]
        return "confidence " + ", ".join(f"{p} ({self.sources.get(c, NONE)})"
                                         for p, c in zip(parts, self.values))


def file_digest(path) -> str:
    """SHA-256 of a model file (a few MB: milliseconds), to tie stored thresholds to it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def choose(metrics_all, model_path) -> dict:
    """The ``confidence_thresholds`` entry of metrics.json: best-F1 threshold per class from
    `metrics_all` (a DetectionMetrics evaluated at level "all"), tied to `model_path`'s content."""
    from ...metrics.analysis import best_f1_threshold, confidence_curve

    by_class = {c: best_f1_threshold(confidence_curve(metrics_all.curves[c][LEVEL]))
                for c in metrics_all.class_names}
    entry = {"rule": "best F1 on the validation precision-recall curve", "level": LEVEL,
             "by_class": by_class}
    if model_path is not None and Path(model_path).is_file():
        entry.update(model=str(model_path), model_sha256=file_digest(model_path))
    return entry


def stored(model_path, evaluate_dir) -> dict[str, float | None]:
    """Thresholds stored by `evaluate` in `evaluate_dir/metrics.json` for this very model file;
    empty when there are none or they belong to another model."""
    path = Path(evaluate_dir) / "metrics.json"
    try:
        entry = json.loads(path.read_text()).get(METRICS_KEY) or {}
    except (OSError, ValueError, AttributeError):
        return {}
    if not entry.get("model_sha256") or not Path(model_path).is_file():
        return {}
    if entry["model_sha256"] != file_digest(model_path):
        return {}
    return dict(entry.get("by_class") or {})


def spec_thresholds(spec, class_names: Sequence[str]) -> dict[str, float]:
    """Thresholds written explicitly in the spec's post-processing (unset fields are not)."""
    out = {}
    configs = spec.postprocessing_config.target_class_config
    for c in class_names:
        if c not in configs:
            continue
        cc = configs[c].clustering_config
        nms = cc.HasField("clustering_algorithm") and cc.clustering_algorithm == cc.NMS
        name = "nms_confidence_threshold" if nms else "dbscan_confidence_threshold"
        if cc.HasField(name):
            out[c] = float(getattr(cc, name))
    return out


def resolve(class_names: Sequence[str], *, override: float | None = None, spec=None,
            evaluated: Mapping[str, float | None] | None = None) -> Thresholds:
    """Each class's threshold by the precedence of the module docstring."""
    if override is not None and not override >= 0.0:
        from ...errors import SpecError

        raise SpecError(f"--confidence_threshold {override}: a score threshold is 0 or more "
                        "(e.g. 0.5); leave it out to use the per-class thresholds")
    from_spec = spec_thresholds(spec, class_names) if spec is not None else {}
    evaluated = evaluated or {}
    values, sources = {}, {}
    for c in class_names:
        if override is not None:
            values[c], sources[c] = float(override), FLAG
        elif c in from_spec:
            values[c], sources[c] = from_spec[c], SPEC
        elif evaluated.get(c) is not None:
            values[c], sources[c] = float(evaluated[c]), EVALUATION
        else:
            values[c], sources[c] = None, NONE
    return Thresholds(values, sources)


def for_model(model_path, class_names: Sequence[str], *, override: float | None = None,
              spec=None) -> Thresholds:
    """`resolve` with the thresholds stored by the last `evaluate` of `model_path` (in the
    ``evaluate/`` folder of its results directory)."""
    from ...experiments import Experiment

    return resolve(class_names, override=override, spec=spec,
                   evaluated=stored(model_path, Experiment.of_model(model_path).evaluate_dir))
