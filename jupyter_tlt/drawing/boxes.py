"""Boxes with readable labels on an image (Pillow).

Readable means: the font and line width grow with the image (a label is about 1/24 of the image
height, at least 10 px), labels sit on a filled tag in the box's colour with black or white text by
contrast, and labels never cover each other: boxes are labelled best score first, each label takes
the first free place among above the box, inside its top edge, below it and inside its bottom
edge (shifted into the image); a label with no free place is left out and counted, and the boxes
are always drawn. Colours are fixed per class, so a class looks the same on every image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..metrics.analysis import FP, MISSED, TP

CLASS_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
"""Per-class colours (matplotlib's tab10), by the class's index in the model's output order."""

OUTCOME_COLORS = {TP: (30, 170, 60), FP: (225, 30, 30), MISSED: (255, 160, 0), "": (150, 150, 150)}
"""Error-analysis colours: true positive green, false positive red, missed object amber, other grey."""


def class_color(index: int) -> tuple[int, int, int]:
    return CLASS_COLORS[int(index) % len(CLASS_COLORS)]


@dataclass
class LabelledBox:
    """One box to draw: x1, y1, x2, y2 in the image's pixels, its label (may be empty) and colour;
    `dashed` outlines mark boxes that are not detections (e.g. a missed object)."""

    box: Sequence[float]
    label: str
    color: tuple[int, int, int]
    dashed: bool = False
    priority: float = 0.0


def font_size(width: int, height: int) -> int:
    return max(10, round(min(height, width * 0.75) / 24))


def draw_boxes(image, boxes: Sequence[LabelledBox]) -> int:
    """Draw `boxes` on the PIL `image` in place; returns how many labels found no free place."""
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(image)
    size = font_size(image.width, image.height)
    font = ImageFont.load_default(size=size)
    line = max(1, round(size / 8))
    for b in boxes:
        _rectangle(draw, [float(v) for v in b.box], b.color, line, b.dashed)
    placed: list[tuple[float, float, float, float]] = []
    skipped = 0
    for b in sorted(boxes, key=lambda b: -b.priority):
        if not b.label:
            continue
        left, top, right, bottom = draw.textbbox((0, 0), b.label, font=font)
        pad = max(1, size // 6)
        tw, th = right - left + 2 * pad, bottom - top + 2 * pad
        spot = _free_spot([float(v) for v in b.box], tw, th, image.width, image.height, placed)
        if spot is None:
            skipped += 1
            continue
        x, y = spot
        placed.append((x, y, x + tw, y + th))
        draw.rectangle([x, y, x + tw - 1, y + th - 1], fill=b.color)
        draw.text((x + pad - left, y + pad - top), b.label, font=font, fill=_text_color(b.color))
    return skipped


def _free_spot(box, tw, th, width, height, placed):
    """Top-left corner of the first place for a tw x th label that stays in the image and overlaps
    no placed label; None when there is none."""
    x1, y1, x2, y2 = box
    x = min(max(0.0, x1), max(0.0, width - tw))
    for y in (y1 - th, y1, y2, y2 - th):
        if y < 0 or y + th > height:
            continue
        rect = (x, y, x + tw, y + th)
        if not any(rect[0] < p[2] and p[0] < rect[2] and rect[1] < p[3] and p[1] < rect[3] for p in placed):
            return x, y
    return None


def _rectangle(draw, box, color, width, dashed) -> None:
    if not dashed:
        draw.rectangle(box, outline=color, width=width)
        return
    x1, y1, x2, y2 = box
    dash = max(4, 3 * width)
    for a, b in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        steps = max(1, int(length // dash))
        for i in range(0, steps, 2):
            s, e = i / steps, min(1.0, (i + 1) / steps)
            draw.line([(a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s),
                       (a[0] + (b[0] - a[0]) * e, a[1] + (b[1] - a[1]) * e)], fill=color, width=width)


def _text_color(color) -> tuple[int, int, int]:
    r, g, b = color
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255)


def detection_boxes(boxes, classes: Sequence[int], scores, class_names: Sequence[str]) -> list[LabelledBox]:
    """Detections (class indices into `class_names`) as boxes coloured by class, labelled
    "class score"."""
    return [LabelledBox(box, f"{class_names[int(c)]} {float(s):.2f}", class_color(int(c)), priority=float(s))
            for box, c, s in zip(boxes, classes, scores)]


def outcome_boxes(outcome) -> list[LabelledBox]:
    """An `ImageOutcome` as boxes: detections solid (TP green, FP red, labelled with class and
    score), ground truth dashed (missed amber and labelled; found ones thin, unlabelled)."""
    out = []
    t = outcome.truth
    for box, cls, state in zip(t.boxes, t.classes, outcome.truth_outcome):
        if state == MISSED:
            out.append(LabelledBox(box, f"missed {cls}", OUTCOME_COLORS[MISSED], dashed=True, priority=1e6))
        elif state == TP:
            out.append(LabelledBox(box, "", OUTCOME_COLORS[""], dashed=True))
    d = outcome.detections
    for box, cls, score, state in zip(d.boxes, d.classes, d.scores, outcome.detection_outcome):
        prefix = "FP " if state == FP else ""
        out.append(LabelledBox(box, f"{prefix}{cls} {score:.2f}", OUTCOME_COLORS[state], priority=float(score)))
    return out
