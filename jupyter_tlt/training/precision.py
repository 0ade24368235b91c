"""Mixed precision for `train --use_amp` (TAO's flag): Keras' mixed_float16 where a GPU runs it.

    decision = precision_for(use_amp=True)       # on this machine: why it is off, or that it is on
    with decision.building():                    # layers built inside compute in float16
        model = task.build()
    model.compile(...)                           # Keras wraps the optimizer in a LossScaleOptimizer
    plain = float32_copy(model)                  # what is saved and exported: float32 throughout

float16 pays only on a GPU's tensor cores (compute capability 7.0 and later); on a CPU it is slower
than float32 (no float16 arithmetic units; x86 converts every value), so there the option is reported
as off and training runs in float32. The heads compute in float32 (their layers say so), so the
outputs, the losses and every saved or exported model stay float32.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

USE_AMP_DEFAULT = False  # TAO's default: `--use_amp` turns it on
MIXED = "mixed_float16"
TENSOR_CORES = (7, 0)    # the first compute capability with float16 tensor cores (Volta)


@dataclass(frozen=True)
class Precision:
    """The policy training builds the model under, and the sentence that explains it."""

    policy: str           # "float32" or "mixed_float16"
    reason: str = ""      # why --use_amp is off here ("" when it was not asked for or is on)

    @property
    def mixed(self) -> bool:
        return self.policy == MIXED

    def describe(self) -> str:
        if self.mixed:
            return "mixed precision on (--use_amp): float16 compute, float32 weights, dynamic loss scaling"
        return f"--use_amp: mixed precision is off: {self.reason}; training in float32" if self.reason else ""

    @contextlib.contextmanager
    def building(self):
        """Layers created inside use this policy; the global policy is restored afterwards."""
        from ..tf_import import keras

        mp = keras().mixed_precision
        before = mp.global_policy().name
        mp.set_global_policy(self.policy)
        try:
            yield
        finally:
            mp.set_global_policy(before)


def precision_for(use_amp: bool = USE_AMP_DEFAULT, devices=None) -> Precision:
    """float32 unless `use_amp` and every device training uses is a GPU with tensor cores.

    `devices`: the explicit device names training runs on (``train(devices=...)``), if any.
    """
    if not use_amp:
        return Precision("float32")
    from ..tf_import import tensorflow

    tf = tensorflow()
    if devices and not all("gpu" in str(d).lower() for d in devices):
        return Precision("float32", f"the devices {', '.join(map(str, devices))} are not all GPUs "
                         "(float16 is slower than float32 on a CPU)")
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return Precision("float32", "no GPU is visible to TensorFlow, and on a CPU float16 is slower than "
                         "float32 (no float16 arithmetic units)")
    old = []
    for gpu in gpus:
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability is not None and tuple(capability) < TENSOR_CORES:
            old.append(f"{gpu.name} (compute capability {capability[0]}.{capability[1]})")
    if old:
        return Precision("float32", f"{', '.join(old)} has no float16 tensor cores (7.0 or later needed), "
                         "so float16 would not be faster")
    return Precision(MIXED)


def float32_copy(model):
    """`model` with every layer computing in float32 and the same weights (what is saved and exported).

    A model built under mixed_float16 records that policy in each layer's config; a copy keeps
    exported ONNX and later float32 runs free of float16.
    """
    from ..tf_import import keras

    keras = keras()
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    for source, target in zip(model.layers, copy.layers):
        target.trainable = source.trainable
    return copy
