"""Distribution: one device, MirroredStrategy over GPUs (`--gpus N`) or named devices, or
MultiWorkerMirroredStrategy across machines when TF_CONFIG is set; and checkpoint restore."""

from __future__ import annotations

import json
import os
import re

from ..errors import TltError
from ..tf_import import tensorflow


def make_strategy(gpus: int = 1, devices=None):
    tf = tensorflow()
    if os.environ.get("TF_CONFIG"):
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise TltError(f"TF_CONFIG is not valid JSON ({exc.msg}); see the README's multi-node "
                           "section for its form.") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices:
        return tf.distribute.MirroredStrategy(list(devices))
    if gpus < 1:
        raise TltError(f"--gpus {gpus}: give 1 or more.")
    if gpus == 1:
        return tf.distribute.get_strategy()
    visible = tf.config.list_physical_devices("GPU")
    if len(visible) < gpus:
        raise TltError(f"--gpus {gpus}: only {len(visible)} GPU(s) are visible to TensorFlow; "
                       "lower --gpus or check CUDA_VISIBLE_DEVICES and the [gpu] install.")
    return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(gpus)])


def is_chief(strategy) -> bool:
    """Only the chief writes logs, checkpoints and the final model."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


def restore_checkpoint(model, path) -> int:
    """Load weights and optimizer state from a checkpoint into a compiled model; return its epoch."""
    model.optimizer.build(model.trainable_variables)
    model.load_weights(str(path))
    return int(re.search(r"(\d+)\.keras$", str(path)).group(1))


def prepare_multi_worker(model, strategy, dataset) -> None:
    """Work around two spots where Keras 3's `fit` mishandles MultiWorkerMirroredStrategy:

    - its first step reduces a per-replica input batch eagerly, which fails on CPU workers: build the
      model, losses and metrics here from one plain batch instead;
    - it reduces each step's scalar logs with `strategy.reduce(..., axis=0)`, which needs an axis:
      give every log value a leading axis of one, which the reduction removes again.
    """
    tf = tensorflow()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    batch = next(iter(dataset))
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    step = model.train_step

    def train_step(data):
        return {k: tf.reshape(v, [1]) for k, v in step(data).items()}

    model.train_step = train_step
