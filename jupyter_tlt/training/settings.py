"""Training settings from either spec shape: the seed's `train_config` or TAO's `training_config`.

Defaults live in `spec/defaults.py`; this module only decides which field answers each question.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec.defaults import value


@dataclass(frozen=True)
class Settings:
    epochs: int
    batch_size_per_gpu: int
    validation_period: int
    first_validation_epoch: int
    checkpoint_interval: int


def settings(spec) -> Settings:
    ec = spec.evaluation_config
    if spec.HasField("training_config"):
        tc = spec.training_config
        return Settings(value(tc, "num_epochs"), value(tc, "batch_size_per_gpu"),
                        value(ec, "validation_period_during_training"),
                        value(ec, "first_validation_epoch"), value(tc, "checkpoint_interval"))
    tc = spec.train_config
    period = (value(ec, "validation_period_during_training") if ec.HasField("validation_period_during_training")
              else value(tc, "validation_period"))
    return Settings(value(tc, "n_epochs"), value(tc, "batch_size_per_gpu"), period,
                    value(ec, "first_validation_epoch"), value(tc, "checkpoint_interval"))


def make_optimizer(spec, steps_per_epoch: int, epochs: int):
    """The optimizer and learning-rate schedule the spec asks for (schedules run per step)."""
    from .. import schedules
    from ..tf_import import keras

    keras = keras()

    total = steps_per_epoch * epochs
    if spec.HasField("training_config"):
        tc = spec.training_config
        sched = tc.learning_rate.soft_start_annealing_schedule
        lr = schedules.SoftStartAnnealing(value(sched, "min_learning_rate"), value(sched, "max_learning_rate"),
                                          value(sched, "soft_start"), value(sched, "annealing"), total)
        opt = tc.optimizer
        if opt.HasField("sgd"):
            return keras.optimizers.SGD(lr, momentum=value(opt.sgd, "momentum"),
                                        nesterov=bool(value(opt.sgd, "nesterov")))
        return keras.optimizers.Adam(lr, beta_1=value(opt.adam, "beta1"), beta_2=value(opt.adam, "beta2"),
                                     epsilon=value(opt.adam, "epsilon"))
    tc = spec.train_config
    base = value(tc, "learning_rate")
    if value(tc, "lr_schedule") == "soft_start_annealing":
        lr = schedules.SoftStartAnnealing(value(tc, "min_learning_rate"), base, value(tc, "soft_start"),
                                          value(tc, "annealing"), total)
    else:
        lr = schedules.StepDecay(base, value(tc, "gamma"), value(tc, "step_size") * steps_per_epoch)
    if value(tc, "optimizer") == "adam":
        return keras.optimizers.Adam(lr)
    return keras.optimizers.SGD(lr, momentum=value(tc, "momentum"))


def pretrained_path(spec) -> str:
    """`train_config.pretrained_model_path` or `model_config.pretrained_model_file` ('' if neither).

    A registry reference (`registry:NAME@VERSION`, or `registry:NAME` for the latest) is pulled,
    verified, into the registry cache and the local file's path is returned.
    """
    path = spec.train_config.pretrained_model_path or spec.model_config.pretrained_model_file
    from ..registry.references import is_reference, resolve_reference

    return resolve_reference(path) if is_reference(path) else path
