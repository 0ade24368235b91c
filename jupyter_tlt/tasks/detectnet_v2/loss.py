"""DetectNet_v2 losses for Keras ``compile``, one per output, from ``cost_function_config``.

    losses = make_losses(spec, class_names)          # {"output_cov": ..., "output_bbox": ...}
    model.compile(optimizer, loss=losses, loss_weights=loss_weights(spec, class_names))
    model.fit(train_ds.map(target_fn(RasterizerConfig.from_spec(spec, class_names))),
              callbacks=training_callbacks(spec), ...)

The targets are those packed by ``rasterize.pack_targets`` (the losses split them again):

* ``output_cov`` (coverage): L2, as TAO's "cov" objective, between the sigmoid coverage p and the
  target t, over the cells whose deadzone weight is 1. Per class c, with fg = cells where t > 0 and
  bg = the others, ``L_c = coverage_foreground_weight * mean_fg (p - t)^2 + mean_bg (p - t)^2``
  (means over each image's cells; an empty set contributes 0). Normalising each set by its own count
  keeps the rare foreground cells from being drowned by the background whatever the object sizes, and
  ``coverage_foreground_weight`` sets their relative weight (default 1: equal; see defaults.py).
* ``output_bbox``: L1 over the 4 encoded edges, only on foreground cells (t > 0), summed over the
  classes and divided by the image's number of foreground (cell, class) pairs (at least 1).

Without auto-weighting, both sum the classes with weight ``class_weight * initial_weight`` of that
class's objective ("cov" or "bbox") from ``cost_function_config.target_classes``; classes it does not
list get the defaults (class_weight 1, coverage_foreground_weight 1, initial_weight 1, weight_target
1). The objective weights are per class in TAO, so they live inside the losses and ``loss_weights``
is 1 for both outputs.

``cost_function_config.bbox_iou_weight`` w > 0 adds ``w * (1 - GIoU)`` to the bbox objective on the
same foreground cells: the generalised IoU of the predicted and target box of each cell. Both boxes
are encoded relative to the same cell anchor and divided by the same scale, and IoU does not change
under a shift and a uniform scaling, so the encoded edges give the IoU of the decoded boxes.

``enable_autoweighting`` (TAO's cost auto-weighting; off by default here, see defaults.py): the class
weights are normalised to sum to 1 and each class's objective weights start at ``initial_weight``
normalised over its objectives. During ``fit`` each loss adds every batch's mean per-class cost to a
running sum, and at the end of every epoch ``AutoWeighting`` (the Keras callback the task adds) sets
each class's objective weights to ``weight_target / cost sum``, normalised over the class's
objectives and clamped to ``[min_objective_weight, max_objective_weight]`` (a class whose costs were
all 0 keeps its weights); the sums restart at 0 with the next epoch. Weighted costs are thus pulled
to the ratio of the targets. The weights start again from ``initial_weight`` when training resumes.

Each loss returns one value per image, which Keras averages over the global batch: per-image
normalisation makes the loss (and its gradient) the same whether a batch runs on one device or is
split across replicas.  The classes are ``keras.losses.Loss`` subclasses registered
as ``jupyter_tlt>DetectNetCoverageLoss`` / ``jupyter_tlt>DetectNetBboxLoss``; they are created on
first use so that importing this module does not import Keras. Models are saved without compile
state, so loading a model never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...tf_import import tensorflow
from .rasterize import OUTPUT_BBOX, OUTPUT_COV

_CLASSES: dict = {}
OBJECTIVES = ("cov", "bbox")   # TAO's objective names, in the order of the outputs


@dataclass(frozen=True)
class LossConfig:
    """Per-class weights of the two objectives (tuples with one entry per class) and the options of
    ``cost_function_config``."""

    class_weight: tuple[float, ...]
    coverage_foreground_weight: tuple[float, ...]
    cov_weight: tuple[float, ...]
    bbox_weight: tuple[float, ...]
    cov_target: tuple[float, ...] = ()     # weight_target per class; () = 1 for every class
    bbox_target: tuple[float, ...] = ()
    autoweighting: bool = False
    min_objective_weight: float = 0.0001
    max_objective_weight: float = 0.9999
    bbox_iou_weight: float = 0.0

    @classmethod
    def from_spec(cls, spec, class_names: Sequence[str]) -> "LossConfig":
        """Read ``cost_function_config`` (``target_classes`` names matched case-insensitively)."""
        import warnings

        from ...spec.defaults import value
        from ...spec.protos.experiment_pb2 import CostFunctionObjective, CostFunctionTargetClass

        cost = spec.cost_function_config
        targets = {t.name.lower(): t for t in cost.target_classes}
        unknown = sorted(t.name for t in cost.target_classes
                         if t.name.lower() not in {n.lower() for n in class_names})
        if unknown:
            warnings.warn(f"cost_function_config.target_classes: {', '.join(map(repr, unknown))} is "
                          f"not one of the model's classes {list(class_names)}; ignored", stacklevel=2)
        fields: dict[str, list[float]] = {k: [] for k in (
            "class_weight", "coverage_foreground_weight", "cov_weight", "bbox_weight", "cov_target",
            "bbox_target")}
        for name in class_names:
            target = targets.get(name.lower(), CostFunctionTargetClass())
            fields["class_weight"].append(float(value(target, "class_weight")))
            fields["coverage_foreground_weight"].append(
                float(value(target, "coverage_foreground_weight")))
            objectives = {o.name: o for o in target.objectives}
            for objective in OBJECTIVES:
                message = objectives.get(objective, CostFunctionObjective())
                fields[f"{objective}_weight"].append(float(value(message, "initial_weight")))
                fields[f"{objective}_target"].append(float(value(message, "weight_target")))
        return cls(**{k: tuple(v) for k, v in fields.items()},
                   autoweighting=bool(value(cost, "enable_autoweighting")),
                   min_objective_weight=float(value(cost, "min_objective_weight")),
                   max_objective_weight=float(value(cost, "max_objective_weight")),
                   bbox_iou_weight=float(value(cost, "bbox_iou_weight")))

    @classmethod
    def default(cls, num_classes: int) -> "LossConfig":
        from ...spec.protos.experiment_pb2 import ExperimentSpec

        return cls.from_spec(ExperimentSpec(), [f"class_{i}" for i in range(num_classes)])

    def targets(self, objective: str) -> list[float]:
        values = getattr(self, f"{objective}_target")
        return list(values) if values else [1.0] * len(self.class_weight)


def make_losses(spec, class_names: Sequence[str]) -> dict:
    """``{"output_cov": CoverageLoss, "output_bbox": BboxLoss}`` for ``model.compile(loss=...)``."""
    return losses_from_config(LossConfig.from_spec(spec, class_names))


def losses_from_config(config: LossConfig) -> dict:
    classes = loss_classes()
    if config.autoweighting:
        # TAO: class weights normalised over the classes, objective weights over each class's objectives
        total = sum(config.class_weight) or 1.0
        class_weights = [c / total for c in config.class_weight]
        sums = [c + b for c, b in zip(config.cov_weight, config.bbox_weight)]
        weights = {o: [w / s if s else 0.0 for w, s in zip(getattr(config, f"{o}_weight"), sums)]
                   for o in OBJECTIVES}
        auto = {o: {"objective_weights": weights[o], "weight_targets": config.targets(o),
                    "weight_range": [config.min_objective_weight, config.max_objective_weight]}
                for o in OBJECTIVES}
        cov_weights = bbox_weights = class_weights
    else:  # constant weights: class_weight x initial_weight
        cov_weights = [c * o for c, o in zip(config.class_weight, config.cov_weight)]
        bbox_weights = [c * o for c, o in zip(config.class_weight, config.bbox_weight)]
        auto = {o: {} for o in OBJECTIVES}
    cov = classes["CoverageLoss"](class_weights=cov_weights,
                                  foreground_weights=list(config.coverage_foreground_weight), **auto["cov"])
    bbox = classes["BboxLoss"](class_weights=bbox_weights, iou_weight=config.bbox_iou_weight,
                               **auto["bbox"])
    return {OUTPUT_COV: cov, OUTPUT_BBOX: bbox}


def loss_weights(spec=None, class_names: Sequence[str] | None = None) -> dict[str, float]:
    """Keras ``loss_weights``: 1 for both outputs (the per-class objective weights are inside the
    losses, see the module docstring)."""
    return {OUTPUT_COV: 1.0, OUTPUT_BBOX: 1.0}


def autoweight(cost_sums, weight_targets, old_weights, low: float, high: float) -> np.ndarray:
    """TAO's epoch-end rule on (objectives, classes) arrays: per class, ``weight_target / cost``
    (0 where the cost is 0) normalised over the objectives and clamped to [low, high]; a class whose
    raw weights sum to 0 keeps ``old_weights``.

    >>> autoweight([[1.0], [4.0]], [[1.0], [1.0]], [[0.5], [0.5]], 1e-4, 0.9999).round(3).tolist()
    [[0.8], [0.2]]
    """
    costs = np.asarray(cost_sums, np.float64)
    raw = np.where(costs != 0, np.asarray(weight_targets, np.float64) / np.where(costs != 0, costs, 1), 0.0)
    total = raw.sum(axis=0, keepdims=True)
    new = np.clip(raw / np.where(total != 0, total, 1), low, high)
    return np.where(total != 0, new, np.asarray(old_weights, np.float64))


def giou_cost(pred, target):
    """``1 - GIoU`` of boxes (..., 4) as x1, y1, x2, y2; 0 for identical boxes, up to 2 for far
    apart ones. Inverted predicted edges count as an empty box; finite for empty boxes too."""
    tf = tensorflow()
    eps = 1e-7
    px1, py1, px2, py2 = tf.unstack(tf.cast(pred, tf.float32), axis=-1)
    tx1, ty1, tx2, ty2 = tf.unstack(tf.cast(target, tf.float32), axis=-1)
    pred_area = tf.nn.relu(px2 - px1) * tf.nn.relu(py2 - py1)
    target_area = tf.nn.relu(tx2 - tx1) * tf.nn.relu(ty2 - ty1)
    inter = (tf.nn.relu(tf.minimum(px2, tx2) - tf.maximum(px1, tx1))
             * tf.nn.relu(tf.minimum(py2, ty2) - tf.maximum(py1, ty1)))
    union = pred_area + target_area - inter
    hull = (tf.nn.relu(tf.maximum(px2, tx2) - tf.minimum(px1, tx1))
            * tf.nn.relu(tf.maximum(py2, ty2) - tf.minimum(py1, ty1)))
    giou = inter / (union + eps) - (hull - union) / (hull + eps)
    return 1.0 - giou


def loss_classes() -> dict:
    """The registered ``keras.losses.Loss`` subclasses and the ``AutoWeighting`` callback, created
    (and Keras imported) on first use."""
    if _CLASSES:
        return _CLASSES
    tf = tensorflow()  # Keras' TensorFlow backend imports it; do it quietly first
    import keras

    class _DetectNetLoss(keras.losses.Loss):
        """Sums ``class_weights * objective_weights * per_class_cost`` over the classes; with
        ``weight_targets`` the objective weights are auto-weighted (see the module docstring)."""

        objective = ""

        def __init__(self, class_weights, name, objective_weights=None, weight_targets=None,
                     weight_range=(0.0001, 0.9999), **kwargs):
            kwargs.setdefault("reduction", "sum_over_batch_size")
            super().__init__(name=name, **kwargs)
            self.class_weights = [float(w) for w in class_weights]
            self.initial_objective_weights = [float(w) for w in (
                objective_weights if objective_weights is not None else [1.0] * len(self.class_weights))]
            self.weight_targets = None if weight_targets is None else [float(w) for w in weight_targets]
            self.weight_range = [float(w) for w in weight_range]
            if self.autoweighting:
                # one value per class, averaged over replicas when training is distributed
                mean = tf.VariableAggregation.MEAN
                self.objective_weights = tf.Variable(self.initial_objective_weights, trainable=False,
                                                     dtype=tf.float32, aggregation=mean,
                                                     name=f"{self.objective}_objective_weights")
                self.cost_sums = tf.Variable(tf.zeros([len(self.class_weights)]), trainable=False,
                                             aggregation=mean, name=f"{self.objective}_cost_sums")

        @property
        def autoweighting(self) -> bool:
            return self.weight_targets is not None

        def _check(self, num_classes: int):
            if num_classes != len(self.class_weights):
                raise ValueError(f"{self.name}: the model has {num_classes} classes but the loss "
                                 f"was built for {len(self.class_weights)}")

        def combine(self, per_class):
            """(B, C) per-class costs -> (B,) weighted sums; accumulates the costs when auto-weighting."""
            class_weights = tf.constant(self.class_weights, tf.float32)
            if not self.autoweighting:
                weights = class_weights * tf.constant(self.initial_objective_weights, tf.float32)
                return tf.reduce_sum(weights * per_class, axis=-1)
            update = self.cost_sums.assign_add(tf.reduce_mean(per_class, axis=0))
            with tf.control_dependencies([update]):
                weights = class_weights * tf.convert_to_tensor(self.objective_weights)
                return tf.reduce_sum(weights * per_class, axis=-1)

        def get_config(self):
            config = super().get_config()
            config.update(class_weights=list(self.class_weights),
                          objective_weights=list(self.initial_objective_weights),
                          weight_targets=self.weight_targets, weight_range=list(self.weight_range))
            return config

    @keras.saving.register_keras_serializable(package="jupyter_tlt", name="DetectNetCoverageLoss")
    class CoverageLoss(_DetectNetLoss):
        """Weighted L2 coverage loss; ``y_true`` is [coverage | deadzone weight] (..., 2C)."""

        objective = "cov"

        def __init__(self, class_weights, foreground_weights, name="cov_loss", **kwargs):
            super().__init__(class_weights, name, **kwargs)
            self.foreground_weights = [float(w) for w in foreground_weights]

        def call(self, y_true, y_pred):
            num_classes = y_pred.shape[-1]
            self._check(num_classes)
            y_pred = tf.cast(y_pred, tf.float32)
            y_true = tf.cast(y_true, tf.float32)
            target, weight = y_true[..., :num_classes], y_true[..., num_classes:2 * num_classes]
            error = tf.square(y_pred - target)
            positive = tf.cast(target > 0, tf.float32)
            fg, bg = positive * weight, (1.0 - positive) * weight
            cells = list(range(1, len(y_pred.shape) - 1))       # per image and class
            fg_mean = tf.reduce_sum(error * fg, cells) / tf.maximum(tf.reduce_sum(fg, cells), 1.0)
            bg_mean = tf.reduce_sum(error * bg, cells) / tf.maximum(tf.reduce_sum(bg, cells), 1.0)
            return self.combine(tf.constant(self.foreground_weights, tf.float32) * fg_mean + bg_mean)

        def get_config(self):
            config = super().get_config()
            config["foreground_weights"] = list(self.foreground_weights)
            return config

    @keras.saving.register_keras_serializable(package="jupyter_tlt", name="DetectNetBboxLoss")
    class BboxLoss(_DetectNetLoss):
        """L1 (plus ``iou_weight * (1 - GIoU)``) on the encoded edges of foreground cells;
        ``y_true`` is [edges | foreground] (..., 5C)."""

        objective = "bbox"

        def __init__(self, class_weights, name="bbox_loss", iou_weight=0.0, **kwargs):
            super().__init__(class_weights, name, **kwargs)
            self.iou_weight = float(iou_weight)

        def call(self, y_true, y_pred):
            num_classes = y_pred.shape[-1] // 4
            self._check(num_classes)
            y_pred = tf.cast(y_pred, tf.float32)
            y_true = tf.cast(y_true, tf.float32)
            target = y_true[..., :4 * num_classes]
            foreground = y_true[..., 4 * num_classes:5 * num_classes]
            shape = tf.concat([tf.shape(y_pred)[:-1], [num_classes, 4]], axis=0)
            pred4, target4 = tf.reshape(y_pred, shape), tf.reshape(target, shape)
            error = tf.reduce_sum(tf.abs(pred4 - target4), axis=-1)
            if self.iou_weight:
                error += self.iou_weight * giou_cost(pred4, target4)
            cells = list(range(1, len(y_pred.shape) - 1))
            count = tf.maximum(tf.reduce_sum(foreground, cells + [len(y_pred.shape) - 1]), 1.0)
            return self.combine(tf.reduce_sum(error * foreground, cells) / count[:, None])

        def get_config(self):
            config = super().get_config()
            config["iou_weight"] = self.iou_weight
            return config

    class AutoWeighting(keras.callbacks.Callback):
        """TAO's cost auto-weighting for the model's auto-weighted DetectNet_v2 losses: their cost
        sums restart at every epoch's beginning, their objective weights are updated at its end.
        ``history`` holds each epoch's new weights, {objective: [per class]}."""

        def __init__(self):
            super().__init__()
            self.history: list[dict[str, list[float]]] = []

        def _losses(self) -> list:
            losses = self.model.loss
            losses = losses.values() if isinstance(losses, dict) else (
                losses if isinstance(losses, (list, tuple)) else [losses])
            return sorted((l for l in losses if isinstance(l, _DetectNetLoss) and l.autoweighting),
                          key=lambda l: OBJECTIVES.index(l.objective))

        def on_epoch_begin(self, epoch, logs=None):
            for loss in self._losses():
                loss.cost_sums.assign(tf.zeros_like(loss.cost_sums))

        def on_epoch_end(self, epoch, logs=None):
            losses = self._losses()
            if not losses:
                return
            low, high = losses[0].weight_range
            new = autoweight([l.cost_sums.numpy() for l in losses], [l.weight_targets for l in losses],
                             [l.objective_weights.numpy() for l in losses], low, high)
            for loss, weights in zip(losses, new):
                loss.objective_weights.assign(weights.astype(np.float32))
            self.history.append({l.objective: w.tolist() for l, w in zip(losses, new)})

    _CLASSES.update(CoverageLoss=CoverageLoss, BboxLoss=BboxLoss, AutoWeighting=AutoWeighting)
    return _CLASSES


def training_callbacks(spec) -> list:
    """The Keras callbacks the losses need during ``fit``: ``AutoWeighting`` when the spec enables it."""
    from ...spec.defaults import value

    if not value(spec.cost_function_config, "enable_autoweighting"):
        return []
    return [loss_classes()["AutoWeighting"]()]
