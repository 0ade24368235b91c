"""Progress bars and warnings a person reads, the same in a notebook and a terminal.

Bars: text on stderr in a terminal; a front end may install its own kind (`use_bars`): `%load_ext
jupyter_tlt` installs HTML bars that a saved notebook keeps. Without one, `tqdm.auto` decides.

Warnings: the steps raise ordinary Python warnings (`warn` raises a `TltWarning`). A front end runs
a step inside `step_warnings(show)`, which turns each warning into one line without the file path
and source line Python prints, and shows each distinct line once per step: the CLI as
`warning: ...` on stderr, the notebook as a styled note.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from typing import Callable, Iterable, Iterator

_bar_factory: Callable | None = None


class TltWarning(UserWarning):
    """A warning of jupyter-tlt about the user's data, spec or model (e.g. class names that never match)."""


def use_bars(factory: Callable | None) -> None:
    """Make `bar` build its bars with `factory` (tqdm's signature); None restores the default."""
    global _bar_factory
    _bar_factory = factory


def bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
        unit: str = "it", enabled: bool = True, leave: bool = True, monitor: bool = True):
    """A tqdm bar (the front end's kind, see `use_bars`). `leave=False` for inner bars (one per
    epoch) that should disappear when done; `monitor=False` starts no tqdm monitor thread (for a
    process that forks workers while the bar runs)."""
    if _bar_factory is not None:
        factory = _bar_factory
    else:
        from tqdm.auto import tqdm as factory

    kwargs = dict(total=total, desc=desc, unit=unit, disable=not enabled, leave=leave, dynamic_ncols=True)
    if not monitor:
        from tqdm import tqdm

        previous, tqdm.monitor_interval = tqdm.monitor_interval, 0
        try:
            return factory(iterable, **kwargs)
        finally:
            tqdm.monitor_interval = previous
    return factory(iterable, **kwargs)


def warn(message: str) -> None:
    """Warn about something the user must not miss (e.g. class names that will never match)."""
    warnings.warn(message, TltWarning, stacklevel=2)


def warning_line(message: object) -> str:
    """A warning's text as one line: whitespace (newlines included) collapsed, no trailing period run."""
    return " ".join(str(message).split())


def print_warning(text: str) -> None:
    """The terminal form of a warning: `warning: ...` on stderr."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step_warnings(show: Callable[[str], None] = print_warning) -> Iterator[list[str]]:
    """Inside the block, every warning is passed to `show` as one line, each distinct line once.

    Yields the list of lines shown so far. The warning filters stay as they are; entering the block
    resets Python's memory of warnings already shown, so a second step shows its own again (once).
    """
    shown: list[str] = []

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = warning_line(message)
        if text not in shown:
            shown.append(text)
            show(text)

    with warnings.catch_warnings():
        warnings.showwarning = showwarning
        yield shown
