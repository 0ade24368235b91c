"""How values read in the tables people see (notebook HTML and terminal text): one owner for all.

Integers as integers with thousands separators (4,926,164, never "4926164.000"), sizes in SI units with
kB below 1 MB (the sidebar's units too), percentages with one decimal, and a dash where a value is
unknown or does not apply (never NaN, None or `{}`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

DASH = "-"


def missing(value: Any) -> bool:
    """True for the values a table shows as a dash: None, NaN, "" and empty containers."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (str, dict, list, tuple)):
        return len(value) == 0
    return False


def integer(value: Any) -> str:
    return DASH if missing(value) else f"{round(float(value)):,d}"


def file_size(size: Any) -> str:
    """Bytes in SI units: 512 B, 812.4 kB, 4.7 MB, 1.2 GB."""
    if missing(size):
        return DASH
    size = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return DASH  # pragma: no cover - the loop always returns


def decimals(digits: int) -> Callable[[Any], str]:
    """A formatter with a fixed number of decimals (a dash for a missing value)."""
    return lambda value: DASH if missing(value) else f"{float(value):,.{digits}f}"


def percent_of_fraction(value: Any) -> str:
    """A fraction (0.219) as a percentage ("21.9%")."""
    return DASH if missing(value) else f"{100 * float(value):.1f}%"


def formatted_frame(frame, formats: Mapping[str, Callable[[Any], str]]):
    """A copy of `frame` with every cell a string: `formats` per column, and a dash for anything missing."""
    out = frame.astype(object).copy()
    for column in out.columns:
        fmt = formats.get(column, lambda v: str(v))
        out[column] = [DASH if missing(v) else fmt(v) for v in frame[column]]
    return out
