"""DetectNet_v2 losses for Keras ``compile``, one per output, from ``cost_function_config``.

    losses = make_losses(spec, class_names)          # {"output_cov": ..., "output_bbox": ...}
    model.compile(optimizer, loss=losses, loss_weights=loss_weights(spec, class_names))
    model.fit(train_ds.map(target_fn(RasterizerConfig.from_spec(spec, class_names))), ...)

The targets are those packed by ``rasterize.pack_targets`` (the losses split them again):

* ``output_cov`` (coverage): L2, as TAO's "cov" objective, between the sigmoid coverage p and the
  target t, over the cells whose deadzone weight is 1. Per class c, with fg = cells where t > 0 and
  bg = the others, ``L_c = coverage_foreground_weight * mean_fg (p - t)^2 + mean_bg (p - t)^2``
  (means over each image's cells; an empty set contributes 0). Normalising each set by its own count
  keeps the rare foreground cells from being drowned by the background whatever the object sizes, and
  ``coverage_foreground_weight`` sets their relative weight (default 1: equal; see defaults.py).
* ``output_bbox``: L1 over the 4 encoded edges, only on foreground cells (t > 0), summed over the
  classes and divided by the image's number of foreground (cell, class) pairs (at least 1).

Both sum the classes with weight ``class_weight * initial_weight`` of that class's objective ("cov"
or "bbox") from ``cost_function_config.target_classes``; classes it does not list get the defaults
(class_weight 1, coverage_foreground_weight 1, initial_weight 1). The objective weights are
per class in TAO, so they live inside the losses and ``loss_weights`` is 1 for both outputs.
Autoweighting (``enable_autoweighting``) is not applied here.

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

from ...tf_import import tensorflow
from .rasterize import OUTPUT_BBOX, OUTPUT_COV

_CLASSES: dict = {}


@dataclass(frozen=True)
class LossConfig:
    """Per-class weights of the two objectives (tuples with one entry per class)."""

    class_weight: tuple[float, ...]
    coverage_foreground_weight: tuple[float, ...]
    cov_weight: tuple[float, ...]
    bbox_weight: tuple[float, ...]

    @classmethod
    def from_spec(cls, spec, class_names: Sequence[str]) -> "LossConfig":
        """Read ``cost_function_config.target_classes`` (names matched case-insensitively)."""
        import warnings

        from ...spec.defaults import value
        from ...spec.protos.experiment_pb2 import CostFunctionObjective, CostFunctionTargetClass

        targets = {t.name.lower(): t for t in spec.cost_function_config.target_classes}
        unknown = sorted(t.name for t in spec.cost_function_config.target_classes
                         if t.name.lower() not in {n.lower() for n in class_names})
        if unknown:
            warnings.warn(f"cost_function_config.target_classes: {', '.join(map(repr, unknown))} is "
                          f"not one of the model's classes {list(class_names)}; ignored", stacklevel=2)
        fields: dict[str, list[float]] = {k: [] for k in ("class_weight", "coverage_foreground_weight",
                                                          "cov_weight", "bbox_weight")}
        for name in class_names:
            target = targets.get(name.lower(), CostFunctionTargetClass())
            fields["class_weight"].append(float(value(target, "class_weight")))
            fields["coverage_foreground_weight"].append(
                float(value(target, "coverage_foreground_weight")))
            objectives = {o.name: o for o in target.objectives}
            for objective in ("cov", "bbox"):
                message = objectives.get(objective, CostFunctionObjective())
                fields[f"{objective}_weight"].append(float(value(message, "initial_weight")))
        return cls(**{k: tuple(v) for k, v in fields.items()})

    @classmethod
    def default(cls, num_classes: int) -> "LossConfig":
        from ...spec.protos.experiment_pb2 import ExperimentSpec

        return cls.from_spec(ExperimentSpec(), [f"class_{i}" for i in range(num_classes)])


def make_losses(spec, class_names: Sequence[str]) -> dict:
    """``{"output_cov": CoverageLoss, "output_bbox": BboxLoss}`` for ``model.compile(loss=...)``."""
    return losses_from_config(LossConfig.from_spec(spec, class_names))


def losses_from_config(config: LossConfig) -> dict:
    classes = loss_classes()
    cov = classes["CoverageLoss"](
        class_weights=[c * o for c, o in zip(config.class_weight, config.cov_weight)],
        foreground_weights=list(config.coverage_foreground_weight))
    bbox = classes["BboxLoss"](
        class_weights=[c * o for c, o in zip(config.class_weight, config.bbox_weight)])
    return {OUTPUT_COV: cov, OUTPUT_BBOX: bbox}


def loss_weights(spec=None, class_names: Sequence[str] | None = None) -> dict[str, float]:
    """Keras ``loss_weights``: 1 for both outputs (the per-class objective weights are inside the
    losses, see the module docstring)."""
    return {OUTPUT_COV: 1.0, OUTPUT_BBOX: 1.0}


def loss_classes() -> dict:
    """The registered ``keras.losses.Loss`` subclasses, created (and Keras imported) on first use."""
    if _CLASSES:
        return _CLASSES
    tensorflow()  # Keras' TensorFlow backend imports it; do it quietly first
    import keras

    class _DetectNetLoss(keras.losses.Loss):
        def __init__(self, class_weights, name, **kwargs):
            kwargs.setdefault("reduction", "sum_over_batch_size")
            super().__init__(name=name, **kwargs)
            self.class_weights = [float(w) for w in class_weights]

        def _check(self, num_classes: int):
            if num_classes != len(self.class_weights):
                raise ValueError(f"{self.name}: the model has {num_classes} classes but the loss "
                                 f"was built for {len(self.class_weights)}")

        def get_config(self):
            config = super().get_config()
            config["class_weights"] = list(self.class_weights)
            return config

    @keras.saving.register_keras_serializable(package="jupyter_tlt", name="DetectNetCoverageLoss")
    class CoverageLoss(_DetectNetLoss):
        """Weighted L2 coverage loss; ``y_true`` is [coverage | deadzone weight] (..., 2C)."""

        def __init__(self, class_weights, foreground_weights, name="cov_loss", **kwargs):
            super().__init__(class_weights, name, **kwargs)
            self.foreground_weights = [float(w) for w in foreground_weights]

        def call(self, y_true, y_pred):
            tf = tensorflow()
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
            per_class = tf.constant(self.foreground_weights, tf.float32) * fg_mean + bg_mean
            return tf.reduce_sum(tf.constant(self.class_weights, tf.float32) * per_class, axis=-1)

        def get_config(self):
            config = super().get_config()
            config["foreground_weights"] = list(self.foreground_weights)
            return config

    @keras.saving.register_keras_serializable(package="jupyter_tlt", name="DetectNetBboxLoss")
    class BboxLoss(_DetectNetLoss):
        """L1 on the encoded edges of foreground cells; ``y_true`` is [edges | foreground] (..., 5C)."""

        def __init__(self, class_weights, name="bbox_loss", **kwargs):
            super().__init__(class_weights, name, **kwargs)

        def call(self, y_true, y_pred):
            tf = tensorflow()
            num_classes = y_pred.shape[-1] // 4
            self._check(num_classes)
            y_pred = tf.cast(y_pred, tf.float32)
            y_true = tf.cast(y_true, tf.float32)
            target = y_true[..., :4 * num_classes]
            foreground = y_true[..., 4 * num_classes:5 * num_classes]
            shape = tf.concat([tf.shape(y_pred)[:-1], [num_classes, 4]], axis=0)
            error = tf.reduce_sum(tf.abs(tf.reshape(y_pred - target, shape)), axis=-1)
            cells = list(range(1, len(y_pred.shape) - 1))
            per_class = tf.reduce_sum(error * foreground, cells)                    # (B, C)
            total = tf.reduce_sum(tf.constant(self.class_weights, tf.float32) * per_class, axis=-1)
            return total / tf.maximum(tf.reduce_sum(foreground, cells + [len(y_pred.shape) - 1]), 1.0)

    _CLASSES.update(CoverageLoss=CoverageLoss, BboxLoss=BboxLoss)
    return _CLASSES

