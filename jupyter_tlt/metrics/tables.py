"""Plain-text and HTML tables for metric results.

The text table has the layout of TLT's `tlt-evaluate` output (a reStructuredText "simple table"):
`=` rules above and below the header and at the bottom, two spaces between columns, every cell
centred (extra space on the right), each column as wide as its widest value or its header plus two.
"""

from __future__ import annotations

import html
import math
from typing import Sequence

__all__ = ["text_table", "html_table", "percent"]


def percent(value: float) -> str:
    """0.9106 -> '91.06' (NaN -> 'n/a')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{100.0 * value:.2f}"
    return "0.00" if text == "-0.00" else text


def _center(text: str, width: int) -> str:
    pad = width - len(text)
    left = pad // 2
    return " " * left + text + " " * (pad - left)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A `===`-ruled text table of string cells (no trailing newline)."""
    widths = [max([len(h) + 2] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(_center(c, w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, line(headers), rule, *(line(r) for r in rows), rule])


def _shade(value: float) -> str:
    """A background colour from white (0) to green (1) for a 0..1 value."""
    if value is None or not math.isfinite(value):
        return "transparent"
    v = min(max(value, 0.0), 1.0)
    r, g, b = (int(round(255 + (c - 255) * v * 0.6)) for c in (60, 170, 80))
    return f"rgb({r},{g},{b})"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               shades: Sequence[Sequence[float | None]] | None = None, caption: str = "",
               footer_rows: int = 0) -> str:
    """An HTML table; `shades` gives a 0..1 value per cell (None: no colour) for a heat-map
    background; the last `footer_rows` rows are set in bold above a rule."""
    out = ['<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">']
    if caption:
        out.append(f'<caption style="caption-side:top;text-align:left;font-weight:bold">'
                   f"{html.escape(caption)}</caption>")
    cell = "padding:2px 10px;text-align:{};"
    out.append("<thead><tr>" + "".join(
        f'<th style="{cell.format("left" if i == 0 else "right")}border-bottom:1px solid #888">'
        f"{html.escape(h)}</th>" for i, h in enumerate(headers)) + "</tr></thead><tbody>")
    first_footer = len(rows) - footer_rows
    for r, row in enumerate(rows):
        tds = []
        for i, text in enumerate(row):
            style = cell.format("left" if i == 0 else "right")
            if shades is not None and shades[r][i] is not None:
                style += f"background:{_shade(shades[r][i])};"
            if r >= first_footer:
                style += "font-weight:bold;"
                if r == first_footer:
                    style += "border-top:1px solid #888;"
            tds.append(f'<td style="{style}">{html.escape(text)}</td>')
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)
