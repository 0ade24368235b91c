"""Per-image ground truth and detections as numpy arrays, built from arrays or KITTI label files.

Boxes are `x1, y1, x2, y2` in pixels of the original image. Class names are compared in lower case
(the converter lower-cases them too), and KITTI `DontCare` regions are kept apart from the objects,
because they are not objects: they only swallow detections.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..data.kitti import DONTCARE, KittiObject, read_labels, read_labels_numbered
from ..errors import DataError

__all__ = ["GroundTruth", "Detections"]


def _boxes(value, what: str) -> np.ndarray:
    arr = np.asarray(value if value is not None else np.zeros((0, 4)), dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what} must have shape (N, 4) as x1, y1, x2, y2; got {arr.shape}")
    return arr


def _classes(value, n: int, what: str) -> np.ndarray:
    """Lower-cased class names as a numpy unicode array (fast to compare and search); bytes (as
    TFRecords hold them) are decoded as UTF-8."""
    raw = np.asarray(value if value is not None else [])
    if raw.dtype.kind == "S":
        arr = np.char.decode(raw, "utf-8")
    elif raw.dtype.kind == "O":
        arr = np.asarray([v.decode("utf-8") if isinstance(v, bytes) else str(v)
                          for v in raw.reshape(-1)], dtype=str)
    else:
        arr = raw.astype(str)
    arr = arr.reshape(-1)
    arr = np.char.lower(arr) if arr.size else arr.astype(str)
    if len(arr) != n:
        raise ValueError(f"{what} has {len(arr)} class names for {n} boxes")
    return arr


def _column(value, n: int, dtype, what: str) -> np.ndarray:
    if value is None:
        return np.zeros(n, dtype=dtype)
    arr = np.asarray(value, dtype=dtype).reshape(-1)
    if len(arr) != n:
        raise ValueError(f"{what} has {len(arr)} values for {n} boxes")
    return arr


@dataclass
class GroundTruth:
    """The labelled objects of one image. Truncation and occlusion default to 0 (fully visible);
    rows whose class is `dontcare` are moved into `dontcare` (their boxes only). `image_size`
    (width, height), when known, is what detections are clipped to before matching."""

    boxes: np.ndarray
    classes: np.ndarray
    truncation: np.ndarray | None = None
    occlusion: np.ndarray | None = None
    dontcare: np.ndarray | None = None
    name: str = ""
    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        boxes = _boxes(self.boxes, "ground-truth boxes")
        n = len(boxes)
        classes = _classes(self.classes, n, "ground truth")
        truncation = _column(self.truncation, n, np.float64, "ground-truth truncation")
        occlusion = _column(self.occlusion, n, np.int64, "ground-truth occlusion")
        dontcare = _boxes(self.dontcare, "DontCare boxes")
        is_dc = classes == DONTCARE
        if is_dc.any():
            dontcare = np.concatenate([dontcare, boxes[is_dc]])
            keep = ~is_dc
            boxes, classes = boxes[keep], classes[keep]
            truncation, occlusion = truncation[keep], occlusion[keep]
        self.boxes, self.classes = boxes, classes
        self.truncation, self.occlusion, self.dontcare = truncation, occlusion, dontcare

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def normalized(cls, boxes: np.ndarray, classes: np.ndarray, truncation: np.ndarray,
                   occlusion: np.ndarray, dontcare: np.ndarray, name: str = "",
                   image_size: tuple[int, int] | None = None) -> "GroundTruth":
        """Without checks, from arrays already in the form __post_init__ makes (float64 boxes (N, 4),
        lower-case unicode classes without DontCare, float64 truncation, int64 occlusion, DontCare
        boxes apart): the bulk label reader's fast path, where checking per image costs more than
        reading."""
        self = object.__new__(cls)
        self.boxes, self.classes, self.truncation, self.occlusion = boxes, classes, truncation, occlusion
        self.dontcare, self.name, self.image_size = dontcare, name, image_size
        return self

    @classmethod
    def from_kitti(cls, objects: Iterable[KittiObject], name: str = "") -> "GroundTruth":
        """Ground truth from the objects of one KITTI label file (DontCare lines included)."""
        objects = list(objects)
        return cls(boxes=[(o.x1, o.y1, o.x2, o.y2) for o in objects],
                   classes=[o.type for o in objects],
                   truncation=[o.truncated for o in objects],
                   occlusion=[o.occluded for o in objects], name=name)

    @classmethod
    def from_label_file(cls, path: str | os.PathLike) -> "GroundTruth":
        """Read one KITTI label file (strictly: a malformed line raises DataError naming it)."""
        return cls.from_kitti(read_labels(path), name=Path(path).stem)


@dataclass
class Detections:
    """The detections of one image: boxes, class names and confidence scores."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        self.boxes = _boxes(self.boxes, "detection boxes")
        n = len(self.boxes)
        self.classes = _classes(self.classes, n, "detections")
        self.scores = _column(self.scores if self.scores is not None else np.zeros(0), n,
                              np.float64, "detection scores")
        if not np.isfinite(self.scores).all():
            raise ValueError(f"detection scores{' of ' + self.name if self.name else ''} "
                             "must be finite numbers")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def normalized(cls, boxes: np.ndarray, classes: np.ndarray, scores: np.ndarray,
                   name: str = "") -> "Detections":
        """Without checks, from arrays already in the form __post_init__ makes (float64 boxes (N, 4),
        lower-case unicode classes, finite float64 scores): the bulk result reader's fast path."""
        self = object.__new__(cls)
        self.boxes, self.classes, self.scores, self.name = boxes, classes, scores, name
        return self

    @classmethod
    def from_kitti(cls, objects: Iterable[KittiObject], name: str = "") -> "Detections":
        """Detections from KITTI result lines (16 fields: the last is the score). DontCare lines
        are dropped; a line without a score raises DataError."""
        objects = [o for o in objects if o.type.lower() != DONTCARE]
        for o in objects:
            if o.score is None:
                where = f"{name}: " if name else ""
                raise DataError(f"{where}detection of class '{o.type}' has no score; a detection "
                                "line needs a 16th field, the confidence score")
        return cls(boxes=[(o.x1, o.y1, o.x2, o.y2) for o in objects],
                   classes=[o.type for o in objects],
                   scores=[o.score for o in objects], name=name)

    @classmethod
    def from_label_file(cls, path: str | os.PathLike) -> "Detections":
        """Read one KITTI detection file; a line without a score raises DataError naming it."""
        path = Path(path)
        numbered, problems = read_labels_numbered(path)
        if problems:
            err = DataError(problems[0].message)
            err.problem = problems[0]
            raise err
        for lineno, o in numbered:
            if o.score is None and o.type.lower() != DONTCARE:
                raise DataError(f"{path}:{lineno}: detection has no score (15 fields); write the "
                                "confidence score as a 16th field")
        return cls.from_kitti([o for _, o in numbered], name=path.stem)
