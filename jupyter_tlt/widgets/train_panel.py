"""`TrainPanel`: a form over an experiment spec's main fields, Run and Stop buttons, a live chart.

    from jupyter_tlt.widgets import TrainPanel
    panel = TrainPanel(task="detection", results_dir="runs/detect")   # or TrainPanel(spec=my_spec_text)
    panel                                   # fill in the dataset path, press Run (Stop: after this epoch)
    panel.wait()                            # the TrainResult, once training ends

The form edits a spec text (the user's, or the task's template) through ``spec.form``:
`panel.spec_text()` is what gets trained, and it is exactly what `%%tlt train` would take in its cell
body. Training runs as a ``training.job.TrainJob`` in a background thread, so the kernel keeps
handling button clicks while it runs; Stop ends it after the current epoch and Run resumes from that
checkpoint. The thread only updates widgets (chart image, progress, status), never prints.
"""

from __future__ import annotations

import html
import os
import time
import traceback
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..models.backbones import DEPTHS
from ..notebook.live_chart import LiveChart
from ..spec.defaults import DEFAULT_LAYERS
from ..spec.form import build_spec, data_fields, read_fields
from ..tasks import DEFAULT_TASK, infer_task, task_class
from ..training.job import TrainJob

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

    def __init__(self, spec: str | None = None, *, task: str = DEFAULT_TASK, results_dir: str = "runs/train",
                 key: str | None = None):
        from ..spec import load_experiment_spec

        template = spec or task_class(task).spec_template
        self.template = template
        self.key = key
        self.job: TrainJob | None = None
        values = read_fields(template)
        self.task = infer_task(load_experiment_spec(template))
        style = {"description_width": "110px"}
        text = dict(style=style, layout=w.Layout(width="520px"))
        # the data paths of the spec's layout (TFRecords, or train and val folders), as self.<field>
        self.data_fields = [field for field, _ in data_fields(template)]
        for field, label in data_fields(template):
            setattr(self, field, w.Text(value=values.get(field, ""), description=label, **text))
        self.arch = w.Dropdown(options=list(DEPTHS), value=values["arch"], description="arch", style=style)
        self.n_layers = w.Dropdown(options=list(DEPTHS[values["arch"]] or [None]), value=values["n_layers"],
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
        data = [getattr(self, field) for field in self.data_fields]
        form = w.VBox([*data, self.pretrained, w.HBox([self.arch, self.n_layers]), w.HBox([self.width, self.height]),
                       w.HBox([self.epochs, self.batch_size]), self.learning_rate, self.results_dir])
        super().__init__([w.HTML(f"<b>Train</b> ({self.task})"), form,
                          w.HBox([self.run_button, self.stop_button, self.progress]), self.status,
                          self.chart_image, spec_box])

    def _on_arch(self, change) -> None:
        depths = list(DEPTHS[change["new"]] or [])
        self.n_layers.options = depths or [None]
        self.n_layers.value = DEFAULT_LAYERS.get(change["new"]) if depths else None

    def fields(self) -> dict[str, Any]:
        values = {"arch": self.arch.value, "n_layers": self.n_layers.value, "width": self.width.value,
                  "height": self.height.value, "epochs": self.epochs.value, "batch_size": self.batch_size.value,
                  "learning_rate": self.learning_rate.value, "pretrained": self.pretrained.value.strip()}
        values.update({field: getattr(self, field).value.strip() for field in self.data_fields})
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
