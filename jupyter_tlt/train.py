"""`train`: fit a detection or classification model from an experiment spec, in this process.

Example:
    >>> result = train("specs/detect.cfg", "runs/detect")      # resumes if runs/detect has checkpoints
    >>> result.to_frame()                                        # loss, lr, validation mAP per epoch

The results directory receives experiment.json, status.jsonl, weights/ and tensorboard/
(see `experiments.py`). The same call serves fine-tuning from a pretrained model and retraining a
pruned one: `pretrained_model_path` names the model whose weights are transferred by layer name.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecError, TltError
from .experiments import Experiment
from .progress import warn
from .spec import load_experiment_spec, spec_to_text, views
from .tasks import infer_task, make_task


@dataclass
class TrainResult:
    """The outcome of `train`: the final model, per-epoch history and validation metrics."""

    results_dir: Path
    task: str
    model_path: Path
    class_names: list[str]
    initial_epoch: int
    epochs: int
    history: list[dict] = field(default_factory=list)
    validations: list[dict] = field(default_factory=list)
    transfer: str = ""
    seconds: float = 0.0

    def to_frame(self):
        """One row per epoch trained in this call: loss terms, learning rate, validation metrics."""
        import pandas as pd

        return pd.DataFrame(self.history).set_index("epoch") if self.history else pd.DataFrame()

    def summary(self) -> str:
        resumed = f" (resumed at epoch {self.initial_epoch})" if self.initial_epoch else ""
        last = self.validations[-1] if self.validations else {}
        metric = ", ".join(f"{'mAP (level all)' if k == 'mAP' else k} {100 * v:.1f}%" for k, v in last.items()
                           if k != "epoch" and "_" not in k)
        return (f"Trained {self.task} {self.epochs - self.initial_epoch} epochs{resumed} in "
                f"{self.seconds:.0f}s -> {self.model_path}" + (f"; validation {metric}" if metric else ""))

    def __str__(self) -> str:
        parts = [self.summary()]
        if self.transfer:
            parts.append(f"pretrained weights: {self.transfer}")
        if self.history:
            parts += ["", self.shown_history().to_string()]
        return "\n".join(parts)

    def shown_history(self):
        """`to_frame` as people read it: losses to 4 decimals, the learning rate in e-notation,
        validation metrics in percent, a dash for epochs without validation."""
        from .table_cells import decimals, formatted_frame, percent_of_fraction

        frame = self.to_frame()
        formats = {c: percent_of_fraction if c.startswith("val_") else
                   (lambda v: f"{v:.2e}") if c == "lr" else decimals(4) for c in frame.columns}
        return formatted_frame(frame, formats)

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + (self.shown_history().to_html() if self.history else "")


def train(spec, results_dir, *, task: str | None = None, gpus: int = 1, devices=None,
          key: str | None = None, model_name: str = "model", progress: bool = True,
          verbose: bool = False, on_epoch=None, callbacks=(), use_amp: bool | None = None) -> TrainResult:
    """Train the model `spec` describes; resume when `results_dir` holds checkpoints.

    `on_epoch(record)` is called after every epoch with its loss terms, learning rate and any
    validation metrics (the notebook's live chart uses it). `callbacks`: more Keras callbacks, run
    after the one that validates (so they see `val_*` in the epoch's logs; `tlt tune` prunes with one).
    `gpus` > 1 trains on that many GPUs with MirroredStrategy; `devices` names devices explicitly
    (e.g. two logical CPUs in tests); with TF_CONFIG set, MultiWorkerMirroredStrategy spans machines.
    `use_amp` (TAO's `--use_amp`): mixed float16 where every training device is a GPU with tensor
    cores; elsewhere a warning says why it is off (see `training.precision`).
    """
    from .tf_import import keras
    from .training import distribute
    from .training.callbacks import EpochEnd, Progress
    from .training.precision import USE_AMP_DEFAULT, precision_for
    from .models.imagenet import is_imagenet, load_imagenet_weights
    from .models.keras2_weights import is_keras2_file, load_keras2_weights, refuse_encrypted_tao
    from .training.settings import make_optimizer, pretrained_path, settings

    keras = keras()

    start = time.perf_counter()
    spec = load_experiment_spec(spec)
    keras.utils.set_random_seed(views.random_seed(spec))  # same initial weights, same data order
    task_name = task or infer_task(spec)
    exp = Experiment(results_dir)
    strategy = distribute.make_strategy(gpus, devices)
    chief = distribute.is_chief(strategy)
    precision = precision_for(USE_AMP_DEFAULT if use_amp is None else use_amp, devices)
    if precision.reason and chief:
        warn(precision.describe())
    conf = settings(spec)
    if spec.HasField("train_config") and spec.HasField("training_config"):
        warn("the spec has both train_config and training_config: epochs, batch size, learning rate, "
             "optimizer and regularizer come from training_config (its defaults where it is silent); "
             "train_config gives only the dataset paths and the pretrained model")
    global_batch = conf.batch_size_per_gpu * strategy.num_replicas_in_sync
    _check_memory(spec, conf.batch_size_per_gpu)
    t = make_task(task_name, spec)
    train_ds, steps = t.train_data(global_batch)
    latest = exp.latest_checkpoint()
    transfer_text = ""
    source = pretrained_path(spec)  # a registry reference is pulled here, once
    imagenet = is_imagenet(source)
    if source:
        refuse_encrypted_tao(source)
    keras2 = bool(source) and not imagenet and is_keras2_file(source)  # a TAO/NGC .hdf5
    pretrained = _load_pretrained(source, key) if source and not (imagenet or keras2) else None
    with strategy.scope(), precision.building():
        model = t.build()
        if pretrained and pretrained[1].get("pruned"):
            model = _pruned_widths(model, pretrained[0])  # retraining keeps the pruned model's widths
        model.compile(optimizer=make_optimizer(spec, steps, conf.epochs), **t.compile_args())
        if latest:
            initial_epoch = distribute.restore_checkpoint(model, latest[1])
        else:
            initial_epoch = 0
            if pretrained:
                transfer_text = _transfer_pretrained(source, *pretrained, model, t.class_names)
            elif imagenet:
                transfer_text = f"{source}: {load_imagenet_weights(model, *views.backbone(spec), source)}"
            elif keras2:
                transfer_text = f"{source}: {load_keras2_weights(model, source)}"
    if initial_epoch >= conf.epochs:
        raise TltError(f"{results_dir}: already holds a checkpoint of epoch {initial_epoch} of "
                       f"{conf.epochs}; raise the number of epochs in the spec to train further, or "
                       "use a new results directory.")
    arch, depth = views.backbone(spec)
    if chief:
        exp.start(task=task_name, arch=f"{arch}{depth or ''}", class_names=t.class_names,
                  epochs=conf.epochs, batch_size=global_batch, replicas=strategy.num_replicas_in_sync,
                  spec=spec_to_text(spec), initial_epoch=initial_epoch, transfer=transfer_text,
                  precision=precision.policy)
    epoch_end = EpochEnd(exp, t, global_batch, conf.validation_period, conf.first_validation_epoch,
                         conf.checkpoint_interval, conf.epochs, chief, verbose, on_epoch)
    callbacks = [*t.training_callbacks(), epoch_end, *callbacks,
                 Progress(conf.epochs, steps, initial_epoch, progress and chief)]
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(exp.tensorboard_dir),
                                                     write_graph=False, update_freq="epoch"))
    distribute.prepare_multi_worker(model, strategy, train_ds)
    model_path = exp.weights_dir / f"{model_name}.keras"
    try:
        with exp.heartbeat() if chief else contextlib.nullcontext():
            model.fit(train_ds, epochs=conf.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                      callbacks=callbacks, verbose=0, shuffle=False)
            if chief and epoch_end.stopped_at is None:
                save_final(model, model_path, key, task=task_name, class_names=t.class_names,
                           input_shape=views.input_shape(spec), spec=spec_to_text(spec))
    except KeyboardInterrupt:
        if chief:
            exp.set_status("interrupted", epoch=initial_epoch + len(epoch_end.history))
        raise
    except BaseException as exc:
        if chief:
            _record_failure(exp, exc)
        raise
    if chief and epoch_end.stopped_at is not None:
        exp.clear_stop()
        exp.set_status("interrupted", epoch=epoch_end.stopped_at, stopped_by="request")
        warn(f"{exp.root}: stopped after epoch {epoch_end.stopped_at} of {conf.epochs} as requested; its "
             "checkpoint is kept: train again with the same results directory to resume")
    elif chief:
        last = epoch_end.validations[-1] if epoch_end.validations else {}
        exp.set_status("finished", model=str(model_path), **{k: v for k, v in last.items()})
        _record_lineage(spec, source, model, model_path, last)
    return TrainResult(exp.root, task_name, model_path, t.class_names, initial_epoch, conf.epochs,
                       epoch_end.history, epoch_end.validations, transfer_text,
                       time.perf_counter() - start)


def _record_lineage(spec, source: str, model, model_path: Path, last: dict) -> None:
    """The trained model's parent (the pretrained model or registry reference) and figures."""
    from . import lineage
    from .registry.references import is_reference

    raw = spec.train_config.pretrained_model_path or spec.model_config.pretrained_model_file
    metrics = {k: v for k, v in last.items() if k != "epoch"}
    lineage.record(model_path, "train", lineage.parent_ref(source, raw if is_reference(raw) else None),
                   lineage.keras_figures(model, model_path, metrics=metrics or None,
                                         epoch=last.get("epoch")))


def _check_memory(spec, batch_per_device: int) -> None:
    """Refuse a batch that cannot fit in memory before anything is built (a clear sentence, not an OOM)."""
    from .limits import check_batch_memory

    channels, height, width = views.input_shape(spec)
    field = ("training_config.batch_size_per_gpu" if spec.HasField("training_config")
             else "train_config.batch_size_per_gpu")
    check_batch_memory(batch_per_device, height, width, channels, field)


def _record_failure(exp: Experiment, exc: BaseException) -> None:
    """Record "failed" with the reason (the user's sentence for a full disk); never hides `exc`."""
    from .errors import disk_full

    reason = (disk_full(exc) if isinstance(exc, OSError) else None) or exc
    try:
        exp.set_status("failed", error=f"{type(reason).__name__}: {reason}")
    except OSError:  # the disk may still be full: status.jsonl's last event and the pid tell the rest
        pass


def save_final(model, path: Path, key: str | None = None, **info) -> Path:
    """Save an uncompiled float32 copy (no optimizer state) with jupyter-tlt's info inside the file."""
    from .models import save_model
    from .tf_import import keras
    from .training.precision import float32_copy

    model = float32_copy(model)  # a mixed-precision model is saved (and exported) in float32
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # a list would make callers warn
    plain = keras().Model(inputs, model.outputs, name=model.name)
    return save_model(plain, path, info=info, key=key)


def _load_pretrained(path: str, key: str | None):
    """(model, stored info) of the spec's pretrained model."""
    from .model_info import read_info
    from .models import load_model

    return load_model(path, key), read_info(path, key)


def _pruned_widths(model, pruned):
    """``model`` (built from the spec: regularizer, freezing) rebuilt with the pruned model's filter counts."""
    from .models.naming import HEAD_LAYERS
    from .pruning import with_widths
    from .pruning.graph import FILTER_LAYERS

    def filter_layers(m):
        return {layer.name: layer for layer in m.layers
                if type(layer).__name__ in FILTER_LAYERS and layer.name not in HEAD_LAYERS}

    ours, theirs = filter_layers(model), filter_layers(pruned)
    if set(ours) != set(theirs):
        odd = sorted(set(ours) ^ set(theirs))[0]
        raise SpecError(f"pretrained_model_path is a pruned {pruned.name} but model_config describes "
                        f"{model.name} (layer {odd!r} is in only one of them); retrain with the model_config "
                        "of the model that was pruned")
    return with_widths(model, {name: layer.get_config()[FILTER_LAYERS[type(layer).__name__]]
                               for name, layer in theirs.items()})


def _transfer_pretrained(path: str, source, info: dict, model, class_names: list[str]) -> str:
    from .models import transfer_weights

    source_classes = info.get("class_names")
    report = transfer_weights(source, model, class_names_source=source_classes,
                              class_names_target=class_names if source_classes else None)
    pruned = " (a pruned model: its widths are kept)" if info.get("pruned") else ""
    return f"{path}{pruned}: {report}"
