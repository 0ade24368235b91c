"""`EvaluatePanel`: pick a model found under a folder, evaluate it, see the mAP table and PR curves.

    from jupyter_tlt.widgets import EvaluatePanel
    panel = EvaluatePanel("runs")           # every .keras / .onnx under runs/, newest first
    panel                                   # choose one, press Evaluate

Evaluate calls `jupyter_tlt.evaluate.evaluate` (the same call as `%tlt evaluate`): metrics.json and
the PR-curve PNG land in the model's `<results>/evaluate/`, and the result is drawn by
`jupyter_tlt.notebook.show`. `panel.result` holds the last EvaluateResult. With "error analysis"
ticked (detection) it is `%tlt evaluate --analysis`, and the `ErrorBrowser` follows the table.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w

from ..notebook.display import show
from ..tasks import DEFAULT_TASK, TASKS, task_class

MODEL_SUFFIXES = (".keras", ".onnx", ".hdf5", ".h5")


def find_models(folder: str | Path) -> list[Path]:
    """Model files under `folder`, newest first; checkpoints (model_epoch_NNN) after final models."""
    folder = Path(folder)
    found = [p for p in folder.rglob("*") if p.suffix.lower() in MODEL_SUFFIXES and p.is_file()
             and not p.name.startswith(".")]
    return sorted(found, key=lambda p: (p.name.startswith("model_epoch_"), -p.stat().st_mtime, str(p)))


class EvaluatePanel(w.VBox):
    """Model picker, task, Evaluate button; the mAP table and PR curves below."""

    def __init__(self, folder: str | Path = ".", *, task: str | None = None, spec: str | None = None,
                 dataset_dir: str | None = None, key: str | None = None):
        self.folder = Path(folder)
        self.spec, self.key = spec, key
        self.result = None
        style = {"description_width": "80px"}
        self.model = w.Dropdown(description="model", style=style, layout=w.Layout(width="640px"))
        self.task = w.Dropdown(options=list(TASKS), value=task or DEFAULT_TASK,
                               description="task", style=style)
        self._task_given = task is not None
        self.dataset_dir = w.Text(value=dataset_dir or "", description="dataset", style=style,
                                  placeholder="classification: folder of class folders (default: the spec's)",
                                  layout=w.Layout(width="640px"))
        self.analysis = w.Checkbox(value=False, description="error analysis (detection)", indent=False)
        self.refresh_button = w.Button(description="Refresh", icon="refresh", tooltip="look for models again")
        self.evaluate_button = w.Button(description="Evaluate", button_style="primary", icon="check")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.evaluate_button.on_click(lambda _: self.evaluate())
        self.model.observe(self._on_model, names="value")
        self.out = w.Output()
        super().__init__([w.HTML(f"<b>Evaluate</b> a model under <code>{html.escape(str(self.folder))}</code>"),
                          w.HBox([self.model, self.refresh_button]), self.task, self.dataset_dir,
                          w.HBox([self.evaluate_button, self.analysis]), self.out])
        self.refresh()

    def refresh(self) -> None:
        """Rescan the folder for models."""
        models = [str(p) for p in find_models(self.folder)]
        previous = self.model.value
        self.model.options = [(_label(Path(p), self.folder), p) for p in models]
        self.model.value = previous if previous in models else (models[0] if models else None)
        self.evaluate_button.disabled = not models

    def _on_model(self, change) -> None:
        """Take the task from the model file, when it says (a .keras saved by jupyter-tlt does)."""
        if self._task_given or not change["new"]:
            return
        from ..errors import TltError
        from ..model_info import read_info

        try:
            task = read_info(change["new"], self.key).get("task") if change["new"].endswith(".keras") else None
        except TltError:
            task = None
        if task in self.task.options:
            self.task.value = task

    def evaluate(self):
        """Evaluate the chosen model; shows and returns the EvaluateResult."""
        from ..errors import TltError
        from ..evaluate import evaluate

        if not self.model.value:
            return None
        self.out.clear_output()
        with self.out:
            try:
                self.result = evaluate(self.task.value, self.model.value, spec=self.spec,
                                       dataset_dir=self.dataset_dir.value.strip() or None, key=self.key,
                                       analysis=self.analysis.value and task_class(self.task.value).supports_analysis)
            except TltError as exc:
                print(f"error: {exc}")
                return None
            show(self.result, rich=True)
            if self.result.analysis is not None:
                from IPython.display import display

                from .error_browser import ErrorBrowser

                display(ErrorBrowser(self.result.analysis))
        return self.result


def _label(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
