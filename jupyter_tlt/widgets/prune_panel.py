"""`PrunePanel`: pick a pruning threshold by its predicted effect, prune, then retrain.

    from jupyter_tlt.widgets import PrunePanel
    panel = PrunePanel("runs/detect/weights/model.keras")   # loads the model once, scores filters once
    panel                       # move the slider: parameters, FLOPs and size update at once; Prune; Retrain
    panel.set_target("params", 0.5)   # or the target row: the slider moves to the threshold keeping half

The slider's label comes from a `Pruner` built once (filter norms computed once): each move costs a
sum over layers, not a model, so it keeps up with the slider. Prune calls `jupyter_tlt.prune.prune`
(the pruned model and its report go to `<results>/prune/`); Retrain trains, in the background like
`TrainPanel`, with the model's spec (or the one given) whose pretrained model is the pruned model.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Iterable

import ipywidgets as w

from ..experiments import Experiment
from ..notebook.display import figure_png, show_prune, sweep_figure
from ..notebook.live_chart import LiveChart
from ..pruning.options import DEFAULTS, SWEEP_THRESHOLDS
from ..spec.form import with_pretrained
from ..training.job import TrainJob
from .train_panel import describe_outcome, error_html


class PrunePanel(w.VBox):
    """Threshold slider with instant predicted cost, Prune button, Retrain button."""

    def __init__(self, model_path: str | Path, output: str | Path | None = None, *, spec: str | None = None,
                 retrain_dir: str | Path | None = None, key: str | None = None,
                 threshold: float = DEFAULTS.threshold, min_num_filters: int = DEFAULTS.min_num_filters,
                 pruning_granularity: int = DEFAULTS.pruning_granularity, normalizer: str = DEFAULTS.normalizer,
                 equalization_criterion: str = DEFAULTS.equalization_criterion, excluded_layers: Iterable[str] = ()):
        from ..models import load_model
        from ..pruning import Pruner

        self.model_path = Path(model_path)
        experiment = Experiment.of_model(self.model_path)
        self.output = Path(output) if output else experiment.pruned_model_path(self.model_path)
        self.retrain_dir = Path(retrain_dir) if retrain_dir else experiment.retrain_dir
        self.spec, self.key = spec, key
        self.options = {"min_num_filters": min_num_filters, "pruning_granularity": pruning_granularity,
                        "normalizer": normalizer, "equalization_criterion": equalization_criterion,
                        "excluded_layers": [n for n in excluded_layers if n]}
        self.pruner = Pruner(load_model(self.model_path, key), normalizer=normalizer,
                             criterion=equalization_criterion, excluded=self.options["excluded_layers"])
        self.base = self.pruner.cost({})
        self.report = None
        self.job: TrainJob | None = None

        self.slider = w.FloatSlider(value=threshold, min=0.0, max=1.0 if normalizer == "max" else 5.0,
                                    step=0.01, description="threshold", readout_format=".2f",
                                    continuous_update=True, layout=w.Layout(width="520px"))
        self.label = w.HTML(self.describe(threshold))
        self.slider.observe(self._on_threshold, names="value")
        self.prune_button = w.Button(description="Prune", button_style="warning", icon="cut")
        self.retrain_button = w.Button(description="Retrain", button_style="success", icon="play",
                                       disabled=True, tooltip="train the pruned model (press Prune first)")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.prune_button.on_click(lambda _: self.prune())
        self.retrain_button.on_click(lambda _: self.retrain())
        self.stop_button.on_click(lambda _: self.job and self.job.stop())
        self.out = w.Output()
        self.status = w.HTML()
        self.chart = LiveChart(title="retraining")
        self.sweep = self.pruner.sweep(list(SWEEP_THRESHOLDS), min_num_filters,
                                       pruning_granularity)
        self.curve = w.Image(value=self.curve_png(threshold), format="png", layout=w.Layout(max_width="640px"))
        self.choice = None  # the TargetChoice the slider was last set to
        self.target_kind = w.Dropdown(options=[("parameters kept", "params"), ("FLOPs kept", "flops"),
                                               ("speed-up (ORT CPU)", "speedup")], description="target",
                                      layout=w.Layout(width="260px"))
        self.target_value = w.FloatText(value=0.5, layout=w.Layout(width="90px"))
        self.target_button = w.Button(description="Set threshold", icon="bullseye",
                                      tooltip="move the slider to the smallest threshold reaching the target")
        self.target_button.on_click(lambda _: self.set_target(self.target_kind.value, self.target_value.value))
        self.target_label = w.HTML()
        super().__init__([w.HTML(f"<b>Prune</b> <code>{html.escape(str(self.model_path))}</code>"),
                          self.slider, w.HBox([self.target_kind, self.target_value, self.target_button]),
                          self.target_label, self.label, self.curve,
                          w.HBox([self.prune_button, self.retrain_button, self.stop_button]),
                          self.out, self.status, self.chart.widget()])

    def describe(self, threshold: float) -> str:
        """Predicted size of the model pruned at `threshold` (no model is built)."""
        counts = self.pruner.counts(threshold, self.options["min_num_filters"], self.options["pruning_granularity"])
        params, flops = self.pruner.cost(counts)
        base_params, base_flops = self.base
        flops_part = f"{flops / 1e9:.3f} GFLOPs ({100 * flops / base_flops:.1f} %)" if base_flops else ""
        return (f"threshold {threshold:.2f}: <b>{params / 1e6:.3f} M parameters</b> "
                f"({100 * params / base_params:.1f} % of {base_params / 1e6:.3f} M), {flops_part}, "
                f"{params * 4 / 2**20:.2f} MB of float32 weights")

    def curve_png(self, threshold: float) -> bytes:
        """The sweep curve with `threshold` marked (the one chart of the panel, redrawn in place)."""
        return figure_png(sweep_figure(self.sweep, threshold, title=self.model_path.name))

    def set_target(self, kind: str, value: float):
        """Move the slider to the threshold reaching a target ("params" / "flops": fraction kept,
        "speedup": measured in ONNX Runtime); returns the TargetChoice (None on bad input, shown)."""
        from ..errors import TltError
        from ..pruning.target import choose_threshold

        try:
            choice = choose_threshold(self.pruner, kind, value, self.options["min_num_filters"],
                                      self.options["pruning_granularity"])
        except TltError as exc:
            self.target_label.value = error_html(exc)
            return None
        self.slider.value = choice.threshold
        self.choice = choice
        self.target_label.value = html.escape(choice.describe())
        return choice

    def _on_threshold(self, change) -> None:
        self.label.value = self.describe(change["new"])
        self.curve.value = self.curve_png(change["new"])

    def prune(self):
        """Prune at the slider's threshold; shows and returns the PruneReport."""
        from ..errors import TltError
        from ..prune import prune

        self.out.clear_output()
        with self.out:
            try:
                # the panel names its output, and pressing Prune again at another threshold is how it is used
                self.report = prune(self.model_path, self.output, threshold=self.slider.value, key=self.key,
                                    overwrite=True, **self.options, **self._target())
            except TltError as exc:
                print(f"error: {exc}")
                return None
            show_prune(self.report, curve=False)  # the panel's own curve already marks the threshold
        self.retrain_button.disabled = False
        return self.report

    def _target(self) -> dict:
        """The target the slider was set to, while it still sits on the chosen threshold."""
        choice = self.choice
        if choice is None or self.slider.value != choice.threshold or choice.kind == "speedup":
            return {}
        return {f"target_{choice.kind}": choice.target}

    def retrain_spec(self) -> str:
        """The retraining spec: the given spec (or the one stored in the model) on the pruned model."""
        from ..errors import SpecError
        from ..model_info import read_info

        spec = self.spec or read_info(self.model_path, self.key).get("spec")
        if not spec:
            raise SpecError(f"{self.model_path} carries no spec; pass PrunePanel(..., spec=...) to retrain")
        return with_pretrained(spec, str(self.output))

    def retrain(self) -> TrainJob | None:
        """Train the pruned model in the background (Stop: after the current epoch)."""
        from ..errors import TltError

        if self.report is None or (self.job is not None and self.job.running):
            return self.job
        try:
            text = self.retrain_spec()
        except TltError as exc:
            self.status.value = error_html(exc)
            return None
        self.status.value = f"retraining in <code>{html.escape(str(self.retrain_dir))}</code> ..."
        self.retrain_button.disabled, self.stop_button.disabled = True, False
        self.job = TrainJob(text, str(self.retrain_dir), key=self.key, chart=self.chart, on_done=self._on_done)
        return self.job.start()

    def wait(self, timeout: float | None = None):
        """Block until retraining ends; its TrainResult (None if stopped or failed)."""
        return self.job.join(timeout) if self.job is not None else None

    def _on_done(self, job: TrainJob) -> None:
        self.retrain_button.disabled, self.stop_button.disabled = False, True
        self.status.value = describe_outcome(job)
