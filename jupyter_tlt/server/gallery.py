"""An inference run as a gallery (no tornado here): a page of its annotated images, each with the
detections of the KITTI label file of the same stem, and the images themselves (whole or as thumbnails).

`tlt infer` writes `<run>/images/<stem>.jpg` (boxes drawn) and `<run>/labels/<stem>.txt` (KITTI with a
16th score field); a folder of images with their labels beside them is shown the same way.

    >>> page = gallery_page(Path("/srv/work"), "runs/detect/infer", offset=0, limit=1)
    >>> page["total"], page["images"][0]["detections"][0]
    (120, {'class': 'car', 'confidence': 0.91, 'box': [12.0, 40.5, 96.0, 88.0]})
    >>> image_bytes(Path("/srv/work"), "runs/detect/infer/images/000001.jpg", thumbnail=True)[1]
    'image/jpeg'
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from pathlib import Path

from ..data.kitti import read_labels_lenient
from ..errors import DataError
from ..experiment_index import ExperimentNotFound, resolve_inside
from ..tasks.detectnet_v2.predictions import IMAGES_DIR, LABELS_DIR

DEFAULT_LIMIT = 60        # thumbnails per page
MAX_LIMIT = 200
MAX_DETECTIONS = 200      # listed per image (a label file of all candidates may hold thousands)
MAX_IMAGE_BYTES = 64 << 20
THUMB_PX = 256            # the longer side of a thumbnail
MAX_THUMB_CACHE = 32 << 20
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}

_LOCK = threading.Lock()
_LISTINGS: dict[str, tuple[tuple, list[str]]] = {}
_THUMBS: OrderedDict[tuple, bytes] = OrderedDict()
_thumb_bytes = 0


class NotAnImage(DataError):
    """A path the image route does not serve (not .jpg/.jpeg/.png)."""


def gallery_page(root: Path, relative: str, offset: int = 0, limit: int = DEFAULT_LIMIT) -> dict:
    """{path, total, offset, limit, images: [{name, path, labels, detections, more}]}: the images of
    the inference run `relative` (sorted by name) from `offset`, at most `limit` of them."""
    folder = resolve_inside(root, relative)
    if not folder.is_dir():
        raise ExperimentNotFound(f"{relative!r}: no such folder under {root}; open the gallery of an inference "
                                 "run (the infer/ folder of an experiment)")
    images_dir = folder / IMAGES_DIR if (folder / IMAGES_DIR).is_dir() else folder
    labels_dir = folder / LABELS_DIR if (folder / LABELS_DIR).is_dir() else images_dir
    names = _image_names(root, images_dir)
    rows = []
    for name in names[offset:offset + limit]:
        labels = labels_dir / (os.path.splitext(name)[0] + ".txt")
        if not (labels.is_file() and Path(os.path.realpath(labels)).is_relative_to(root)):
            labels = None  # none, or a link leading out of the root: never read
        detections, more = _detections(labels) if labels else ([], 0)
        rows.append({"name": name, "path": _relative(root, images_dir / name),
                     "labels": _relative(root, labels) if labels else None, "detections": detections, "more": more})
    return {"path": relative, "total": len(names), "offset": offset, "limit": limit, "images": rows}


def _image_names(root: Path, folder: Path) -> list[str]:
    """The image files of `folder`, sorted; kept while the folder's mtime is unchanged."""
    st = folder.stat()
    key = (st.st_ino, st.st_mtime_ns)
    with _LOCK:
        cached = _LISTINGS.get(str(folder))
    if cached and cached[0] == key:
        return cached[1]
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or os.path.splitext(entry.name)[1].lower() not in TYPES:
                continue
            if entry.is_symlink() and not Path(os.path.realpath(entry.path)).is_relative_to(root):
                continue
            if entry.is_file():
                names.append(entry.name)
    names.sort()
    with _LOCK:
        if len(_LISTINGS) > 64:
            _LISTINGS.pop(next(iter(_LISTINGS)))
        _LISTINGS[str(folder)] = (key, names)
    return names


def _detections(labels: Path) -> tuple[list[dict], int]:
    """(the boxes of a label file, most confident first, at most MAX_DETECTIONS; how many more).

    Read as `tlt infer` writes it (a KITTI result file: 16 fields, the devkit's unknown 3D values),
    else as a ground-truth label file (15 fields, no confidence); malformed lines are skipped."""
    from ..metrics.kitti_results import read_result_file

    try:
        found = read_result_file(labels)
        boxes = [{"class": str(c), "confidence": float(s), "box": [float(v) for v in b]}
                 for b, c, s in zip(found.boxes, found.classes, found.scores)]
    except DataError:
        objects, _ = read_labels_lenient(labels)
        boxes = [{"class": o.type, "confidence": o.score, "box": [o.x1, o.y1, o.x2, o.y2]} for o in objects]
    boxes.sort(key=lambda d: -(d["confidence"] if d["confidence"] is not None else float("inf")))
    return boxes[:MAX_DETECTIONS], max(0, len(boxes) - MAX_DETECTIONS)


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def image_bytes(root: Path, relative: str, thumbnail: bool = False) -> tuple[bytes, str]:
    """(the bytes, the content type) of the image `relative`, or of its thumbnail (JPEG, THUMB_PX)."""
    suffix = os.path.splitext(relative)[1].lower()
    if suffix not in TYPES:
        raise NotAnImage(f"{relative!r} is not an image; the image route serves {', '.join(TYPES)} files")
    path = resolve_inside(root, relative)
    try:
        st = path.stat()
    except OSError:
        st = None
    if st is None or not path.is_file():
        raise ExperimentNotFound(f"{relative!r}: no such image under {root}; pick one from the gallery")
    if st.st_size > MAX_IMAGE_BYTES:
        raise DataError(f"{relative!r}: {st.st_size} bytes, more than the {MAX_IMAGE_BYTES >> 20} MiB served")
    if not thumbnail:
        return path.read_bytes(), TYPES[suffix]
    return _thumbnail(path, (st.st_ino, st.st_size, st.st_mtime_ns)), "image/jpeg"


def _thumbnail(path: Path, stat_key: tuple) -> bytes:
    global _thumb_bytes
    key = (str(path), *stat_key)
    with _LOCK:
        if key in _THUMBS:
            _THUMBS.move_to_end(key)
            return _THUMBS[key]
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.draft("RGB", (THUMB_PX, THUMB_PX))  # JPEG: decode at a reduced scale
            image = image.convert("RGB")
            image.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"{path.name}: not a readable image ({type(exc).__name__}); was it written completely?") from None
    data = out.getvalue()
    with _LOCK:
        _THUMBS[key] = data
        _thumb_bytes += len(data)
        while _thumb_bytes > MAX_THUMB_CACHE and _THUMBS:
            _thumb_bytes -= len(_THUMBS.popitem(last=False)[1])
    return data
