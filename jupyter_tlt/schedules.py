"""Learning-rate schedules of the seed and of TAO, as Keras schedules evaluated per step.

They are registered with Keras so that a checkpoint's optimizer can be restored on resume. This
module imports Keras: import it inside the functions that train, never from a front end.
"""

from __future__ import annotations

import math

from .tf_import import tensorflow

tensorflow()  # before Keras, so the TensorFlow backend starts quietly
import keras  # noqa: E402

ops = keras.ops


@keras.saving.register_keras_serializable(package="jupyter_tlt")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The seed's schedule: `learning_rate * gamma ** floor(step / step_size)` (step_size in steps)."""

    def __init__(self, learning_rate: float, gamma: float, step_size: int):
        self.learning_rate, self.gamma, self.step_size = learning_rate, gamma, max(1, int(step_size))

    def __call__(self, step):
        k = ops.floor(ops.cast(step, "float32") / self.step_size)
        return self.learning_rate * ops.power(self.gamma, k)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "gamma": self.gamma, "step_size": self.step_size}


@keras.saving.register_keras_serializable(package="jupyter_tlt")
class SoftStartAnnealing(keras.optimizers.schedules.LearningRateSchedule):
    """TAO's schedule: exponential ramp from min to max over the first `soft_start` fraction of
    training, flat at max, then exponential decay back to min from the `annealing` fraction on."""

    def __init__(self, min_lr: float, max_lr: float, soft_start: float, annealing: float,
                 total_steps: int):
        self.min_lr, self.max_lr = min_lr, max_lr
        self.soft_start, self.annealing = soft_start, annealing
        self.total_steps = max(1, int(total_steps))

    def __call__(self, step):
        progress = ops.cast(step, "float32") / self.total_steps
        ramp = ops.clip(progress / max(self.soft_start, 1e-9), 0.0, 1.0)
        decay = ops.clip((progress - self.annealing) / max(1.0 - self.annealing, 1e-9), 0.0, 1.0)
        return self.min_lr * ops.exp(math.log(self.max_lr / self.min_lr) * (ramp - decay))

    def get_config(self):
        return {"min_lr": self.min_lr, "max_lr": self.max_lr, "soft_start": self.soft_start,
                "annealing": self.annealing, "total_steps": self.total_steps}
