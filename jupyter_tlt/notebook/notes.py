"""Warnings in a notebook: one styled line each, once per cell, instead of Python's pink file:line text.

`%load_ext jupyter_tlt` calls `register(shell)`: every cell then runs inside
`jupyter_tlt.progress.step_warnings`, so a warning raised by a step (or by a library it calls) is
shown as a note, without the source path and line Python prints, and a warning repeated within the
cell (compare evaluates several models) is shown once.
"""

from __future__ import annotations

import contextlib
import html

_STYLE = ("border-left:3px solid #d99a00;background:rgba(217,154,0,0.12);padding:3px 8px;"
          "margin:3px 0;font-size:13px;color:inherit")

_cell: contextlib.ExitStack | None = None
_shown: list[str] = []


def note_html(text: str) -> str:
    """A warning as a styled one-line note, readable in light and dark themes."""
    return f'<div class="tlt-warning" style="{_STYLE}"><b>warning:</b> {html.escape(text)}</div>'


def show_note(text: str) -> None:
    """The note in a kernel; `warning: ...` on stderr in terminal IPython, as the CLI writes it."""
    from IPython.display import display

    from ..progress import print_warning
    from .display import is_rich

    if not is_rich():
        print_warning(text)
        return
    display({"text/html": note_html(text), "text/plain": f"warning: {text}"}, raw=True)


def shown_in_this_cell(text: str) -> bool:
    """True when the running cell already showed this warning (so a table need not repeat it)."""
    return " ".join(text.split()) in _shown


def _pre_run_cell(*_args) -> None:
    global _cell, _shown
    from ..progress import step_warnings

    _post_run_cell()
    _cell = contextlib.ExitStack()
    _shown = _cell.enter_context(step_warnings(show_note))


def _post_run_cell(*_args) -> None:
    global _cell
    if _cell is not None:
        _cell.close()
        _cell = None


def register(shell) -> None:
    """Show the warnings of every following cell of `shell` as notes (idempotent)."""
    events = shell.events
    for name, callback in (("pre_run_cell", _pre_run_cell), ("post_run_cell", _post_run_cell)):
        if callback not in events.callbacks[name]:
            events.register(name, callback)
