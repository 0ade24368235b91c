"""One look for every chart jupyter-tlt draws, readable in JupyterLab's light and dark themes.

A PNG cannot follow a theme switch, so the charts are drawn for both: transparent backgrounds, text,
ticks and frames in a mid grey that reads on white and on near-black, and line colours (matplotlib's
tab10) that keep their contrast on either. Build and save a figure inside `chart_style()`:

    with chart_style():
        fig = Figure(...); ...; png = figure_png(fig)
"""

from __future__ import annotations

import contextlib
import io
from typing import Iterator

INK = "#8a8a8a"  # mid grey: about the same contrast on a white and a #111 background

RC = {
    "figure.facecolor": "none", "axes.facecolor": "none", "savefig.facecolor": "none",
    "savefig.transparent": True, "text.color": INK, "axes.labelcolor": INK, "axes.edgecolor": INK,
    "axes.titlecolor": INK, "xtick.color": INK, "ytick.color": INK, "grid.color": INK,
    "legend.frameon": False, "legend.labelcolor": INK,
}


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """matplotlib settings of every jupyter-tlt chart, for the figures built inside the block."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def figure_png(fig, dpi: int = 90) -> bytes:
    """A matplotlib Figure as PNG bytes with a transparent background (no pyplot involved)."""
    buffer = io.BytesIO()
    with chart_style():
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def legend_outside(ax, fontsize: str = "small") -> None:
    """The axes' legend to the right of the plot, so it never covers a curve."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=fontsize)
