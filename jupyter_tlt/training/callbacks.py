"""Keras callbacks of the `train` step: progress bars, the event log, validation, checkpoints."""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path
from ..experiments import Experiment
from ..progress import bar
from ..tf_import import keras

keras = keras()


def current_lr(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class Progress(keras.callbacks.Callback):
    """An epoch bar and a step bar (loss and learning rate in its postfix), via `progress.bar`."""

    def __init__(self, epochs: int, steps: int, initial_epoch: int, enabled: bool):
        super().__init__()
        self.epochs, self.steps, self.initial_epoch, self.enabled = epochs, steps, initial_epoch, enabled
        self.epoch_bar = self.step_bar = None

    def on_train_begin(self, logs=None):
        self.epoch_bar = bar(total=self.epochs, desc="epochs", unit="epoch", enabled=self.enabled)
        self.epoch_bar.update(self.initial_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self.step_bar = bar(total=self.steps, desc=f"epoch {epoch + 1}", unit="step",
                            enabled=self.enabled, leave=False)

    def on_train_batch_end(self, batch, logs=None):
        if self.step_bar is not None:
            self.step_bar.update(1)
            if batch % 5 == 0 and logs:
                self.step_bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.4f}",
                                          lr=f"{current_lr(self.model):.2e}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.step_bar is not None:
            self.step_bar.close()
        self.epoch_bar.set_postfix(epoch_postfix(logs or {}), refresh=False)
        self.epoch_bar.update(1)

    def on_train_end(self, logs=None):
        for b in (self.step_bar, self.epoch_bar):
            if b is not None:
                b.close()


def epoch_postfix(logs: dict) -> dict[str, str]:
    """What the epoch bar shows: the loss, and validation metrics in percent with their level."""
    shown = {"loss": f"{logs['loss']:.4f}"} if "loss" in logs else {}
    for key, label in (("val_mAP", "val mAP (all)"), ("val_accuracy", "val accuracy")):
        if key in logs:
            shown[label] = f"{100 * float(logs[key]):.1f}%"
    return shown


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: validate when due, log the event, write a checkpoint atomically.

    Checkpoints keep the optimizer state, so a resumed run continues exactly; the newest two and
    every `checkpoint_interval`-th are kept.
    """

    def __init__(self, experiment: Experiment, task, batch_size: int, validation_period: int,
                 first_validation_epoch: int, checkpoint_interval: int, epochs: int, chief: bool,
                 verbose: bool = False, on_epoch=None):
        super().__init__()
        self.on_epoch = on_epoch  # called with each epoch's record (after its checkpoint), e.g. a live chart
        self.exp, self.task, self.batch_size = experiment, task, batch_size
        self.period, self.first = max(1, validation_period), max(1, first_validation_epoch)
        self.interval, self.epochs, self.chief, self.verbose = max(1, checkpoint_interval), epochs, chief, verbose
        self.validations: list[dict] = []
        self.history: list[dict] = []
        self.stopped_at: int | None = None  # the epoch a Stop request ended the run at

    def due(self, epoch: int) -> bool:
        done = epoch + 1
        return done >= self.first and ((done - self.first) % self.period == 0 or done == self.epochs)

    def on_epoch_end(self, epoch, logs=None):
        if not self.chief:
            return
        done = epoch + 1
        record = {"epoch": done, **{k: float(v) for k, v in (logs or {}).items()},
                  "lr": current_lr(self.model)}
        if self.due(epoch):
            metrics = self.task.validate(self.model, self.batch_size)
            if metrics:
                named = {f"val_{k}": float(v) for k, v in metrics.items()}
                record.update(named)
                if logs is not None:
                    logs.update(named)  # so the progress bar and TensorBoard show them too
                self.validations.append({"epoch": done, **metrics})
                self.exp.log("validation", epoch=done, **metrics)
        self.history.append(record)
        self.exp.log("epoch_end", **record)
        if self.verbose:
            print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        self.save_checkpoint(done)
        if self.on_epoch is not None and self.chief:
            self.on_epoch(dict(record))
        if done < self.epochs and self.exp.stop_requested():
            self.stopped_at = done  # after its checkpoint: started again, the run resumes from it
            self.model.stop_training = True

    def save_checkpoint(self, epoch: int) -> Path:
        final = self.exp.checkpoint_path(epoch)
        with atomic_path(final, suffix=".keras") as tmp:  # removed on any error, a full disk included
            self.model.save(str(tmp), overwrite=True)
        for old_epoch, path in self.exp.checkpoints()[:-2]:
            if old_epoch % self.interval:
                path.unlink(missing_ok=True)
        return final
