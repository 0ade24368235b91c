"""Listing results: lists (so code can iterate them) that print as tables and have `to_frame()`.

    >>> models = Registry().models()        # ModelList of dicts
    >>> models.to_frame()                   # pandas, for notebooks; print(models) for terminals
"""

from __future__ import annotations

from typing import Any

from ..table_cells import DASH, file_size, missing, percent_of_fraction

MODEL_COLUMNS = ("name", "task", "arch", "input_size", "latest", "versions", "size", "metrics")
VERSION_COLUMNS = ("version", "created", "size", "metrics", "description")


human_size = file_size  # the registry's size cells, as every table writes sizes


def metrics_cell(metrics: dict) -> str:
    """A version's validation metrics (fractions, from training) as a short cell: the headline metric
    in percent with its level, e.g. "val mAP (all) 21.9%"; not the whole dict."""
    for name, label in (("mAP", "val mAP (all)"), ("accuracy", "val accuracy"), ("top1", "val top-1")):
        value = metrics.get(name)
        if isinstance(value, (int, float)) and not missing(value):
            return f"{label} {percent_of_fraction(value)}"
    shown = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not missing(v)][:2]
    return ", ".join(f"{k} {v:.3g}" for k, v in shown) or DASH


def cell(key: str, value: Any) -> str:
    if missing(value):
        return DASH
    if key == "size":
        return file_size(value)
    if key == "input_size" and isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value)
    if key == "metrics" and isinstance(value, dict):
        return metrics_cell(value)
    if key == "created" and isinstance(value, str):
        return value[:16].replace("T", " ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table(rows: list[dict], columns: tuple[str, ...]) -> str:
    cells = [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def html_table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """The same cells as `table`, as an HTML table (no NaN, no dicts)."""
    import pandas as pd

    return pd.DataFrame([[cell(c, row.get(c)) for c in columns] for row in rows],
                        columns=list(columns)).to_html(index=False)


class ModelList(list):
    """One dict per model: name, task, arch, input_size, latest, versions, size, metrics, description.

    Models with pushed versions (weights to pull) come first, then the catalogue's empty entries."""

    def __init__(self, rows=()):
        super().__init__(sorted(rows, key=lambda row: not row.get("versions")))

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self), columns=[*MODEL_COLUMNS, "description"]).set_index("name")

    def __str__(self) -> str:
        return table(self, MODEL_COLUMNS) if self else "(no models)"

    def _repr_html_(self) -> str:
        return html_table(self, MODEL_COLUMNS) if self else "<p>(no models)</p>"


class VersionList(list):
    """Version names, newest first; `details[version]` holds each one's index summary."""

    def __init__(self, name: str, versions: list[str], details: dict[str, dict]):
        super().__init__(versions)
        self.name = name
        self.details = details

    def rows(self) -> list[dict]:
        return [{"version": v, **self.details.get(v, {})} for v in self]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=list(VERSION_COLUMNS)).set_index("version")

    def __str__(self) -> str:
        return table(self.rows(), VERSION_COLUMNS) if self else f"{self.name}: no versions yet"

    def _repr_html_(self) -> str:
        return html_table(self.rows(), VERSION_COLUMNS) if self else f"<p>{self.name}: no versions yet</p>"
