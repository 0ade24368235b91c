"""Listing results: lists (so code can iterate them) that print as tables and have `to_frame()`.

    >>> models = Registry().models()        # ModelList of dicts
    >>> models.to_frame()                   # pandas, for notebooks; print(models) for terminals
"""

from __future__ import annotations

from typing import Any

MODEL_COLUMNS = ("name", "task", "arch", "input_size", "latest", "versions", "size", "metrics")
VERSION_COLUMNS = ("version", "created", "size", "metrics", "description")


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def cell(key: str, value: Any) -> str:
    if value is None or value == "" or value == {}:
        return "-"
    if key == "size":
        return human_size(value)
    if key == "input_size" and isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value)
    if key == "metrics" and isinstance(value, dict):
        return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
    if key == "created" and isinstance(value, str):
        return value[:19].replace("T", " ")
    return str(value)


def table(rows: list[dict], columns: tuple[str, ...]) -> str:
    cells = [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


class ModelList(list):
    """One dict per model: name, task, arch, input_size, latest, versions, size, metrics, description."""

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self), columns=[*MODEL_COLUMNS, "description"]).set_index("name")

    def __str__(self) -> str:
        return table(self, MODEL_COLUMNS) if self else "(no models)"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html()


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
        return self.to_frame().to_html()
