"""KITTI object labels: read, check and write them, and grade objects by the KITTI difficulty.

A label file holds one object per line, 15 space-separated fields
(`type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y`), plus a 16th `score` in
detection output. A zero-byte file is an image with no objects. Every malformed line is reported as
`path:line: what (field, value); how to fix`, so a user can go straight to it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Literal, Mapping

from ..atomic import write_text
from ..errors import DataError

FIELDS = ("type", "truncated", "occluded", "alpha", "x1", "y1", "x2", "y2",
          "height", "width", "length", "x", "y", "z", "rotation_y")
"""The 15 fields of a KITTI label line, in file order (a 16th, `score`, may follow)."""

LINE_FORMAT = "type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]"
BOX_FIELDS = ("x1", "y1", "x2", "y2")
OCCLUSION_LEVELS = (0, 1, 2, 3)  # fully visible, partly occluded, largely occluded, unknown
DONTCARE = "dontcare"

# Problem kinds found in label files (Problem.kind); dataset validation adds its own.
FIELD_COUNT = "field_count"
NON_NUMERIC = "non_numeric"
NOT_FINITE = "not_finite"
NEGATIVE_COORDINATE = "negative_coordinate"
TRUNCATION_RANGE = "truncation_range"
OCCLUSION_RANGE = "occlusion_range"
DEGENERATE_BOX = "degenerate_box"
UNREADABLE_LABEL = "unreadable_label"

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem found in a dataset. `message` is the complete sentence, starting with `path:line:`
    (or `path:` when it concerns a whole file), the same text a strict reader raises as DataError."""

    severity: Severity
    kind: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"severity": self.severity, "kind": self.kind, "path": self.path,
                "line": self.line, "message": self.message}


@dataclass(frozen=True)
class KittiObject:
    """One labelled (or detected) object; box coordinates are pixels of the stored image."""

    type: str
    truncated: float
    occluded: int
    alpha: float
    x1: float
    y1: float
    x2: float
    y2: float
    height: float
    width: float
    length: float
    x: float
    y: float
    z: float
    rotation_y: float
    score: float | None = None

    @property
    def box_height(self) -> float:
        return self.y2 - self.y1

    @property
    def box_width(self) -> float:
        return self.x2 - self.x1

    def to_line(self) -> str:
        """The KITTI line for this object (no newline): 15 fields, or 16 with the score."""
        if not self.type or any(c.isspace() for c in self.type):
            raise ValueError(f"KITTI class name {self.type!r} must be non-empty and contain no "
                             "whitespace")
        parts = [self.type, _fmt(self.truncated), str(int(self.occluded))]
        parts += [_fmt(getattr(self, name)) for name in FIELDS[3:]]
        if self.score is not None:
            parts.append(f"{self.score:.4f}")
        return " ".join(parts)


def _fmt(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


# --- KITTI difficulty -------------------------------------------------------------------------

@dataclass(frozen=True)
class Difficulty:
    """The limits an object must meet to count at one KITTI difficulty level."""

    name: str
    min_height: float      # ground truth: box height in pixels (y2 - y1) must exceed this
    max_occlusion: int     # occluded must be at most this
    max_truncation: float  # truncated must be at most this


DIFFICULTIES: Mapping[str, Difficulty] = MappingProxyType({
    "easy": Difficulty("easy", 40.0, 0, 0.15),
    "moderate": Difficulty("moderate", 25.0, 1, 0.30),
    "hard": Difficulty("hard", 25.0, 2, 0.50),
})
"""KITTI devkit difficulty levels, easiest first. They are cumulative: an `easy` object also counts
for `moderate` and `hard` evaluation. As in the devkit (evaluate_object.cpp), a ground-truth box
counts only when its height is strictly greater than `min_height` (a 40 px box is not easy) and
occlusion and truncation are at most the limits; otherwise it is ignored (neither a hit nor a miss).
The devkit ignores a detection only when its height is strictly less than `min_height`."""


def meets(level: str | Difficulty, box_height: float, occluded: int, truncated: float) -> bool:
    """Whether a ground-truth object with these values counts at `level`, by the devkit's rule:
    height > min_height, occluded <= max_occlusion, truncated <= max_truncation."""
    d = DIFFICULTIES[level] if isinstance(level, str) else level
    return box_height > d.min_height and occluded <= d.max_occlusion and truncated <= d.max_truncation


def difficulty(obj: KittiObject) -> str | None:
    """The easiest KITTI difficulty `obj` meets ("easy", "moderate", "hard"), or None when it is
    beyond hard (too small, occluded or truncated) or is a DontCare region."""
    if obj.type.lower() == DONTCARE:
        return None
    for name, level in DIFFICULTIES.items():
        if meets(level, obj.box_height, obj.occluded, obj.truncated):
            return name
    return None


# --- reading ----------------------------------------------------------------------------------

class _LineError(Exception):
    def __init__(self, kind: str, what: str):
        super().__init__(what)
        self.kind, self.what = kind, what


def _value(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _number(fields: list[str], i: int) -> float:
    name, text = FIELDS[i] if i < len(FIELDS) else "score", fields[i]
    try:
        value = float(text)
    except ValueError:
        hint = ""
        if i == 1:
            hint = " (a class name cannot contain spaces: join its words with '_')"
        raise _LineError(NON_NUMERIC, f"non-numeric value (field '{name}', value {_value(text)}); "
                                      f"write a number there{hint}") from None
    if not math.isfinite(value):
        raise _LineError(NOT_FINITE, f"value is not a finite number (field '{name}', value "
                                     f"{_value(text)}); write a finite number")
    return value


def _parse(line: str) -> KittiObject:
    fields = line.split()
    if len(fields) not in (15, 16):
        hint = ""
        if len(fields) > 16 and _is_number(fields[1]) is False:
            hint = " (a class name cannot contain spaces: join its words with '_')"
        raise _LineError(FIELD_COUNT, f"expected 15 fields (16 with a score) but found {len(fields)}"
                                      f"{hint}; write '{LINE_FORMAT}' separated by spaces")
    values = [_number(fields, i) for i in range(1, len(fields))]
    truncated, occluded, alpha, x1, y1, x2, y2 = values[:7]
    dontcare = fields[0].lower() == DONTCARE
    for name, v, text in zip(BOX_FIELDS, (x1, y1, x2, y2), fields[4:8]):
        if v < 0:
            raise _LineError(NEGATIVE_COORDINATE,
                             f"negative box coordinate (field '{name}', value {_value(text)}); box "
                             "coordinates are pixels from the image's top-left corner: clip it to 0")
    if not (0.0 <= truncated <= 1.0 or (dontcare and truncated == -1)):
        raise _LineError(TRUNCATION_RANGE,
                         f"truncation outside [0, 1] (field 'truncated', value {_value(fields[1])}); "
                         "write the truncated fraction of the object, from 0 to 1")
    if not (occluded in OCCLUSION_LEVELS or (dontcare and occluded == -1)):
        raise _LineError(OCCLUSION_RANGE,
                         f"occlusion not 0, 1, 2 or 3 (field 'occluded', value {_value(fields[2])}); "
                         "write 0 = fully visible, 1 = partly occluded, 2 = largely occluded or "
                         "3 = unknown")
    if x1 >= x2:
        raise _LineError(DEGENERATE_BOX,
                         f"empty box, x1 >= x2 (field 'x2', value {_value(fields[6])}, x1 "
                         f"{_value(fields[4])}); TAO silently skips such boxes: fix the "
                         "coordinates or delete the line")
    if y1 >= y2:
        raise _LineError(DEGENERATE_BOX,
                         f"empty box, y1 >= y2 (field 'y2', value {_value(fields[7])}, y1 "
                         f"{_value(fields[5])}); TAO silently skips such boxes: fix the "
                         "coordinates or delete the line")
    score = values[14] if len(values) == 15 else None
    return KittiObject(fields[0], truncated, int(occluded), alpha, x1, y1, x2, y2, *values[7:14],
                       score=score)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_line(line: str, path: str | os.PathLike = "<string>", lineno: int = 1) -> KittiObject:
    """Parse one non-blank label line; a malformed one raises DataError naming `path:lineno`, the
    field and its value. The error's `problem` attribute holds the same report as a Problem."""
    try:
        return _parse(line)
    except _LineError as exc:
        problem = _problem(exc, path, lineno)
        err = DataError(problem.message)
        err.problem = problem
        raise err from None


def _problem(exc: _LineError, path: str | os.PathLike, lineno: int) -> Problem:
    return Problem("error", exc.kind, str(path), lineno, f"{path}:{lineno}: {exc.what}.")


class _FileError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line


def _read_text(path: Path) -> str:
    """The file's text; raises _FileError when it is missing, unreadable or not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _FileError(f"{path}: label file not found; check the path.") from None
    except IsADirectoryError:
        raise _FileError(f"{path}: is a directory, not a label file; remove or rename it.") from None
    except OSError as exc:
        raise _FileError(f"{path}: cannot read the label file ({exc.strerror or exc}); "
                         "fix its permissions.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise _FileError(f"{path}:{line}: label file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         "save it as UTF-8 (class names are plain ASCII words).", line) from None


def _read_or_raise(path: Path) -> str:
    try:
        return _read_text(path)
    except _FileError as exc:
        err = DataError(exc.message)
        err.problem = Problem("error", UNREADABLE_LABEL, str(path), exc.line, exc.message)
        raise err from None


def read_labels_numbered(path: str | os.PathLike) -> tuple[list[tuple[int, KittiObject]], list[Problem]]:
    """Like read_labels_lenient, but each object comes with its 1-based line number, so later
    checks (box outside the image, unknown class) can name `path:line`. Never raises."""
    path = Path(path)
    try:
        text = _read_text(path)
    except _FileError as exc:
        return [], [Problem("error", UNREADABLE_LABEL, str(path), exc.line, exc.message)]
    objects: list[tuple[int, KittiObject]] = []
    problems: list[Problem] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            objects.append((lineno, _parse(line)))
        except _LineError as exc:
            problems.append(_problem(exc, path, lineno))
    return objects, problems


def read_labels_lenient(path: str | os.PathLike) -> tuple[list[KittiObject], list[Problem]]:
    """Read every well-formed object and collect a Problem for each malformed line (which is
    skipped) or, for an unreadable file, one Problem with kind UNREADABLE_LABEL. Never raises."""
    numbered, problems = read_labels_numbered(path)
    return [obj for _, obj in numbered], problems


def read_labels(path: str | os.PathLike, *, strict: bool = True) -> list[KittiObject]:
    """Read a KITTI label file. `strict` raises DataError at the first malformed line; otherwise
    malformed lines are skipped. An unreadable file always raises DataError."""
    path = Path(path)
    if strict:
        text = _read_or_raise(path)
        return [parse_line(line, path, n) for n, line in enumerate(text.split("\n"), start=1)
                if line.strip()]
    numbered, problems = read_labels_numbered(path)
    unreadable = [p for p in problems if p.kind == UNREADABLE_LABEL]
    if unreadable:
        err = DataError(unreadable[0].message)
        err.problem = unreadable[0]
        raise err
    return [obj for _, obj in numbered]


def write_labels(path: str | os.PathLike, objects: Iterable[KittiObject]) -> Path:
    """Atomically write `objects` as a KITTI label file; no objects gives a zero-byte file."""
    lines = [obj.to_line() for obj in objects]
    return write_text(path, "".join(line + "\n" for line in lines))
