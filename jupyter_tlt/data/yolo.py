"""YOLO labels: read them as KITTI objects, and write KITTI objects as YOLO labels.

A YOLO dataset holds `images/` and `labels/`: one text file per image, one object per line,
`class cx cy w h` with the class index into a names list and the box centre and size as fractions
of the image's width and height. The names come from a names file (one per line) or the
`data.yaml` that YOLO tools write (`names: [a, b]` or `names: {0: a, 1: b}`). An image with no
label file has no objects (YOLO's convention for background images).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from ..atomic import write_text
from ..errors import DataError
from .kitti import (DEGENERATE_BOX, FIELD_COUNT, NON_NUMERIC, UNREADABLE_LABEL, KittiObject, Problem,
                    _FileError, _read_text)

LINE_FORMAT = "class cx cy w h"
CLASS_INDEX = "class_index"
OUT_OF_RANGE = "out_of_range"
"""Problem kinds of YOLO lines beyond KITTI's: a class index with no name, a value outside [0, 1]."""


def read_class_names(path: str | os.PathLike) -> list[str]:
    """Class names in index order from a names file or a YOLO data.yaml; DataError names the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the class names ({exc.strerror}); set "
                        "yolo_config.class_names_file to a names file or a YOLO data.yaml.") from None
    if path.suffix.lower() not in (".yaml", ".yml"):
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = _yaml_names(path, text)
    if not names:
        raise DataError(f"{path}: no class names found; write one name per line (or `names:` "
                        "in a data.yaml).")
    bad = [n for n in names if not n or any(c.isspace() for c in n)]
    if bad:
        raise DataError(f"{path}: class name {bad[0]!r} contains whitespace, which a KITTI label "
                        "cannot hold; rename it (e.g. with '_').")
    return names


def _yaml_names(path: Path, text: str) -> list[str]:
    import yaml  # safe_load builds only plain data: nothing in the file is executed

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise DataError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the "
                        "file.") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        if sorted(names) != list(range(len(names))):
            raise DataError(f"{path}: `names` must number the classes 0..{len(names) - 1} without "
                            "gaps; fix the indices.")
        return [str(names[i]) for i in range(len(names))]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise DataError(f"{path}: no `names:` list (or index -> name map) found; add the class names, "
                    "e.g. `names: [car, pedestrian]`.")


def read_labels_numbered(path: str | os.PathLike, width: int, height: int,
                         names: Sequence[str]) -> tuple[list[tuple[int, KittiObject]], list[Problem]]:
    """The objects of one YOLO label file, in pixels of a `width` x `height` image, with their line
    numbers; every malformed line is a Problem (boxes of zero size are DEGENERATE_BOX, as in KITTI)."""
    objects: list[tuple[int, KittiObject]] = []
    problems: list[Problem] = []
    if path is None:
        return objects, problems
    try:
        text = _read_text(Path(path))
    except _FileError as exc:
        return objects, [Problem("error", UNREADABLE_LABEL, str(path), exc.line, exc.message)]
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        obj, problem = _parse(line, path, lineno, width, height, names)
        if problem is not None:
            problems.append(problem)
        else:
            objects.append((lineno, obj))
    return objects, problems


def _parse(line: str, path, lineno: int, width: int, height: int,
           names: Sequence[str]) -> tuple[KittiObject | None, Problem | None]:
    where = f"{path}:{lineno}"

    def problem(kind: str, what: str, severity: str = "error"):
        return None, Problem(severity, kind, str(path), lineno, f"{where}: {what}")

    fields = line.split()
    if len(fields) != 5:
        return problem(FIELD_COUNT, f"expected 5 fields ({LINE_FORMAT}), got {len(fields)}; "
                                    "write one object per line (segmentation polygons are not boxes).")
    try:
        index = int(fields[0])
    except ValueError:
        return problem(NON_NUMERIC, f"class must be an integer index into the class names, got "
                                    f"{fields[0]!r}; fix the line.")
    if not 0 <= index < len(names):
        return problem(CLASS_INDEX, f"class index {index} has no name (the names file lists "
                                    f"{len(names)}: 0..{len(names) - 1}); fix the line or add the name.")
    values = []
    for name, text in zip(("cx", "cy", "w", "h"), fields[1:]):
        try:
            v = float(text)
        except ValueError:
            return problem(NON_NUMERIC, f"field '{name}' is not a number ({text!r}); fix the line.")
        if not 0.0 <= v <= 1.0:  # also rejects nan
            return problem(OUT_OF_RANGE, f"field '{name}' = {text} is outside [0, 1]; YOLO values "
                                         "are fractions of the image size: divide pixels by it.")
        values.append(v)
    cx, cy, w, h = values
    if w <= 0 or h <= 0:
        return problem(DEGENERATE_BOX, f"box of zero size (w {w}, h {h}); it is skipped.",
                       severity="warning")
    x1, x2 = (cx - w / 2) * width, (cx + w / 2) * width
    y1, y2 = (cy - h / 2) * height, (cy + h / 2) * height
    if x1 < -0.5 or y1 < -0.5 or x2 > width + 0.5 or y2 > height + 0.5:
        return problem(OUT_OF_RANGE, f"box reaches outside the image (centre {cx}, {cy}, size "
                                     f"{w} x {h}); fix the line.")
    x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))
    return KittiObject(names[index], 0.0, 0, 0.0, x1, y1, x2, y2, 0, 0, 0, 0, 0, 0, 0), None


def label_line(obj: KittiObject, width: int, height: int, index: int) -> str:
    """The YOLO line of one object of a `width` x `height` image (class index `index`), with enough
    digits that converting it back gives the same float32 pixel coordinates."""
    cx, cy = (obj.x1 + obj.x2) / 2 / width, (obj.y1 + obj.y2) / 2 / height
    w, h = obj.box_width / width, obj.box_height / height
    return f"{index} {cx:.10g} {cy:.10g} {w:.10g} {h:.10g}"


def write_labels(path: str | os.PathLike, objects: Iterable[KittiObject], width: int, height: int,
                 index_of: dict[str, int]) -> Path:
    """Write one YOLO label file (atomically); objects whose class is not in `index_of` are left out."""
    lines = [label_line(o, width, height, index_of[o.type.lower()]) for o in objects
             if o.type.lower() in index_of]
    return write_text(path, "".join(line + "\n" for line in lines))
