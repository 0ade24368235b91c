"""`TrainPanel`: a form over an experiment spec's main fields, Run and Stop buttons, a live chart.

    from jupyter_tlt.widgets import TrainPanel
    panel = TrainPanel(task="detection", results_dir="runs/detect")   # or TrainPanel(spec=my_spec_text)
    panel                                   # fill in the dataset path, press Run (Stop: after this epoch)
    panel.wait()                            # the TrainResult, once training ends

The form edits a spec text (the user's, or a template): `panel.spec_text()` is what gets trained, and
it is exactly what `%%tlt train` would take in its cell body. Training calls `jupyter_tlt.train.train`
in a background thread, so the kernel keeps handling button clicks while it runs: Stop sets a flag
that the `on_epoch` hook checks after each epoch's checkpoint is written, and raises a
KeyboardInterrupt there, which `train` records as "interrupted". Pressing Run again resumes from
that checkpoint. The thread only updates widgets (chart image, progress, status), never prints.
"""

from __future__ import annotations

import html
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import ipywidgets as w

from ..notebook.live_chart import LiveChart

DETECTION_TEMPLATE = """random_seed: 42
dataset_config {
  data_sources { tfrecords_path: "data/tfrecords/kitti-fold-*" }
  target_class_mapping { key: "car" value: "car" }
  target_class_mapping { key: "cyclist" value: "cyclist" }
  target_class_mapping { key: "pedestrian" value: "pedestrian" }
  target_class_mapping { key: "road_sign" value: "road_sign" }
  validation_fold: 0
}
augmentation_config {
  preprocessing { output_image_width: 256 output_image_height: 160 min_bbox_width: 2 min_bbox_height: 2 }
  spatial_augmentation { hflip_probability: 0.5 }
}
model_config { arch: "resnet" num_layers: 18 }
postprocessing_config {
  target_class_config { key: "car" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
  target_class_config { key: "cyclist" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
  target_class_config { key: "pedestrian" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
  target_class_config { key: "road_sign" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
}
evaluation_config { validation_period_during_training: 1 first_validation_epoch: 1 }
training_config { batch_size_per_gpu: 16 num_epochs: 10
  learning_rate { soft_start_annealing_schedule { min_learning_rate: 1e-05 max_learning_rate: 0.001
    soft_start: 0.1 annealing: 0.7 } }
  regularizer { type: L2 weight: 1e-05 }
  optimizer { adam { } }
}
"""

CLASSIFICATION_TEMPLATE = """random_seed: 42
model_config { arch: "resnet" n_layers: 18 input_image_size: "3,64,64" }
train_config {
  train_dataset_path: "data/classification/train"
  val_dataset_path: "data/classification/val"
  batch_size_per_gpu: 32
  n_epochs: 10
  learning_rate: 0.01
  step_size: 5
  gamma: 0.5
}
"""

DEPTHS = {"resnet": [10, 18, 34, 50], "vgg": [16, 19], "alexnet": [], "googlenet": []}


class StopTraining(KeyboardInterrupt):
    """Raised by the `on_epoch` hook when Stop was pressed; `train` treats it as an interrupt."""


# -- the spec behind the form --------------------------------------------------------------------

def read_fields(spec) -> dict[str, Any]:
    """The form's values as the spec (text or message) gives them."""
    from ..spec import load_experiment_spec, views

    spec = load_experiment_spec(spec)
    detection = spec.HasField("dataset_config")
    _, height, width = views.input_shape(spec)
    arch, depth = views.backbone(spec)
    fields = {"task": "detection" if detection else "classification", "arch": arch, "n_layers": depth,
              "width": width, "height": height,
              "pretrained": spec.train_config.pretrained_model_path or spec.model_config.pretrained_model_file}
    if detection:
        sources = spec.dataset_config.data_sources
        tc = spec.training_config
        fields.update(tfrecords_path=sources[0].tfrecords_path if sources else "", epochs=tc.num_epochs,
                      batch_size=tc.batch_size_per_gpu,
                      learning_rate=tc.learning_rate.soft_start_annealing_schedule.max_learning_rate)
    else:
        tc = spec.train_config
        fields.update(train_path=tc.train_dataset_path, val_path=tc.val_dataset_path, epochs=tc.n_epochs,
                      batch_size=tc.batch_size_per_gpu, learning_rate=tc.learning_rate)
    return fields


def build_spec(template: str, **fields: Any) -> str:
    """`template` with the given form fields replaced; returns validated spec text.

    Fields: tfrecords_path (detection), train_path / val_path (classification), arch, n_layers,
    width, height, epochs, batch_size, learning_rate. Everything else in the template is kept.
    """
    from ..spec import load_experiment_spec, spec_to_text

    spec = load_experiment_spec(template)
    model = spec.model_config
    if "arch" in fields:
        model.arch = fields["arch"]
    if fields.get("n_layers") or DEPTHS.get(model.arch) == []:  # alexnet, googlenet: one fixed depth
        # keep the template's spelling: n_layers (seed, classification) or num_layers (DetectNet_v2)
        seed_style = model.HasField("n_layers") or not spec.HasField("dataset_config")
        model.ClearField("n_layers")
        model.ClearField("num_layers")
        if fields.get("n_layers") and DEPTHS.get(model.arch):
            setattr(model, "n_layers" if seed_style else "num_layers", int(fields["n_layers"]))
    if "width" in fields or "height" in fields:
        pre = spec.augmentation_config.preprocessing
        if pre.HasField("output_image_width") or spec.HasField("dataset_config"):
            pre.output_image_width = int(fields.get("width", pre.output_image_width))
            pre.output_image_height = int(fields.get("height", pre.output_image_height))
        else:
            channels, width, height = (model.input_image_size or "3,64,64").split(",")
            model.input_image_size = (f"{channels},{int(fields.get('width', width))},"
                                      f"{int(fields.get('height', height))}")
    if spec.HasField("dataset_config"):
        if fields.get("tfrecords_path"):
            sources = spec.dataset_config.data_sources
            (sources[0] if sources else sources.add()).tfrecords_path = fields["tfrecords_path"]
        tc = spec.training_config
        _set(tc, "num_epochs", fields.get("epochs"), int)
        _set(tc, "batch_size_per_gpu", fields.get("batch_size"), int)
        if fields.get("learning_rate"):
            sched = tc.learning_rate.soft_start_annealing_schedule
            sched.max_learning_rate = float(fields["learning_rate"])
            if not sched.HasField("min_learning_rate") or sched.min_learning_rate > sched.max_learning_rate:
                sched.min_learning_rate = sched.max_learning_rate / 100
    else:
        tc = spec.train_config
        _set(tc, "train_dataset_path", fields.get("train_path"), str)
        _set(tc, "val_dataset_path", fields.get("val_path"), str)
        _set(tc, "n_epochs", fields.get("epochs"), int)
        _set(tc, "batch_size_per_gpu", fields.get("batch_size"), int)
        _set(tc, "learning_rate", fields.get("learning_rate"), float)
    text = spec_to_text(spec)
    if fields.get("pretrained"):
        text = with_pretrained(text, str(fields["pretrained"]).strip())
    load_experiment_spec(text, name="<form>")  # a bad combination (e.g. vgg 18) is a SpecError now
    return text


def pretrained_choices(registry=None, folder: str | os.PathLike = ".") -> list[str]:
    """What the pretrained-model picker offers: `registry:NAME@VERSION` for every pushed version of the
    registry (`--registry` default: $TLT_REGISTRY or the local one), then model files under `folder`
    (pulled copies in pretrained/, and the final models of runs/*)."""
    from ..errors import TltError
    from ..registry import Registry

    choices = []
    try:
        registry = registry if registry is not None else Registry()
        for model in registry.models():
            if model.get("versions"):
                choices += [f"registry:{model['name']}@{v}" for v in registry.versions(model["name"])]
    except (TltError, OSError):  # no registry here: files only
        pass
    root = Path(folder)
    for pattern in ("pretrained/**/*.keras", "pretrained/**/*.hdf5", "runs/*/weights/model.keras"):
        choices += sorted(str(p.relative_to(root)) for p in root.glob(pattern))
    return choices


def with_pretrained(spec, model_path: str) -> str:
    """The spec text with its pretrained model set to `model_path` (e.g. a pruned model, to retrain)."""
    from ..spec import load_experiment_spec, spec_to_text

    spec = load_experiment_spec(spec)
    # train_config.pretrained_model_path wins when both are set (training.settings.pretrained_path)
    if spec.HasField("dataset_config") and not spec.train_config.pretrained_model_path:
        spec.model_config.pretrained_model_file = str(model_path)
    else:
        spec.train_config.pretrained_model_path = str(model_path)
    return spec_to_text(spec)


def _set(message, field: str, value, kind) -> None:
    if value not in (None, ""):
        setattr(message, field, kind(value))


# -- a training run in a thread ------------------------------------------------------------------

class TrainJob:
    """`train(spec, results_dir)` in a background thread, charted, and stoppable after any epoch."""

    def __init__(self, spec_text: str, results_dir: str, *, task: str | None = None, key: str | None = None,
                 chart: LiveChart | None = None, on_epoch: Callable[[dict], None] | None = None,
                 on_done: Callable[["TrainJob"], None] | None = None):
        self.spec_text, self.results_dir, self.task, self.key = spec_text, results_dir, task, key
        self.chart = chart or LiveChart(title=str(results_dir))
        self.on_epoch, self.on_done = on_epoch, on_done
        self.result = None
        self.error: BaseException | None = None
        self.stopped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tlt-train", daemon=True)

    def start(self) -> "TrainJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current epoch (its checkpoint is written first)."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None):
        self._thread.join(timeout)
        return self.result

    def _hook(self, record: dict) -> None:
        self.chart.update(record)
        if self.on_epoch is not None:
            self.on_epoch(record)
        if self._stop.is_set():
            raise StopTraining(f"stopped after epoch {record['epoch']}")

    def _run(self) -> None:
        from ..train import train

        try:
            self.result = train(self.spec_text, self.results_dir, task=self.task, key=self.key,
                                progress=False, on_epoch=self._hook)
        except KeyboardInterrupt:
            self.stopped = True
        except BaseException as exc:  # shown in the panel: a thread has nowhere else to report
            self.error = exc
        finally:
            if self.on_done is not None:
                self.on_done(self)


def _duration(seconds: float) -> str:
    """`75` -> "1 min 15 s"."""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def error_html(error: Exception) -> str:
    """A user error (TltError) as one red line for a panel's status."""
    return f"<b style='color:#b00'>error:</b> {html.escape(str(error))}"


def describe_outcome(job: TrainJob) -> str:
    """HTML: how a job ended."""
    from ..errors import TltError

    if job.result is not None:
        return job.result._repr_html_()
    if job.stopped:
        from ..experiments import Experiment

        latest = Experiment(job.results_dir).latest_checkpoint()
        where = f"the checkpoint of epoch {latest[0]} is <code>{html.escape(str(latest[1]))}</code>; " if latest else ""
        return f"<b>Stopped</b>: {where}press Run to resume from it."
    if isinstance(job.error, TltError):
        return error_html(job.error)
    text = "".join(traceback.format_exception(job.error))
    return f"<b style='color:#b00'>training failed</b><pre>{html.escape(text)}</pre>"


# -- the panel -----------------------------------------------------------------------------------

class TrainPanel(w.VBox):
    """Form + Run/Stop + live chart over `jupyter_tlt.train.train`."""

    def __init__(self, spec: str | None = None, *, task: str = "detection", results_dir: str = "runs/train",
                 key: str | None = None):
        template = spec or (DETECTION_TEMPLATE if task == "detection" else CLASSIFICATION_TEMPLATE)
        self.template = template
        self.key = key
        self.job: TrainJob | None = None
        values = read_fields(template)
        self.task = values["task"]
        style = {"description_width": "110px"}
        text = dict(style=style, layout=w.Layout(width="520px"))
        self.tfrecords_path = w.Text(value=values.get("tfrecords_path", ""), description="TFRecords", **text)
        self.train_path = w.Text(value=values.get("train_path", ""), description="train folder", **text)
        self.val_path = w.Text(value=values.get("val_path", ""), description="val folder", **text)
        self.arch = w.Dropdown(options=list(DEPTHS), value=values["arch"], description="arch", style=style)
        self.n_layers = w.Dropdown(options=DEPTHS[values["arch"]] or [None], value=values["n_layers"],
                                   description="layers", style=style)
        self.width = w.BoundedIntText(value=values["width"], min=16, max=8192, description="input width", style=style)
        self.height = w.BoundedIntText(value=values["height"], min=16, max=8192, description="input height",
                                       style=style)
        self.epochs = w.BoundedIntText(value=values["epochs"] or 10, min=1, max=100000, description="epochs",
                                       style=style)
        self.batch_size = w.BoundedIntText(value=values["batch_size"] or 16, min=1, max=4096,
                                           description="batch size", style=style)
        self.learning_rate = w.FloatText(value=values["learning_rate"] or 1e-3, description="learning rate",
                                         style=style)
        self.pretrained = w.Combobox(value=values.get("pretrained") or "", options=pretrained_choices(),
                                     placeholder="none (from scratch), a model file or registry:NAME@VERSION",
                                     description="pretrained", ensure_option=False, **text)
        self.results_dir = w.Text(value=str(results_dir), description="results dir", **text)
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True,
                                    tooltip="stop after the current epoch (its checkpoint is kept)")
        self.progress = w.IntProgress(value=0, min=0, max=max(1, self.epochs.value), description="epochs",
                                      style=style)
        self.status = w.HTML()
        self.spec_view = w.Textarea(layout=w.Layout(width="100%", height="240px"), disabled=True)
        spec_box = w.Accordion(children=[self.spec_view], titles=("spec (built from the form)",))
        spec_box.selected_index = None
        self.chart = LiveChart(title="training")
        self.chart_image = self.chart.widget()
        self.arch.observe(self._on_arch, names="value")
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        data = [self.tfrecords_path] if self.task == "detection" else [self.train_path, self.val_path]
        form = w.VBox([*data, self.pretrained, w.HBox([self.arch, self.n_layers]), w.HBox([self.width, self.height]),
                       w.HBox([self.epochs, self.batch_size]), self.learning_rate, self.results_dir])
        super().__init__([w.HTML(f"<b>Train</b> ({self.task})"), form,
                          w.HBox([self.run_button, self.stop_button, self.progress]), self.status,
                          self.chart_image, spec_box])

    def _on_arch(self, change) -> None:
        depths = DEPTHS[change["new"]]
        self.n_layers.options = depths or [None]
        self.n_layers.value = 18 if 18 in depths else (depths[0] if depths else None)

    def fields(self) -> dict[str, Any]:
        values = {"arch": self.arch.value, "n_layers": self.n_layers.value, "width": self.width.value,
                  "height": self.height.value, "epochs": self.epochs.value, "batch_size": self.batch_size.value,
                  "learning_rate": self.learning_rate.value, "pretrained": self.pretrained.value.strip()}
        if self.task == "detection":
            values["tfrecords_path"] = self.tfrecords_path.value.strip()
        else:
            values.update(train_path=self.train_path.value.strip(), val_path=self.val_path.value.strip())
        return values

    def spec_text(self) -> str:
        """The spec the form describes (the template with the form's fields)."""
        return build_spec(self.template, **self.fields())

    def run(self) -> TrainJob | None:
        """Start training in the background (resuming if the results dir has checkpoints)."""
        from ..errors import TltError

        if self.job is not None and self.job.running:
            return self.job
        try:
            text = self.spec_text()
        except TltError as exc:
            self.status.value = error_html(exc)
            return None
        self.spec_view.value = text
        self.progress.max = self.epochs.value
        self.progress.value = 0
        self.progress.description = f"0/{self.epochs.value}"
        self.chart.reset(title=self.results_dir.value)  # a new run draws a new chart
        self._started, self._first_epoch = time.monotonic(), None
        self.status.value = f"training in <code>{html.escape(self.results_dir.value)}</code> ..."
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.job = TrainJob(text, self.results_dir.value, task=self.task, key=self.key, chart=self.chart,
                            on_epoch=self._on_epoch, on_done=self._on_done)
        return self.job.start()

    def stop(self) -> None:
        """Stop after the current epoch."""
        if self.job is not None and self.job.running:
            self.job.stop()
            self.stop_button.disabled = True
            self.status.value = "stopping after this epoch ..."

    def wait(self, timeout: float | None = None):
        """Block until the current run ends; its TrainResult (None if stopped or failed)."""
        return self.job.join(timeout) if self.job is not None else None

    @property
    def result(self):
        return self.job.result if self.job is not None else None

    def _on_epoch(self, record: dict) -> None:
        from ..training.callbacks import epoch_postfix

        epoch, total = int(record["epoch"]), self.progress.max
        self.progress.value = min(epoch, total)
        self.progress.description = f"{epoch}/{total}"
        if self._first_epoch is None:  # a resumed run starts counting at its checkpoint
            self._first_epoch = epoch - 1
        per_epoch = (time.monotonic() - self._started) / max(1, epoch - self._first_epoch)
        timing = f"{per_epoch:.0f} s per epoch, about {_duration(per_epoch * (total - epoch))} left"
        shown = ", ".join(f"{k} {v}" for k, v in epoch_postfix(record).items())
        self.status.value = f"epoch {epoch}/{total} ({timing}): {html.escape(shown)}"

    def _on_done(self, job: TrainJob) -> None:
        self.run_button.disabled, self.stop_button.disabled = False, True
        self.status.value = describe_outcome(job)

