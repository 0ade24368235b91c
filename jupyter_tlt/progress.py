"""Progress bars and loud warnings, the same in a notebook (widgets) and a terminal (text)."""

from __future__ import annotations

import sys
from typing import Iterable


def bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
        unit: str = "it", enabled: bool = True, leave: bool = True):
    """A `tqdm.auto` bar: a widget in a notebook, text on stderr in a terminal. `leave=False` for
    inner bars (one per epoch) that should disappear when done."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, leave=leave,
                dynamic_ncols=True)


def warn(message: str) -> None:
    """Print a warning the user must not miss (e.g. class names that will never match)."""
    print(f"WARNING: {message}", file=sys.stderr, flush=True)
