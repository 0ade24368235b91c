"""Read folders of KITTI *result* files (any detector's output) leniently, paired with label files.

Result files come from DeepStream (`gie-kitti-output-dir`), TensorRT apps, other toolkits and
`tlt infer`. The format is lenient where the devkit is: truncation and occlusion are written as -1
when unknown, alpha as -10, 3D fields as -1 or -1000; all of them are accepted (only the class, the
box and the 16th field, the score, are used). Boxes partly outside the image are clipped to it when
the image (and so its size) is known; boxes entirely outside it, or empty ones, are dropped and
counted. Ground-truth label files stay strict (`GroundTruth.from_label_file`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.kitti import DONTCARE, LINE_FORMAT
from ..errors import DataError
from .boxes import Detections, GroundTruth

__all__ = ["ReadReport", "read_result_file", "load_result_dirs"]


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
            out.append(f"{len(self.missing_results)} images have no result file and count as having "
                       f"no detections (e.g. {self.missing_results[0]})")
        return out

    def to_dict(self) -> dict:
        return {"clipped": self.clipped, "dropped_outside": self.dropped_outside,
                "dropped_empty": self.dropped_empty, "missing_results": len(self.missing_results)}


def _parse_results(path: Path, text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    names, boxes, scores = [], [], []
    for lineno, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 16:
            hint = " (a 15-field line has no score)" if len(fields) == 15 else ""
            raise DataError(f"{path}:{lineno}: a result line needs 16 fields but has {len(fields)}"
                            f"{hint}; write '{LINE_FORMAT}' with the score last")
        try:
            box = [float(v) for v in fields[4:8]]
            score = float(fields[15])
        except ValueError:
            raise DataError(f"{path}:{lineno}: box or score is not a number ({' '.join(fields[4:8])}, "
                            f"{fields[15]}); write x1 y1 x2 y2 in fields 5-8 and the score in 16") from None
        if not all(math.isfinite(v) for v in (*box, score)):
            raise DataError(f"{path}:{lineno}: box or score is not a finite number; write finite values")
        if fields[0].lower() == DONTCARE:
            continue
        names.append(fields[0])
        boxes.append(box)
        scores.append(score)
    return names, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64)


def read_result_file(path: str | os.PathLike, image_size: tuple[int, int] | None = None,
                     report: ReadReport | None = None) -> Detections:
    """One result file as Detections. `image_size` (width, height) clips boxes to the image; boxes
    entirely outside it or empty are dropped; `report` counts both."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the result file ({exc}); check the file") from None
    names, boxes, scores = _parse_results(path, text)
    report = report if report is not None else ReadReport()
    keep = np.ones(len(boxes), dtype=bool)
    if image_size is not None and len(boxes):
        width, height = image_size
        outside = ((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= width)
                   | (boxes[:, 1] >= height))
        clipped = np.clip(boxes, 0.0, [width, height, width, height])
        report.clipped += int(((clipped != boxes).any(axis=1) & ~outside).sum())
        report.dropped_outside += int(outside.sum())
        keep &= ~outside
        boxes = clipped
    empty = keep & ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
    report.dropped_empty += int(empty.sum())
    keep &= ~empty
    return Detections(boxes[keep], np.asarray(names, dtype=str)[keep] if names else [],
                      scores[keep], name=path.stem)


def _image_sizes(image_dir: Path | None) -> dict[str, Path]:
    if image_dir is None:
        return {}
    from ..data.images import find_images

    return find_images(image_dir)


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
    label_names = sorted(p.stem for p in label_dir.glob("*.txt"))
    if not label_names:
        raise DataError(f"{label_dir}: no label files (*.txt) found; check --labels.")
    result_names = {p.stem for p in result_dir.glob("*.txt")}
    orphans = sorted(result_names - set(label_names))
    if orphans:
        raise DataError(f"{result_dir / (orphans[0] + '.txt')}: result file without a label file "
                        f"{label_dir / (orphans[0] + '.txt')} ({len(orphans)} such files); evaluate "
                        "against the labels of the same images, or remove the extra result files")
    images = _image_sizes(Path(image_dir) if image_dir else None)
    report = ReadReport()
    truth, detections = [], []
    for name in names if names is not None else label_names:
        truth.append(GroundTruth.from_label_file(label_dir / f"{name}.txt"))
        if name not in result_names:
            report.missing_results.append(name)
            detections.append(Detections(np.zeros((0, 4)), [], [], name=name))
            continue
        size = None
        if name in images:
            from PIL import Image

            with Image.open(images[name]) as im:
                size = im.size
        detections.append(read_result_file(result_dir / f"{name}.txt", size, report))
    return truth, detections, report
