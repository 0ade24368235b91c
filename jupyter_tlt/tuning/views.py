"""Notebook views of a search: trials table, best so far, objective over trials, parallel coordinates,
and the Pareto front of a compression search.

    result = tune(...)               # or load_result("runs/tune") while another process searches
    result                           # in a notebook: all of the below
    objective_figure(result.trials)  # matplotlib Figures, drawn without pyplot
    parallel_figure(result.trials, params)

``SearchView("runs/tune").refresh()`` re-reads the search's database, for a live view of a search
running in another process (a terminal, or ``%tlt tune`` in another kernel).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from .layout import TUNE_DB, TUNE_SUMMARY

STATE_COLOURS = {"COMPLETE": "tab:blue", "PRUNED": "tab:orange", "FAIL": "tab:red", "RUNNING": "tab:gray"}


def objective_figure(trials: list[dict], objective: str = "objective"):
    """Each trial's objective (pruned trials at their last reported value) and the best so far."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    done = [t for t in trials if t.get("value") is not None]
    for state, colour in STATE_COLOURS.items():
        points = [t for t in done if t["state"] == state]
        if points:
            ax.scatter([t["trial"] for t in points], [t["value"] for t in points], c=colour, label=state.lower(),
                       s=24)
    complete = sorted((t["trial"], t["value"]) for t in done if t["state"] == "COMPLETE")
    if complete:
        xs, ys = zip(*complete)
        ax.step(xs, np.maximum.accumulate(ys), where="post", color="tab:green", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def parallel_figure(trials: list[dict], params: list[str], objective: str = "objective"):
    """Parallel coordinates: one line per finished trial across the parameters (each scaled to its
    range, log ranges in log), coloured by the objective."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    rows = [t for t in trials if t.get("value") is not None]
    fig = Figure(figsize=(1.6 * (len(params) + 1) + 1, 3.2))
    ax = fig.subplots()
    if not rows or not params:
        ax.text(0.5, 0.5, "no finished trial yet", ha="center", va="center")
        return fig
    columns = []
    for name in params + ["value"]:
        values = [t.get(name) for t in rows]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            x = np.asarray(values, float)
            if name != "value" and (x > 0).all() and x.max() / max(x.min(), 1e-300) > 50:
                x = np.log10(x)
        else:
            labels = sorted({str(v) for v in values})
            x = np.asarray([labels.index(str(v)) for v in values], float)
        span = x.max() - x.min()
        columns.append((x - x.min()) / span if span else np.full_like(x, 0.5))
    values = np.asarray([t["value"] for t in rows], float)
    scale = (values - values.min()) / (np.ptp(values) or 1)
    cmap = colormaps["viridis"]
    for i in range(len(rows)):
        ax.plot(range(len(columns)), [c[i] for c in columns], color=cmap(scale[i]), alpha=0.8)
    ax.set_xticks(range(len(columns)), [p.rsplit(".", 1)[-1] for p in params] + [objective], rotation=20,
                  fontsize="small")
    ax.set_yticks([])
    return fig


def pareto_figure(rows: list[dict], objective: str = "objective"):
    """Objective against FLOPs kept for a compression search; the Pareto front joined, the original
    marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    ax.scatter([r["flops_kept"] for r in rows], [r["value"] for r in rows], c="tab:gray", s=24, label="candidate")
    front = sorted((r for r in rows if r.get("pareto")), key=lambda r: r["flops_kept"])
    if front:
        ax.plot([r["flops_kept"] for r in front], [r["value"] for r in front], "o-", color="tab:blue",
                label="Pareto front")
    for r in rows:
        ax.annotate(str(r["candidate"]), (r["flops_kept"], r["value"]), fontsize="x-small",
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("FLOPs kept (fraction of the original)")
    ax.set_ylabel(objective)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _png(fig) -> str:
    from ..drawing.chart_style import figure_png

    return base64.b64encode(figure_png(fig)).decode()


def search_html(result) -> str:
    """The trials table, best so far, objective plot and parallel coordinates of a TuneResult."""
    frame = result.to_frame()
    params = [c for c in frame.columns if c not in ("state", "value", "epochs", "experiment")]
    best = (f"<p>best: trial {result.best['trial']}, {html.escape(result.objective)} "
            f"<b>{result.best['value']:.4f}</b>; spec <code>{html.escape(str(result.best_spec))}</code></p>"
            if result.best else "<p>no trial finished yet</p>")
    images = "".join(f'<img src="data:image/png;base64,{_png(fig)}"/>' for fig in (
        objective_figure(result.trials, result.objective), parallel_figure(result.trials, params, result.objective)))
    counts = ", ".join(f"{n} {s.lower()}" for s, n in result.counts().items())
    return (f"<p>search <code>{html.escape(str(result.results_dir))}</code>: {counts}</p>{best}"
            f"{frame.drop(columns=['experiment'], errors='ignore').to_html()}<div>{images}</div>")


def load_result(results_dir):
    """The TuneResult of a search folder from its tune.json (written after each run)."""
    from .search import TuneResult

    root = Path(results_dir)
    data = json.loads((root / TUNE_SUMMARY).read_text())
    return TuneResult(root, data["objective"], data["trials"], data["best"],
                      Path(data["best_spec"]) if data["best_spec"] else None, data["storage"], data["backend"])


class SearchView:
    """A widget showing a search folder, refreshed from its database (``refresh()``, or every
    ``every`` seconds with ``watch()`` while a search runs in another process)."""

    def __init__(self, results_dir):
        import ipywidgets as w

        self.root = Path(results_dir)
        self.widget = w.HTML()
        self.refresh()

    def current(self):
        """The search as its database holds it now, running trials included (their last epoch's value)."""
        import optuna

        from .search import STUDY, TuneResult, default_storage

        if not (self.root / TUNE_DB).is_file():
            raise FileNotFoundError("no tune.db")
        study = optuna.load_study(study_name=STUDY, storage=default_storage(self.root))
        trials, best = [], None
        for t in study.get_trials(deepcopy=False):
            row = {"trial": t.number, "state": t.state.name,
                   "value": t.value if t.value is not None else _last(t.intermediate_values),
                   "epochs": len(t.intermediate_values) or None, **dict(t.params),
                   "experiment": t.user_attrs.get("experiment", "")}
            trials.append(row)
            if t.state.name == "COMPLETE" and (best is None or t.value > best["value"]):
                best = {"trial": t.number, "value": t.value, "params": dict(t.params)}
        spec = self.root / "best_spec.txt"
        return TuneResult(self.root, "objective", trials, best, spec if spec.is_file() else None)

    def refresh(self) -> str:
        try:
            self.widget.value = search_html(self.current())
        except (OSError, KeyError, ValueError) as exc:
            self.widget.value = f"<p>no search in <code>{html.escape(str(self.root))}</code> yet ({exc})</p>"
        return self.widget.value

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _last(values: dict):
    return values[max(values)] if values else None
