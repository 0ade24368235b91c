"""`dataset-export`: a KITTI dataset written as COCO or YOLO, to take it to other labelling tools.

The images are copied unchanged (so `dataset-convert` of the export gives the same records), and
class names and boxes carry over exactly. KITTI's other fields (truncation, occlusion, alpha, the
3D box) have no place in COCO or YOLO: converting the export back gives them as 0. DontCare boxes
become COCO crowd regions; YOLO has no such notion, so they are left out there.

Example:
    >>> dataset_export("data/kitti", "data/coco", "coco")
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..atomic import refuse_existing
from ..errors import DataError, SpecError
from ..progress import bar
from . import coco, images, kitti, yolo

FORMATS = ("coco", "yolo")
COCO_ANNOTATIONS = "annotations.json"
YOLO_NAMES = "data.yaml"


@dataclass
class ExportResult:
    """Where `dataset_export` wrote the dataset, in which format, how many images and objects."""

    output_dir: str
    format: str
    classes: list[str]
    images: int
    objects: int

    def __str__(self) -> str:
        return (f"Wrote {self.images} images and {self.objects} objects as {self.format.upper()} to "
                f"{self.output_dir} (classes: {', '.join(self.classes)})")


def dataset_export(root: str | os.PathLike, output_dir: str | os.PathLike, format: str, *,
                   image_dir_name: str = "image_2", label_dir_name: str = "label_2",
                   classes: list[str] | None = None, overwrite: bool = False,
                   progress: bool = True) -> ExportResult:
    """Write the KITTI dataset at `root` as COCO (`images/`, `annotations.json`) or YOLO
    (`images/`, `labels/`, `data.yaml`) under `output_dir`. `classes` orders the class ids (default:
    the classes found, sorted); objects of other classes are left out."""
    if format not in FORMATS:
        raise SpecError(f"--format {format!r} is not one of {', '.join(FORMATS)}; pick one.")
    root, out = Path(root), Path(output_dir)
    image_dir, label_dir = root / image_dir_name, root / label_dir_name
    if not image_dir.is_dir() or not label_dir.is_dir():
        raise DataError(f"{root}: expected KITTI folders {image_dir_name}/ and {label_dir_name}/; "
                        "fix the path or pass --image_dir_name/--label_dir_name.")
    refuse_existing([out] if out.exists() and any(out.iterdir()) else [], overwrite, "export folder")
    found = images.find_images(image_dir)
    frames = []
    for label in sorted(label_dir.glob("*.txt")):
        if label.stem not in found:
            raise DataError(f"{label}: label file has no image in {image_dir}; add it or remove "
                            "the label (`tlt dataset-validate` lists every problem).")
        frames.append((found[label.stem], kitti.read_labels(label)))
    names = [c.lower() for c in classes] if classes else sorted(
        {o.type.lower() for _, objs in frames for o in objs} - {kitti.DONTCARE})
    if not names:
        raise DataError(f"{label_dir}: no labelled objects to export; check the dataset.")

    tmp = out.with_name(f".tmp-{out.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    sized = []
    with bar(total=len(frames), desc="dataset-export", unit="img", enabled=progress) as pbar:
        for image, objects in frames:
            shutil.copyfile(image, tmp / "images" / image.name)
            width, height = images.image_size(image)
            sized.append((image, width, height, objects))
            if format == "yolo":
                index_of = {n: i for i, n in enumerate(names)}
                yolo.write_labels(tmp / "labels" / f"{image.stem}.txt", objects, width, height,
                                  index_of)
            pbar.update(1)
    if format == "coco":
        document = coco.coco_document([(i.name, w, h, o) for i, w, h, o in sized], names)
        coco.write_coco(tmp / COCO_ANNOTATIONS, document)
        count = len(document["annotations"])
    else:
        quoted = ", ".join(f'"{n}"' for n in names)
        (tmp / YOLO_NAMES).write_text(f"path: .\ntrain: images\nval: images\nnc: {len(names)}\n"
                                      f"names: [{quoted}]\n", encoding="utf-8")
        count = sum(1 for *_, objs in sized for o in objs if o.type.lower() in names)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return ExportResult(str(out), format, names, len(sized), count)
