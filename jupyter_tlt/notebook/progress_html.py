"""Progress bars drawn as HTML updated in place, so a saved notebook keeps every step's final bar.

A `tqdm.auto` widget bar shows "Error displaying widget" once the kernel is gone (JupyterLab after a
restart) and "0%" in nbconvert or on GitHub, because its state lives in the kernel. `HtmlBar` is a
tqdm whose every refresh replaces one display output (IPython display id) with a small HTML bar and
its text form: what the notebook file stores is the last state, readable without a kernel.

`%load_ext jupyter_tlt` makes every step's bar (`jupyter_tlt.progress.bar`) an `HtmlBar` in a kernel.
"""

from __future__ import annotations

import html
import io

from tqdm.std import tqdm

BAR_WIDTH_PX = 220
DONE, RUNNING, STOPPED = "#3c9a4a", "#2f7fc1", "#c0392b"


class HtmlBar(tqdm):
    """A tqdm bar shown as one HTML output updated in place; `leave=False` bars vanish when closed."""

    def __init__(self, *args, **kwargs):
        kwargs["file"] = io.StringIO()  # nothing goes to stderr: the HTML output is the bar
        self._handle = None
        super().__init__(*args, **kwargs)

    def display(self, msg=None, pos=None):
        """Replace this bar's output with its current state (`msg=''`: remove it, for leave=False)."""
        from IPython.display import display

        if msg == "":
            bundle = {"text/plain": "", "text/html": ""}
        else:
            bundle = {"text/plain": self.text(), "text/html": self.html()}
        if self._handle is None:
            if msg == "":
                return True
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
        return True

    def text(self) -> str:
        """The bar as tqdm writes it in a terminal (the text/plain form of the output)."""
        return self.format_meter(**{**self.format_dict, "ncols": 100})

    def html(self) -> str:
        """The bar as a coloured track, with count, elapsed time, remaining time, rate and postfix."""
        d = self.format_dict
        n, total = d["n"], d["total"]
        finished = self.disable and total is not None and n >= total
        colour = DONE if finished else STOPPED if self.disable else RUNNING
        fraction = min(1.0, n / total) if total else (1.0 if self.disable else 0.0)
        detail = self.format_meter(**{**d, "bar_format": _DETAIL if total else _DETAIL_NO_TOTAL})
        if self.disable and not finished and total:
            detail += " (stopped)"
        return (f'<div class="tlt-progress" style="display:flex;align-items:center;gap:8px;'
                f'font-family:var(--jp-code-font-family,monospace);font-size:12px;margin:2px 0">'
                f'<span style="min-width:5em">{html.escape(d.get("prefix") or "")}</span>'
                f'<span style="display:inline-block;width:{BAR_WIDTH_PX}px;height:10px;border-radius:3px;'
                f'background:rgba(128,128,128,0.25)"><span style="display:block;height:100%;border-radius:3px;'
                f'width:{100 * fraction:.1f}%;background:{colour}"></span></span>'
                f'<span>{html.escape(detail)}</span></div>')



_DETAIL = "{percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
_DETAIL_NO_TOTAL = "{n_fmt} [{elapsed}, {rate_fmt}{postfix}]"


def notebook_bar(iterable=None, **kwargs):
    """The bar factory `%load_ext jupyter_tlt` installs: HTML in a kernel, text in terminal IPython."""
    from .display import is_rich

    return (HtmlBar if is_rich() else tqdm)(iterable, **kwargs)
