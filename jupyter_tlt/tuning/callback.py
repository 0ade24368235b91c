"""The Keras callback that reports each validated epoch to an Optuna trial and stops a bad one.

    stop = OptunaPruning(trial, monitor="val_mAP")
    train(spec, results_dir, callbacks=[stop])     # runs after the callback that validates
    if stop.pruned_at: raise optuna.TrialPruned()

Stopping through ``model.stop_training`` (rather than raising inside ``fit``) lets training end
normally: the experiment's checkpoint, final model and status are written as for any other run.
"""

from __future__ import annotations

from ..tf_import import keras


class OptunaPruning(keras().callbacks.Callback):
    """Report ``logs[monitor]`` at every epoch that has it; stop training when the pruner says so."""

    def __init__(self, trial, monitor: str):
        super().__init__()
        self.trial, self.monitor = trial, monitor
        self.pruned_at: int | None = None
        self.last: float | None = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:  # no validation this epoch
            return
        self.last = float(value)
        self.trial.report(self.last, epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.model.stop_training = True
