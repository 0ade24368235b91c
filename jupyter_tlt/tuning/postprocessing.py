"""Post-processing tuning: search DetectNet_v2's per-class clustering parameters against validation mAP.

    result = tune_postprocessing("runs/detect/weights/model.keras", trials=60)
    result.before, result.after          # mAP at the level (moderate by default), before and after
    result.spec_path                     # the spec with the best postprocessing_config, for train/infer

The network runs once over the validation fold; each trial only re-runs clustering (``postprocess``)
and the metric on the stored grids, so a trial costs milliseconds to seconds, not an epoch. Optuna's
TPE sampler proposes the parameters; the spec's own values are the first trial, so the result is
never worse than the start. The best ``postprocessing_config`` is written into a spec file and (for a
Keras model) into the spec stored in the model, each atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
import numpy as np

from .. import atomic
from ..errors import UsageError
from ..metrics.detection import LEVELS

# searched per class: (low, high, log scale); NMS models search their own two instead of DBSCAN's
DBSCAN_SPACE = {"coverage_threshold": (0.001, 0.5, True), "dbscan_eps": (0.05, 0.6, False),
                "dbscan_min_samples": (0.01, 2.0, True), "dbscan_confidence_threshold": (0.0, 0.5, False),
                "minimum_bounding_box_height": (0.0, 40.0, False)}
NMS_SPACE = {"coverage_threshold": (0.001, 0.5, True), "nms_iou_threshold": (0.2, 0.8, False),
             "nms_confidence_threshold": (0.0, 0.5, False), "minimum_bounding_box_height": (0.0, 40.0, False)}


@dataclass
class RawOutputs:
    """The network's grids over a validation fold, computed once, with what scoring them needs."""

    cov: list[np.ndarray]      # per batch, (B, gh, gw, C)
    bbox: list[np.ndarray]     # per batch, (B, gh, gw, 4C)
    scales: list[np.ndarray]   # per batch, (B,) model-input pixels per original pixel
    truth: list                # GroundTruth per image, same order


@dataclass
class PostprocessTuning:
    """mAP before and after, the best per-class parameters, every trial, and the files written."""

    level: str
    before: float
    after: float
    best: dict[str, dict[str, float]]
    trials: list[dict] = field(default_factory=list)
    spec_path: str | None = None
    model_updated: str | None = None
    seconds: float = 0.0

    @property
    def gain(self) -> float:
        return self.after - self.before

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.trials)

    def __str__(self) -> str:
        rows = "\n".join(f"  {c}: " + ", ".join(f"{k}={v:.4g}" for k, v in params.items())
                         for c, params in self.best.items())
        wrote = f"\nbest spec written to {self.spec_path}" if self.spec_path else ""
        model = f"\nspec stored in {self.model_updated} updated" if self.model_updated else ""
        return (f"post-processing tuning, {len(self.trials)} trials in {self.seconds:.1f}s: mAP ({self.level}) "
                f"{100 * self.before:.2f} -> {100 * self.after:.2f} ({100 * self.gain:+.2f} points)\n"
                f"{rows}{wrote}{model}")


def raw_outputs(task, runner, batch_size: int) -> RawOutputs:
    """Run the network once over the validation fold."""
    cov, bbox, scales = [], [], []
    for images, labels in task.eval_batches(batch_size):
        c, b = runner(images, training=False)
        cov.append(np.asarray(c))
        bbox.append(np.asarray(b))
        scales.append(labels["scale"].numpy())
    return RawOutputs(cov, bbox, scales, task.ground_truth())


def score(task, raw: RawOutputs, config, level: str) -> float:
    """mAP at ``level`` of ``config`` applied to the stored grids."""
    import warnings

    from ..tasks.detectnet_v2.postprocess import postprocess
    from ..metrics.boxes import Detections

    names = np.array(task.class_names)
    detections = []
    for cov, bbox, scales in zip(raw.cov, raw.bbox, raw.scales):
        for dets, scale in zip(postprocess(cov, bbox, config), scales):
            d = dets.in_original_pixels(float(scale))
            detections.append(Detections(d.boxes, names[d.classes], d.scores))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no ground truth at this level" is said once by evaluate
        return float(task.metrics(raw.truth, detections, difficulties=(level,)).mAP[level])


def search(task, raw: RawOutputs, config, *, trials: int = 60, level: str = "moderate", seed: int = 0,
           timeout: float | None = None) -> tuple[object, float, float, list[dict]]:
    """(best config, mAP before, mAP after, trial rows): Optuna TPE over every class's parameters."""
    import optuna

    space = {c: (NMS_SPACE if k.algorithm == "nms" else DBSCAN_SPACE) for c, k in zip(task.class_names,
                                                                                       config.classes)}

    def build(params: dict):
        classes = tuple(replace(k, **{name: params[f"{c}.{name}"] for name in space[c]})
                        for c, k in zip(task.class_names, config.classes))
        return replace(config, classes=classes)

    rows: list[dict] = []

    def objective(trial):
        params = {f"{c}.{name}": _suggest(trial, f"{c}.{name}", low, high, log)
                  for c in task.class_names for name, (low, high, log) in space[c].items()}
        value = score(task, raw, build(params), level)
        rows.append({"trial": trial.number, "mAP": value, **params})
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    start = {f"{c}.{name}": _start(name, getattr(k, name), space[c][name])
             for c, k in zip(task.class_names, config.classes) for name in space[c]}
    study.enqueue_trial(start)
    before = score(task, raw, config, level)
    study.optimize(objective, n_trials=trials, timeout=timeout)
    best_value = study.best_value
    if best_value <= before:  # the spec's own values (possibly outside the space) stay
        return config, before, before, rows
    return build(study.best_params), before, best_value, rows


def _start(name: str, current: float, bounds: tuple) -> float:
    clipped = float(np.clip(current, bounds[0], bounds[1]))
    return int(round(clipped)) if name.endswith("minimum_bounding_box_height") else clipped


def _suggest(trial, name: str, low: float, high: float, log: bool) -> float:
    if name.endswith("minimum_bounding_box_height"):  # a uint32 in the spec: search whole pixels
        return float(trial.suggest_int(name, int(low), int(high)))
    return trial.suggest_float(name, low, high, log=log)


def with_postprocessing(spec, config) -> str:
    """The spec's text with ``postprocessing_config`` set to ``config``'s per-class parameters."""
    from ..spec import spec_to_text
    from ..spec.protos.experiment_pb2 import ClusteringConfig

    spec = type(spec).FromString(spec.SerializeToString())
    target = spec.postprocessing_config.target_class_config
    for name, k in zip(config.class_names, config.classes):
        cc = target[name].clustering_config
        cc.coverage_threshold = k.coverage_threshold
        cc.minimum_bounding_box_height = int(round(k.minimum_bounding_box_height))
        cc.clustering_algorithm = ClusteringConfig.NMS if k.algorithm == "nms" else ClusteringConfig.DBSCAN
        cc.dbscan_eps, cc.dbscan_min_samples = k.dbscan_eps, k.dbscan_min_samples
        cc.dbscan_confidence_threshold = k.dbscan_confidence_threshold
        cc.nms_iou_threshold, cc.nms_confidence_threshold = k.nms_iou_threshold, k.nms_confidence_threshold
    return spec_to_text(spec)


def _validating_on(spec, records: str | None):
    """A copy of ``spec`` validating on ``records`` (its own validation data when None)."""
    if records is None:
        return spec
    import glob

    if not glob.glob(str(records)):
        raise UsageError(f"--validation_records {records}: no TFRecord files match; give the path or glob of "
                         "`tlt dataset-convert`'s output, e.g. tune/records/kitti-fold-*")
    copy = type(spec).FromString(spec.SerializeToString())
    copy.dataset_config.validation_data_source.tfrecords_path = str(records)
    return copy


def tune_postprocessing(model_path, *, spec=None, output_spec=None, trials: int = 60, level: str = "moderate",
                        timeout: float | None = None, batch_size: int | None = None, key: str | None = None,
                        framework: str | None = None, update_model: bool = True, seed: int = 0,
                        overwrite: bool = False, validation_records: str | None = None) -> PostprocessTuning:
    """Tune a trained DetectNet_v2's post-processing on its validation fold (see the module docstring).

    ``output_spec``: where the best spec goes (default ``<results>/tune_postprocessing/spec.txt``).
    ``update_model``: also store the best spec inside a Keras model file (rewritten atomically).
    ``validation_records``: TFRecords (a path or glob) to tune on instead of the spec's validation data,
    so the spec's own validation (test) frames stay unseen by the search; the spec written keeps its
    dataset_config, only ``postprocessing_config`` changes.

        tune_postprocessing("runs/target/weights/model.keras", validation_records="tune/records/kitti-fold-*")
    """
    from ..evaluate import load_for_inference
    from ..experiments import Experiment
    from ..tasks.detectnet_v2.postprocess import PostprocessConfig
    from ..tasks import DEFAULT_TASK, make_task, task_class
    from ..training.settings import settings

    started = time.perf_counter()
    if level not in LEVELS:
        raise UsageError(f"--level: unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if not isinstance(trials, int) or trials < 1:
        raise UsageError(f"--trials: {trials!r} trials is no search; give 1 or more (e.g. 60)")
    runner, info, spec_message = load_for_inference(model_path, spec, key, framework)
    name = info.get("task") or DEFAULT_TASK
    if not task_class(name).tunable_postprocessing:
        raise UsageError(f"{model_path}: post-processing tuning is for detectors (DetectNet_v2); this model is "
                         f"a {name} model")
    output_spec = Path(output_spec) if output_spec else Experiment.of_model(model_path).root / "tune_postprocessing" / "spec.txt"
    atomic.check_overwrite([output_spec], overwrite, "tuned spec")
    task = make_task(name, _validating_on(spec_message, validation_records), info.get("class_names"))
    raw = raw_outputs(task, runner, batch_size or settings(spec_message).batch_size_per_gpu)
    config = PostprocessConfig.from_spec(spec_message, task.class_names)
    best, before, after, rows = search(task, raw, config, trials=trials, level=level, seed=seed, timeout=timeout)
    text = with_postprocessing(spec_message, best)
    atomic.ensure_writable_dir(output_spec.parent)
    atomic.write_text(output_spec, text)
    updated = None
    if update_model and runner.name == "keras" and after > before:
        from ..models import save_model

        save_model(runner.model, model_path, key=key, info={**info, "spec": text})
        updated = str(model_path)
    best_params = {c: {name: float(getattr(k, name)) for name in (NMS_SPACE if k.algorithm == "nms" else DBSCAN_SPACE)}
                   for c, k in zip(task.class_names, best.classes)}
    return PostprocessTuning(level, before, after, best_params, rows, str(output_spec), updated,
                             time.perf_counter() - started)

