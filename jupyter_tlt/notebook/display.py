"""Rich notebook views of the steps' results, one function per result type, behind `show(result)`.

    from jupyter_tlt.notebook import show
    show(evaluate("detection", "runs/detect/weights/model.keras"))   # mAP table and PR curves

`%load_ext jupyter_tlt` registers `show` with IPython's display formatter for these types, so any
result that is a cell's value (e.g. `%tlt evaluate ...` or `r` on a later line) is drawn this way:
    EvaluateResult  the mAP table (class x easy / moderate / hard) and the PR curves, or the
                    classification table and the confusion matrix; with --analysis the error
                    analysis (embedded pictures; `widgets.ErrorBrowser` adds a confidence slider)
    PruneReport     the before/after table, parameters and FLOPs against the threshold, per-layer table
    ExportResult    the files written and the check against Keras
    InferResult     counts per class and a gallery of the first images with their boxes drawn
    TrainResult     the summary and the per-epoch table (the live chart was drawn while training)
    PretrainResult  the same, and the registry version it was pushed as
Other results show their own `_repr_html_`. Outside a kernel (terminal IPython) `show` prints the
same text the CLI prints. Result classes are matched by name, so importing this module imports none
of the steps (nor TensorFlow).
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any, Callable

from ..drawing.chart_style import chart_style, figure_png, legend_outside

GALLERY_IMAGES = 12
THUMBNAIL_WIDTH = 320


def is_rich() -> bool:
    """True inside a Jupyter kernel (rich output); False in terminal IPython or plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(result: Any, rich: bool | None = None) -> None:
    """Display `result` with its rich view (in a kernel) or as text (elsewhere)."""
    if result is None:
        return
    if not (is_rich() if rich is None else rich):
        print(result)
        return
    view = VIEWS.get(_type_name(result))
    if view is not None:
        view(result)
    elif hasattr(result, "_repr_html_"):
        _display_html(result._repr_html_(), str(result))
    else:
        from IPython.display import display

        display(result)


def register(shell) -> None:
    """Make `shell` draw every result type of `VIEWS` with `show` whenever one is displayed, and
    give every step result the CLI's text as its plain-text form (instead of a dataclass repr)."""
    formatters = shell.display_formatter
    for name in (*VIEWS, *TEXT_ONLY):
        module, _, cls = name.rpartition(".")
        formatters.formatters["text/plain"].for_type_by_name(module, cls, _pretty_str)
        if name in VIEWS:
            formatters.ipython_display_formatter.for_type_by_name(module, cls, show)


# -- views ---------------------------------------------------------------------------------------

def show_evaluate(result) -> None:
    from matplotlib.figure import Figure

    metrics = result.metrics
    with chart_style():
        fig = Figure(figsize=(7.5, 4.5), layout="constrained")
        ax = fig.subplots()
        if hasattr(metrics, "plot_pr"):  # a detector's metrics: the mAP table and PR curves
            table = map_table(metrics)
            metrics.plot_pr(ax=ax)
            legend_outside(ax)
            ax.set_title(f"{ax.get_title()}, evaluate", fontsize="medium")
        else:
            table = metrics._repr_html_()
            metrics.plot_confusion(ax=ax)
    footer = (f"<p>{result.num_images} images, {result.seconds:.1f} s; metrics written to "
              f"<code>{html.escape(str(Path(result.output_dir) / 'metrics.json'))}</code></p>")
    _display_html(f"<p><b>Evaluation</b> of <code>{html.escape(str(result.model_path))}</code></p>"
                  + table + footer, str(result))
    _display_png(figure_png(fig))
    if getattr(result, "analysis", None) is not None:  # --analysis: static HTML, survives without a kernel
        _display_html(result.analysis._repr_html_(), str(result.analysis))


def map_table(metrics) -> str:
    """The AP table in the seed's layout (class x easy / moderate / hard, %, mAP last) as HTML.

    A pandas Styler (heat-map background) when jinja2 is installed (it comes with JupyterLab);
    otherwise the same table drawn by the metrics' own HTML.
    """
    import importlib.util

    if importlib.util.find_spec("jinja2") is None:  # pandas' Styler renders with jinja2
        return metrics._repr_html_()
    frame = metrics.to_frame()
    styler = (frame.style.format("{:.2f}", na_rep="n/a")
              .background_gradient(cmap="Greens", vmin=0.0, vmax=100.0, axis=None)
              .set_caption(f"Average precision (%), {metrics.mode}, {metrics.num_images} images")
              .set_table_styles([{"selector": "tbody tr:last-child", "props": "font-weight: bold"}]))
    from .notes import note_html, shown_in_this_cell

    notes = "".join(note_html(text) for text in metrics.warnings if not shown_in_this_cell(text))
    return styler.to_html() + notes


def show_prune(report, sweep=None, curve: bool = True) -> None:
    """The report and its threshold curve (the sweep it carries, or `sweep`: a `Pruner.sweep` frame);
    `curve=False` leaves the curve out (a PrunePanel already shows it)."""
    _display_html(report._repr_html_(), str(report))
    png = _sweep_png(report, sweep) if curve else None
    if png:
        _display_png(png)
    _display_html("<details><summary>per-layer table</summary>" + report.to_frame().to_html() + "</details>",
                  report.to_frame().to_string())


def sweep_figure(frame, threshold: float | None = None, title: str = ""):
    """Parameters and GFLOPs kept against the pruning threshold (a `Pruner.sweep` frame) as a Figure."""
    import numpy as np
    from matplotlib.figure import Figure

    with chart_style():
        fig = Figure(figsize=(7.5, 3.6), layout="constrained")
        ax = fig.subplots()
        for column, label in (("params_kept", "parameters"), ("flops_kept", "FLOPs")):
            line, = ax.plot(frame["threshold"], 100 * frame[column], marker="o", markersize=3, label=label)
            if threshold is not None:  # the chosen threshold's value on each curve, read off the sweep
                kept = 100 * float(np.interp(threshold, frame["threshold"], frame[column]))
                ax.annotate(f"{kept:.0f}%", (threshold, kept), textcoords="offset points", xytext=(6, 4),
                            color=line.get_color(), fontsize="small")
        if threshold is not None:
            ax.axvline(threshold, color="tab:red", linestyle="--", linewidth=1.2, label=f"threshold {threshold:.2f}")
        ax.set_xlabel("pruning threshold")
        ax.set_ylabel("kept (% of the unpruned model)")
        ax.set_ylim(0, 105)
        ax.grid(True, alpha=0.3)
        legend_outside(ax)
        ax.set_title(title or "What the threshold keeps", fontsize="medium")
    return fig


def _sweep_png(report, sweep=None) -> bytes | None:
    """The report's threshold curve, from the sweep it carries (or `sweep`); None without one."""
    sweep = sweep if sweep is not None else getattr(report, "sweep", None)
    if sweep is None:
        return None
    return figure_png(sweep_figure(sweep, report.options.get("threshold"), Path(report.model_path).name))


def show_export(result) -> None:
    rows = "".join(f"<tr><td>{html.escape(what)}</td><td><code>{html.escape(str(p))}</code></td>"
                   f"<td style='text-align:right'>{_file_size(p)}</td></tr>" for what, p in result.files.items())
    checks = ""
    for name, diff in result.check.items():
        limit = result.tolerance.get(name)
        verdict = ("measure with evaluate -f onnx" if limit is None else
                   "<b style='color:#2a7a2a'>ok</b>" if diff <= limit else "<b style='color:#b00'>FAILED</b>")
        checks += (f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{diff:.2e}</td>"
                   f"<td style='text-align:right'>{'' if limit is None else f'{limit:.1e}'}</td>"
                   f"<td>{verdict}</td></tr>")
    out = (f"<p><b>Exported</b> <code>{html.escape(result.model_path)}</code> ({result.data_type}) in "
           f"{result.seconds:.1f} s: inputs {html.escape(', '.join(result.input_names))}; outputs "
           f"{html.escape(', '.join(result.output_names))}</p>"
           f"<table><thead><tr><th>file</th><th>path</th><th>size</th></tr></thead><tbody>{rows}</tbody></table>"
           f"<table><thead><tr><th>output</th><th>max abs diff vs Keras</th><th>tolerance</th><th></th>"
           f"</tr></thead><tbody>{checks}</tbody></table>")
    if result.engine_error:
        out += f"<p style='color:#b35900'>engine not built: {html.escape(result.engine_error)}</p>"
    _display_html(out, str(result))


def show_infer(result, limit: int = GALLERY_IMAGES) -> None:
    _display_html(result._repr_html_(), str(result))
    images = [Path(p) for p in result.files if Path(p).suffix.lower() in (".jpg", ".jpeg", ".png")]
    if images:
        shown = images[:limit]
        title = f"first {len(shown)} of {len(images)} images in {shown[0].parent}"
        _display_html(gallery_html(shown, title=title), f"{title}: {', '.join(p.name for p in shown)}")
    elif result.files and Path(result.files[0]).suffix == ".csv":
        import pandas as pd

        _display_html(pd.read_csv(result.files[0]).head(limit).to_html(index=False, float_format="{:.3f}".format))


def gallery_html(paths: list[Path], title: str = "", width: int = THUMBNAIL_WIDTH) -> str:
    """A wrapping grid of JPEG thumbnails (embedded, so the notebook keeps them) with file names."""
    from PIL import Image

    cells = []
    for path in paths:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if image.width > width:
                image = image.resize((width, max(1, round(image.height * width / image.width))))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        cells.append(f"<figure style='margin:4px'><img src='data:image/jpeg;base64,{data}' "
                     f"style='max-width:{width}px'/><figcaption style='font-size:small'>"
                     f"{html.escape(path.name)}</figcaption></figure>")
    head = f"<p>{html.escape(title)}</p>" if title else ""
    return head + "<div style='display:flex;flex-wrap:wrap'>" + "".join(cells) + "</div>"


def show_train(result) -> None:
    _display_html(result._repr_html_(), str(result))


def show_pretrain(result) -> None:
    show_train(result.train)
    _display_html(f"<p>{html.escape(str(result.push))}</p>", str(result.push))


VIEWS: dict[str, Callable[[Any], None]] = {
    "jupyter_tlt.evaluate.EvaluateResult": show_evaluate,
    "jupyter_tlt.prune.PruneReport": show_prune,
    "jupyter_tlt.export.step.ExportResult": show_export,
    "jupyter_tlt.infer.InferResult": show_infer,
    "jupyter_tlt.train.TrainResult": show_train,
    "jupyter_tlt.registry.pretrain.PretrainResult": show_pretrain,
}

TEXT_ONLY = ("jupyter_tlt.data.synthetic.dataset.GenerateResult", "jupyter_tlt.data.convert.ConvertResult",
             "jupyter_tlt.data.validate.ValidationReport", "jupyter_tlt.compare.Comparison",
             "jupyter_tlt.export.tensorfile.TensorfileResult", "jupyter_tlt.registry.core.PushResult",
             "jupyter_tlt.registry.results.ModelList", "jupyter_tlt.registry.results.VersionList")
"""Results whose own `_repr_html_` is their rich view; only their plain text is registered."""


# -- helpers -------------------------------------------------------------------------------------

def _pretty_str(obj: Any, printer, cycle: bool) -> None:
    printer.text(str(obj))


def _type_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _file_size(path: os.PathLike) -> str:
    from ..table_cells import DASH, file_size

    try:
        return file_size(Path(path).stat().st_size)
    except OSError:
        return DASH


def _display_html(text: str, plain: str = "") -> None:
    """HTML, with `plain` as the text/plain form (what consoles and text exports show)."""
    from IPython.display import display

    display({"text/html": text, "text/plain": plain or "(HTML output)"}, raw=True)


def _display_png(png: bytes) -> None:
    from IPython.display import Image, display

    display(Image(data=png, format="png"))
