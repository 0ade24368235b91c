"""COCO instance annotations: read them as KITTI objects per image, and write KITTI data as COCO.

A COCO file is one JSON object with `images` (id, file_name, width, height), `categories` (id,
name) and `annotations` (image_id, category_id, bbox `[x, y, width, height]` in pixels, iscrowd).
Objects keep their category name as class (the conversion spec's target_class_mapping maps it, as
for KITTI); crowd regions become DontCare boxes. Every problem names the file and the annotation
(or JSON line and column), the way KITTI problems name `file:line`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..atomic import write_text
from ..errors import DataError
from .kitti import DEGENERATE_BOX, DONTCARE, KittiObject, Problem
from .validate import DUPLICATE_IMAGE

BOX_TOLERANCE = 0.5  # pixels a box may reach past the declared image size (rounding in tools)

# Problem kinds of COCO files beyond KITTI's.
MALFORMED_JSON = "malformed_json"
MISSING_IMAGE = "missing_image"
UNKNOWN_IMAGE = "unknown_image"
UNKNOWN_CATEGORY = "unknown_category"
BAD_BOX = "bad_box"


@dataclass
class CocoImage:
    """One image of a COCO file with its objects (box pixels) and the id of each one's annotation."""

    frame_id: str
    path: Path
    width: int
    height: int
    objects: list[KittiObject] = field(default_factory=list)
    annotation_ids: list[int] = field(default_factory=list)


def read_coco(annotation_file: str | os.PathLike, image_dir: str | os.PathLike
              ) -> tuple[list[CocoImage], list[Problem]]:
    """Every image of the file (sorted by frame id) with its objects, and every problem found.
    A file that cannot be read or is not COCO JSON raises DataError at once."""
    path, image_dir = Path(annotation_file), Path(image_dir)
    data = _load(path)
    problems: list[Problem] = []

    def problem(kind: str, text: str, severity: str = "error") -> None:
        problems.append(Problem(severity, kind, str(path), None, f"{path}: {text}"))

    categories = {}
    for c in data["categories"]:
        if not isinstance(c, dict) or "id" not in c or not str(c.get("name", "")).strip():
            raise DataError(f"{path}: category {c!r} needs an 'id' and a 'name'; fix the categories.")
        name = str(c["name"]).strip().replace(" ", "_")  # KITTI class names hold no whitespace
        categories[c["id"]] = name
    by_id: dict[object, CocoImage] = {}
    listed = set(os.listdir(image_dir)) if image_dir.is_dir() else set()  # one listing, not a stat per image
    seen_ids: dict[str, object] = {}
    for im in data["images"]:
        if not isinstance(im, dict) or not {"id", "file_name"} <= set(im):
            raise DataError(f"{path}: image entry {str(im)[:80]} needs 'id' and 'file_name'; fix it.")
        file = image_dir / im["file_name"]
        frame_id = Path(im["file_name"]).with_suffix("").as_posix()
        if frame_id in seen_ids:
            problem(DUPLICATE_IMAGE, f"images {seen_ids[frame_id]} and {im['id']} share the file "
                                   f"name {im['file_name']!r}; keep one entry per image.")
            continue
        seen_ids[frame_id] = im["id"]
        if im["file_name"] not in listed and not file.is_file():
            problem(MISSING_IMAGE, f"image {im['id']} ({im['file_name']}) is not in {image_dir}; "
                                   "add the file or check coco_config.img_dir_names.")
            continue
        by_id[im["id"]] = CocoImage(frame_id, file, int(im.get("width") or 0),
                                    int(im.get("height") or 0))
    missing = {im.get("id") for im in data["images"] if isinstance(im, dict)} - set(by_id)

    for ann in data["annotations"]:
        aid = ann.get("id", "?") if isinstance(ann, dict) else "?"
        where = f"annotation {aid}"
        if not isinstance(ann, dict):
            problem(BAD_BOX, f"{where}: not a JSON object; fix it.")
            continue
        image = by_id.get(ann.get("image_id"))
        if image is None:
            if ann.get("image_id") not in missing:
                problem(UNKNOWN_IMAGE, f"{where}: image_id {ann.get('image_id')!r} is not in "
                                       "'images'; add the image entry or remove the annotation.")
            continue
        name = categories.get(ann.get("category_id"))
        if name is None:
            problem(UNKNOWN_CATEGORY, f"{where}: category_id {ann.get('category_id')!r} is not in "
                                      f"'categories' (ids {sorted(categories)[:10]}); fix the id or "
                                      "add the category.")
            continue
        box = ann.get("bbox")
        if not _is_box(box):
            problem(BAD_BOX, f"{where}: bbox {box!r} is not [x, y, width, height] in pixels; fix it.")
            continue
        x, y, w, h = map(float, box)
        if w <= 0 or h <= 0:
            problem(DEGENERATE_BOX, f"{where}: bbox {box} has non-positive width or height; it is "
                                    "skipped (TAO skips such boxes too): fix or delete it.",
                    severity="warning")
            continue
        if x < -BOX_TOLERANCE or y < -BOX_TOLERANCE or (image.width and x + w > image.width
                                                         + BOX_TOLERANCE) \
                or (image.height and y + h > image.height + BOX_TOLERANCE):
            problem(BAD_BOX, f"{where}: bbox {box} reaches outside the {image.width}x{image.height} "
                             f"image {image.path.name}; fix the box.")
            continue
        kind = DONTCARE if ann.get("iscrowd") else name
        image.objects.append(KittiObject(kind, 0.0, 0, 0.0, max(x, 0.0), max(y, 0.0), x + w, y + h,
                                         0, 0, 0, 0, 0, 0, 0))
        image.annotation_ids.append(aid if isinstance(aid, int) else 0)
    return sorted(by_id.values(), key=lambda i: i.frame_id), problems


def _is_box(box) -> bool:
    """A list of four finite numbers (checked in one sum: this runs for every annotation)."""
    if type(box) is not list or len(box) != 4:
        return False
    try:
        total = 0.0 + box[0] + box[1] + box[2] + box[3]  # TypeError for strings, None, lists
    except TypeError:
        return False
    return math.isfinite(total)


def _load(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the COCO annotation file ({exc.strerror or exc}); "
                        "check coco_config.annotation_files.") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; a COCO annotation file is JSON.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); fix the "
                        "file (a JSON linter shows the spot).") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list)
                                             for k in ("images", "annotations", "categories")):
        raise DataError(f"{path}: not a COCO instances file: it needs the lists 'images', "
                        "'annotations' and 'categories'.")
    return data


def raise_errors(problems: Iterable[Problem]) -> int:
    """Raise the first error among `problems` as a DataError; return the number of skipped boxes."""
    skipped = 0
    for p in problems:
        if p.severity == "error":
            raise DataError(p.message)
        skipped += p.kind == DEGENERATE_BOX
    return skipped


def coco_document(frames: Iterable[tuple[str, int, int, Iterable[KittiObject]]],
                  classes: list[str]) -> dict:
    """A COCO instances document for (file name, width, height, objects) per image; class names
    (lower-cased) index `classes`, DontCare boxes become crowd regions of the first class."""
    index = {name: i + 1 for i, name in enumerate(classes)}
    images, annotations = [], []
    for image_id, (file_name, width, height, objects) in enumerate(frames, 1):
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for o in objects:
            name = o.type.lower()
            if name not in index and name != DONTCARE:
                continue
            crowd = name == DONTCARE
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id,
                "category_id": index[classes[0]] if crowd else index[name],
                "bbox": [o.x1, o.y1, o.box_width, o.box_height],
                "area": o.box_width * o.box_height, "iscrowd": int(crowd)})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": i, "name": n} for n, i in index.items()]}


def write_coco(path: str | os.PathLike, document: dict) -> Path:
    """Write a COCO document atomically."""
    return write_text(path, json.dumps(document, indent=1) + "\n")
