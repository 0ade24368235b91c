"""The training chart: loss terms, learning rate and validation metrics per epoch, redrawn in place.

    chart = LiveChart()
    chart.display()                                   # one output area, updated on every epoch
    train(spec, "runs/detect", on_epoch=chart.update)

    with follow("runs/detect"):                       # the %tlt magic: chart what status.jsonl says
        commands.run(["train", "detection", "-e", "spec.cfg", "-r", "runs/detect"])

    LiveChart.from_results("runs/detect")             # a finished run's chart, as a cell's value

The figure is a matplotlib `Figure` drawn to PNG (no pyplot, so no global figure state and no
inline-backend side effects); it goes to a display handle (`display_id`) or an `ipywidgets.Image`.
"""

from __future__ import annotations

import math
import os
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator

SKIP = {"epoch", "time", "event", "lr"}
VALIDATION_LEVEL = "(%, level all)"
"""What the validation during training measures: AP over all ground truth of the validation fold."""


def history(events: Iterable[dict], since: float | None = None) -> list[dict]:
    """Per-epoch records of the latest run in a status.jsonl event stream, oldest first.

    A `start` event drops the epochs after its `initial_epoch` (a run restarted from scratch or
    resumed from an older checkpoint); with `since`, only a run started at or after that time counts.
    """
    records: dict[int, dict] = {}
    started = since is None
    for event in events:
        kind = event.get("event")
        if kind == "start" and (since is None or event.get("time", 0) >= since):
            started = True
            initial = int(event.get("initial_epoch") or 0)
            records = {k: v for k, v in records.items() if k <= initial}
        elif kind == "epoch_end" and "epoch" in event:
            records[int(event["epoch"])] = {k: v for k, v in event.items() if k not in ("time", "event")}
    return [records[k] for k in sorted(records)] if started else []


def _number(value) -> float:
    try:
        return float(value)  # status.jsonl stores NaN and inf as strings
    except (TypeError, ValueError):
        return math.nan


class LiveChart:
    """Loss / learning-rate / validation chart of a training run; `update` is an `on_epoch` hook."""

    def __init__(self, title: str = "training", size: tuple[float, float] = (11.0, 3.2)):
        self.title = title
        self.size = size
        self.records: dict[int, dict] = {}
        self._handle = None
        self._show = False
        self._images: list = []

    @classmethod
    def from_results(cls, results_dir: str | os.PathLike) -> "LiveChart":
        """The chart of the run recorded in `results_dir`/status.jsonl."""
        from ..experiments import Experiment

        chart = cls(title=os.fspath(results_dir))
        chart.set_records(history(Experiment(results_dir).events()))
        return chart

    # -- data ------------------------------------------------------------------------------------
    def update(self, record: dict) -> None:
        """Add (or replace) one epoch's record and redraw: pass this as `train(on_epoch=...)`."""
        self.records[int(record["epoch"])] = dict(record)
        self.redraw()

    def set_records(self, records: Iterable[dict]) -> None:
        """Replace the whole history (e.g. read back from status.jsonl) and redraw."""
        self.records = {int(r["epoch"]): dict(r) for r in records}
        self.redraw()

    # -- where it is shown -----------------------------------------------------------------------
    def display(self) -> None:
        """Show the chart in the current output; later redraws update that same output area.

        Nothing is shown until the first epoch arrives, so a run that fails early leaves no empty plot.
        """
        self._show = True
        self.redraw()

    def widget(self):
        """An `ipywidgets.Image` that every redraw updates (for panels; safe from a training thread)."""
        import ipywidgets

        image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%", display="none"))
        if self.records:
            image.value = self.png()
            image.layout.display = None
        self._images.append(image)
        return image

    def reset(self, title: str | None = None) -> None:
        """Forget the epochs drawn so far (a new run starts a fresh chart); hides the panel image."""
        self.records = {}
        if title is not None:
            self.title = title
        self._handle = None
        for image in self._images:
            image.layout.display = "none"

    def redraw(self) -> None:
        if not self.records or not (self._show or self._images):
            return
        png = self.png()
        for image in self._images:  # hidden until there is something to show: no broken-image icon
            image.value = png
            image.layout.display = None
        if self._show:
            from IPython.display import Image, display

            if self._handle is None:
                self._handle = display(Image(data=png, format="png"), display_id=True)
            else:
                self._handle.update(Image(data=png, format="png"))

    def _repr_png_(self) -> bytes | None:
        return self.png() if self.records else None

    # -- drawing ---------------------------------------------------------------------------------
    def png(self) -> bytes:
        """The chart as PNG bytes (transparent, for light and dark themes; metrics in percent)."""
        from matplotlib.figure import Figure

        from ..drawing.chart_style import chart_style, figure_png

        rows = [self.records[k] for k in sorted(self.records)]
        epochs = [r["epoch"] for r in rows]
        keys = [k for r in rows for k in r]
        keys = list(dict.fromkeys(keys))  # first-seen order, no duplicates
        losses = [k for k in keys if k.endswith("loss") and not k.startswith("val_")]
        metrics = [k for k in keys if k.startswith("val_")]
        headline = [k for k in metrics if not k.startswith("val_AP_")]  # per-class APs drawn thin

        with chart_style():
            fig = Figure(figsize=self.size, layout="constrained")
            ax_loss, ax_lr, ax_val = fig.subplots(1, 3)
            style = {"marker": "o", "markersize": 3}
            for k in losses:
                ax_loss.plot(epochs, [_number(r.get(k)) for r in rows], label=k, **style)
            ax_loss.set_title("loss")
            if any(r.get("lr") is not None for r in rows):
                ax_lr.plot(epochs, [_number(r.get("lr")) for r in rows], color="tab:purple", **style)
                if all(_number(r.get("lr")) > 0 for r in rows):
                    ax_lr.set_yscale("log")
            ax_lr.set_title("learning rate")
            for k in metrics:
                points = [(r["epoch"], 100 * _number(r[k])) for r in rows if k in r]
                thin = k not in headline
                line, = ax_val.plot(*zip(*points), label=k[4:], linewidth=0.8 if thin else 2.0,
                                    linestyle="--" if thin else "-", **style)
                if not thin:  # the latest value, written out: readable even with a single point
                    x, y = points[-1]
                    ax_val.annotate(f"{y:.1f}%", (x, y), textcoords="offset points", xytext=(4, 6),
                                    color=line.get_color(), fontsize="small", fontweight="bold")
            if metrics:  # from 0, with room for the annotation; never the -0.04..0.04 of one zero point
                peak = max((y for line in ax_val.get_lines() for y in line.get_ydata() if not math.isnan(y)),
                           default=0.0)
                ax_val.set_ylim(0, min(105.0, max(5.0, 1.25 * peak)))
                ax_val.set_ylabel("%")
            ax_val.set_title(f"validation {VALIDATION_LEVEL}, during training" if metrics
                             else "validation (not run yet)")
            for ax in (ax_loss, ax_lr, ax_val):
                ax.set_xlabel("epoch")
                ax.grid(True, alpha=0.3)
                ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
                if len(epochs) <= 12:
                    ax.set_xticks(epochs)
            for ax, names in ((ax_loss, losses), (ax_val, metrics)):
                if names:  # below the plot, so it never covers a curve
                    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize="x-small")
            last = rows[-1]
            fig.suptitle(f"{self.title}: epoch {last['epoch']}", fontsize="medium")
            return figure_png(fig, dpi=80)


@contextmanager
def follow(results_dir: str | os.PathLike, chart: LiveChart | None = None,
           interval: float = 0.5) -> Iterator[LiveChart]:
    """Chart, in place, the epochs a run started inside this block logs to `results_dir`/status.jsonl.

    A background thread polls the file (the same record the lab sidebar reads), so the step itself
    needs no hook; the chart appears with the first epoch and gets a last redraw when the block ends,
    normally or not. Steps that log no epochs (evaluate, export) show nothing.
    """
    from ..experiments import Experiment

    chart = chart or LiveChart(title=os.fspath(results_dir))
    exp = Experiment(results_dir)
    since = time.time() - 1.0  # a start event logged right after entering the block must count
    stop = threading.Event()
    lock = threading.Lock()
    seen: list = [None]

    def poll() -> None:
        try:
            stat = exp.events_path.stat()
        except OSError:
            return
        if (stat.st_size, stat.st_mtime) == seen[0]:
            return
        seen[0] = (stat.st_size, stat.st_mtime)
        records = history(exp.events(), since)
        if records and records != [chart.records[k] for k in sorted(chart.records)]:
            chart.set_records(records)

    def loop() -> None:
        while not stop.wait(interval):
            with lock:
                poll()

    chart.display()
    thread = threading.Thread(target=loop, name="tlt-live-chart", daemon=True)
    thread.start()
    try:
        yield chart
    finally:
        stop.set()
        thread.join()
        with lock:
            seen[0] = None
            poll()
