"""`dataset-validate` for COCO and YOLO datasets: the same report, problems and class statistics as
for KITTI (jupyter_tlt/data/validate.py), read through the COCO and YOLO readers.

Problems name `file:line` for YOLO label files and `file: annotation <id>` for COCO files; the class
statistics of a COCO file give the annotation id where a class was first seen in place of a line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from ..errors import DataError
from . import coco, images, yolo
from .kitti import Problem
from .validate import CORRUPT_IMAGE, LABEL_WITHOUT_IMAGE, NO_DATA, Tally, ValidationReport


def _image_size(path: Path, check_images: bool, problems: list[Problem]) -> tuple[int, int] | None:
    try:
        return images.check_image(path) if check_images else images.image_size(path)
    except DataError as exc:
        problems.append(Problem("error", CORRUPT_IMAGE, str(path), None, str(exc)))
        return None


def _finish(report: ValidationReport, tally: Tally, problems: list[Problem],
            mapping: dict[str, str] | None) -> ValidationReport:
    problems += tally.class_problems(mapping)
    if not report.num_images:
        problems.append(Problem("error", NO_DATA, report.root, None,
                                f"{report.root}: no images found in {report.image_dir}; check the "
                                "root path and the folder names."))
    report.problems = [p for p in problems if p.severity == "error"] + \
                      [p for p in problems if p.severity == "warning"]
    return report


def validate_coco(root: str | os.PathLike, img_dir_names: list[str], annotation_files: list[str],
                  *, class_mapping: Mapping[str, str] | None = None,
                  check_images: bool = True) -> ValidationReport:
    """Check a COCO dataset (one image folder and annotation file per partition, as coco_config
    names them) and report every problem with per-class statistics."""
    root = Path(root)
    mapping = dict(class_mapping) if class_mapping is not None else None
    report = ValidationReport(str(root), ", ".join(str(root / d) for d in img_dir_names),
                              ", ".join(str(root / a) for a in annotation_files), class_mapping=mapping)
    tally, problems = Tally(report), []
    for img_dir, annotations in zip(img_dir_names, annotation_files):
        found, file_problems = coco.read_coco(root / annotations, root / img_dir)
        problems += file_problems
        report.num_images += len(found)
        report.num_labels += len(found)
        for image in found:
            size = _image_size(image.path, check_images, problems)
            if size and image.width and size != (image.width, image.height):
                problems.append(Problem(
                    "error", coco.BAD_BOX, str(root / annotations), None,
                    f"{root / annotations}: image {image.frame_id} is declared "
                    f"{image.width}x{image.height} but {image.path.name} is {size[0]}x{size[1]}; "
                    "fix the image entry's width and height."))
            tally.add(str(root / annotations), image.frame_id,
                      list(zip(image.annotation_ids, image.objects)), not image.objects)
    return _finish(report, tally, problems, mapping)


def validate_yolo(root: str | os.PathLike, class_names_file: str, *, image_dir_name: str = "images",
                  label_dir_name: str = "labels", class_mapping: Mapping[str, str] | None = None,
                  check_images: bool = True) -> ValidationReport:
    """Check a YOLO dataset (images/, labels/*.txt, a names file or data.yaml) and report every
    problem, line by line, with per-class statistics."""
    root = Path(root)
    image_dir, label_dir = root / image_dir_name, root / label_dir_name
    for d in (image_dir, label_dir):
        if not d.is_dir():
            raise DataError(f"{d}: not a directory; a YOLO dataset holds {image_dir_name}/ and "
                            f"{label_dir_name}/: fix the root path or the folder names.")
    names = yolo.read_class_names(root / class_names_file)
    mapping = dict(class_mapping) if class_mapping is not None else None
    report = ValidationReport(str(root), str(image_dir), str(label_dir), class_mapping=mapping)
    tally, problems = Tally(report), []
    found = images.find_images(image_dir)
    labels = {p.stem: p for p in label_dir.glob("*.txt")}
    report.num_images, report.num_labels = len(found), len(labels)
    for stem in sorted(set(labels) - set(found)):
        problems.append(Problem("error", LABEL_WITHOUT_IMAGE, str(labels[stem]), None,
                                f"{labels[stem]}: label file has no image {stem}.jpg/.jpeg/.png in "
                                f"{image_dir}; add the image or remove the label file."))
    for stem in sorted(found):
        size = _image_size(found[stem], check_images, problems)
        if size is None:
            continue
        objects, line_problems = yolo.read_labels_numbered(labels.get(stem), *size, names)
        problems += line_problems
        tally.add(str(labels.get(stem, label_dir / f"{stem}.txt")), stem, objects,
                  not objects and not line_problems)
    return _finish(report, tally, problems, mapping)


def validate_spec_source(spec, *, check_images: bool = True) -> ValidationReport | None:
    """Validate the COCO or YOLO source a conversion spec names; None for a KITTI spec."""
    mapping = dict(spec.target_class_mapping) or None
    if spec.HasField("coco_config"):
        cc = spec.coco_config
        return validate_coco(cc.root_directory_path, list(cc.img_dir_names),
                             list(cc.annotation_files), class_mapping=mapping,
                             check_images=check_images)
    if spec.HasField("yolo_config"):
        from ..spec.defaults import value

        yc = spec.yolo_config
        return validate_yolo(yc.root_directory_path, yc.class_names_file,
                             image_dir_name=value(yc, "image_dir_name"),
                             label_dir_name=value(yc, "label_dir_name"), class_mapping=mapping,
                             check_images=check_images)
    return None
