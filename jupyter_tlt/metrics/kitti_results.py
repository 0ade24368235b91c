"""Read folders of KITTI *result* files (any detector's output) leniently, paired with label files.

Result files come from DeepStream (`gie-kitti-output-dir`), TensorRT apps, other toolkits and
`tlt infer`. The format is lenient where the devkit is: truncation and occlusion are written as -1
when unknown, alpha as -10, 3D fields as -1 or -1000; all of them are accepted (only the class, the
box and the 16th field, the score, are used). Boxes partly outside the image are clipped to it when
the image (and so its size) is known; boxes entirely outside it, or empty ones, are dropped and
counted. Ground-truth label files stay strict (`GroundTruth.from_label_file`).
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.kitti import DONTCARE, FIELDS, LINE_FORMAT, OCCLUSION_LEVELS, KittiObject
from ..errors import DataError
from .boxes import Detections, GroundTruth

__all__ = ["ReadReport", "clip_detections", "result_line", "unknown_3d", "read_label_files", "read_result_files", "read_result_file",
           "load_result_dirs"]


@dataclass
class ReadReport:
    """What the lenient reader changed: boxes clipped to the image, boxes dropped (entirely outside
    the image, or empty), and images that had no result file (no detections)."""

    clipped: int = 0
    dropped_outside: int = 0
    dropped_empty: int = 0
    missing_results: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        out = []
        if self.clipped:
            out.append(f"{self.clipped} detection boxes reached past the image border and were clipped to it")
        if self.dropped_outside:
            out.append(f"{self.dropped_outside} detection boxes lay entirely outside their image and "
                       "were dropped")
        if self.dropped_empty:
            out.append(f"{self.dropped_empty} detection boxes were empty (x2 <= x1 or y2 <= y1) and "
                       "were dropped")
        if self.missing_results:
            n = len(self.missing_results)
            out.append(f"{n} image{'s have' if n > 1 else ' has'} no result file and count"
                       f"{'' if n > 1 else 's'} as having no detections (e.g. {self.missing_results[0]})")
        return out

    def to_dict(self) -> dict:
        return {"clipped": self.clipped, "dropped_outside": self.dropped_outside,
                "dropped_empty": self.dropped_empty, "missing_results": len(self.missing_results)}


def _read_bytes(path: str | Path) -> str:
    """The file's text (UTF-8); plain os calls, since thousands of small files are read at once."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc}); check the file") from None


def _stem(path: str | Path) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _fields(texts: Sequence[str], width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """All lines of many files at once: (class names, numeric fields (N, width - 1), lines per file),
    or None when a line does not have `width` fields or a field is not a finite number (the caller
    then reads file by file, to name the line). pandas' C parser does the work, several times faster
    than splitting and converting in Python."""
    import csv

    import pandas as pd

    if not any(t.strip() for t in texts):  # no objects at all (pandas refuses empty input)
        return np.zeros(0, dtype=str), np.zeros((0, width - 1)), np.zeros(len(texts), dtype=np.int64)
    try:
        frame = pd.read_csv(io.StringIO("\n".join(texts)), sep=r"\s+", header=None, names=range(width),
                            dtype={0: str}, engine="c", quoting=csv.QUOTE_NONE, na_filter=False)
        numbers = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    except (ValueError, pd.errors.ParserError):
        return None
    if not np.isfinite(numbers).all():
        return None
    # lines per file: newline-ended segments, exact unless a file has blank lines (then count them)
    counts = np.array([t.count("\n") + (not t.endswith("\n")) if t else 0 for t in texts], dtype=np.int64)
    if counts.sum() != len(frame):
        counts = np.array([sum(1 for line in t.split("\n") if line.strip()) for t in texts], dtype=np.int64)
    return frame[0].to_numpy(dtype=str), numbers.reshape(-1, width - 1), counts


def read_label_files(paths: Sequence[str | Path]) -> list[GroundTruth]:
    """Ground truth of many label files, read together (fast); as strict as
    `GroundTruth.from_label_file`, which names the line of any problem."""
    parsed = _fields([_read_label_text(p) for p in paths], 15)
    if parsed is not None:
        names, v, counts = parsed
        lower = np.char.lower(names)
        dc = lower == DONTCARE
        trunc, occl, box = v[:, 0], v[:, 1], v[:, 3:7]
        fine = ((box >= 0).all(axis=1) & (box[:, 0] < box[:, 2]) & (box[:, 1] < box[:, 3])
                & (((trunc >= 0) & (trunc <= 1)) | (dc & (trunc == -1)))
                & (np.isin(occl, OCCLUSION_LEVELS) | (dc & (occl == -1))))
        if fine.all():
            occl = occl.astype(np.int64)
            box, obj = np.ascontiguousarray(box), ~dc
            ends = np.cumsum(counts)
            out = []
            for path, a, b in zip(paths, ends - counts, ends):
                o = obj[a:b]
                out.append(GroundTruth.normalized(box[a:b][o], lower[a:b][o], trunc[a:b][o], occl[a:b][o],
                                                  box[a:b][~o], name=_stem(path)))
            return out
    return [GroundTruth.from_label_file(p) for p in paths]


def _read_label_text(path: Path) -> str:
    try:
        return _read_bytes(path)
    except DataError:
        GroundTruth.from_label_file(path)  # raises the strict reader's error, which names the problem
        raise


def _raise_line_error(path: Path, text: str) -> None:
    """Raise DataError naming the first malformed result line of `path` (16 fields, numbers)."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 16:
            hint = " (a 15-field line has no score)" if len(fields) == 15 else ""
            raise DataError(f"{path}:{lineno}: a result line needs 16 fields but has {len(fields)}"
                            f"{hint}; write '{LINE_FORMAT}' with the score last")
        try:
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise DataError(f"{path}:{lineno}: a field is not a number ({line.strip()}); write "
                            "numbers after the class name") from None
        if not all(math.isfinite(v) for v in values):
            raise DataError(f"{path}:{lineno}: a field is not a finite number; write finite values")


def _clip(boxes: np.ndarray, width, height, keep: np.ndarray, report: ReadReport
          ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes clipped to their image (width/height per box; inf: size unknown, not clipped), and which
    of the `keep` boxes remain: those entirely outside the image or empty are dropped (counted)."""
    limits = np.stack([width, height, width, height], axis=-1)
    outside = keep & ((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= width)
                      | (boxes[:, 1] >= height))
    clipped = np.where(np.isfinite(limits), np.clip(boxes, 0.0, limits), boxes)
    report.clipped += int((keep & ~outside & (clipped != boxes).any(axis=1)).sum())
    report.dropped_outside += int(outside.sum())
    keep = keep & ~outside
    empty = keep & ((clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1]))
    report.dropped_empty += int(empty.sum())
    return clipped, keep & ~empty


def clip_detections(detections: Detections, image_size: tuple[int, int] | None,
                    report: ReadReport | None = None) -> tuple[Detections, np.ndarray]:
    """`detections` clipped to the image (width, height; None: not clipped) without the boxes
    entirely outside it or empty, and the index of each kept box: the rule `tlt infer` writes
    results by, so that evaluating its files equals evaluating the model."""
    width, height = image_size if image_size is not None else (np.inf, np.inf)
    n = len(detections)
    boxes, keep = _clip(detections.boxes, np.full(n, float(width)), np.full(n, float(height)),
                        np.ones(n, dtype=bool), report if report is not None else ReadReport())
    return (Detections(boxes[keep], detections.classes[keep], detections.scores[keep],
                       name=detections.name), np.flatnonzero(keep))


def result_line(obj: KittiObject) -> str:
    """A KITTI result line with every number written exactly (shortest round-trip form), so that
    reading it back gives the same doubles: unknown fields as the devkit expects them (-1, -10, -1000)."""
    numbers = [obj.truncated, obj.occluded, *(getattr(obj, f) for f in FIELDS[3:]), obj.score]
    return " ".join([obj.type, *(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in numbers)])


def unknown_3d(name: str, box, score: float) -> KittiObject:
    """A 2D detection as a KittiObject with the devkit's 'unknown' values: truncation and occlusion
    -1, alpha and rotation -10, dimensions -1, location -1000."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return KittiObject(name, -1.0, -1, -10.0, x1, y1, x2, y2, -1.0, -1.0, -1.0, -1000.0, -1000.0, -1000.0,
                       -10.0, score=float(score))


def read_result_files(paths: Sequence[str | Path], image_sizes: Sequence[tuple[int, int] | None] | None = None,
                      report: ReadReport | None = None) -> list[Detections]:
    """Detections of many result files, read together. `image_sizes` (width, height, or None per
    file) clip boxes to their image; boxes entirely outside it or empty are dropped and counted in
    `report`. A malformed line raises DataError naming it."""
    texts = [_read_bytes(p) for p in paths]
    parsed = _fields(texts, 16)
    if parsed is None:
        for path, text in zip(paths, texts):
            _raise_line_error(path, text)
        raise AssertionError("unreachable: every file that _fields refuses has a malformed line")
    names, v, counts = parsed
    boxes, scores = v[:, 3:7], v[:, 14]
    report = report if report is not None else ReadReport()
    sizes = np.array([s if s is not None else (np.inf, np.inf) for s in (image_sizes or [None] * len(paths))],
                     dtype=np.float64).reshape(-1, 2)
    lower = np.char.lower(names)
    clipped, keep = _clip(boxes, np.repeat(sizes[:, 0], counts), np.repeat(sizes[:, 1], counts),
                          lower != DONTCARE, report)
    ends = np.cumsum(counts)
    out = []
    for path, start, end in zip(paths, ends - counts, ends):
        k = keep[start:end]
        out.append(Detections.normalized(clipped[start:end][k], lower[start:end][k], scores[start:end][k],
                                         name=_stem(path)))
    return out


def read_result_file(path: str | os.PathLike, image_size: tuple[int, int] | None = None,
                     report: ReadReport | None = None) -> Detections:
    """One result file as Detections (see read_result_files)."""
    return read_result_files([Path(path)], [image_size], report)[0]


def _images(image_dir: Path | None) -> dict[str, Path]:
    if image_dir is None:
        return {}
    from ..data.images import find_images

    return find_images(image_dir)


def _txt_stems(folder: Path) -> list[str]:
    """Names of the `*.txt` files in `folder`, sorted."""
    return sorted(name[:-4] for name in os.listdir(folder) if name.endswith(".txt"))


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def load_result_dirs(label_dir: str | os.PathLike, result_dir: str | os.PathLike,
                     image_dir: str | os.PathLike | None = None, names: Sequence[str] | None = None
                     ) -> tuple[list[GroundTruth], list[Detections], ReadReport]:
    """Pair every label file `<name>.txt` with the result file of the same name (none: no
    detections). A result file without a label file is an error (its image cannot be scored).
    With `image_dir`, boxes are clipped to the size of the image of the same name, when there is one."""
    label_dir, result_dir = Path(label_dir), Path(result_dir)
    if not label_dir.is_dir():
        raise DataError(f"{label_dir}: label directory not found; check --labels.")
    if not result_dir.is_dir():
        raise DataError(f"{result_dir}: predictions directory not found; check --predictions (it holds "
                        "one KITTI result file with scores per image).")
    label_names = _txt_stems(label_dir)
    if not label_names:
        raise DataError(f"{label_dir}: no label files (*.txt) found; check --labels.")
    result_names = set(_txt_stems(result_dir))
    orphans = sorted(result_names - set(label_names))
    if orphans:
        raise DataError(f"{result_dir / (orphans[0] + '.txt')}: result file without a label file "
                        f"{label_dir / (orphans[0] + '.txt')} ({len(orphans)} such files); evaluate "
                        "against the labels of the same images, or remove the extra result files")
    images = _images(Path(image_dir) if image_dir else None)
    report = ReadReport()
    names = list(names) if names is not None else label_names
    truth = read_label_files([os.path.join(label_dir, name + ".txt") for name in names])
    found = [name for name in names if name in result_names]
    report.missing_results = [name for name in names if name not in result_names]
    sizes = [_image_size(images[name]) if name in images else None for name in found]
    by_name = dict(zip(found, read_result_files([os.path.join(result_dir, n + ".txt") for n in found],
                                                    sizes, report)))
    detections = [by_name[name] if name in by_name else Detections(np.zeros((0, 4)), [], [], name=name)
                  for name in names]
    return truth, detections, report
