"""Data steps: `generate`, `dataset-validate`, `dataset-convert`, `dataset-export`."""

from __future__ import annotations

import argparse

from ..errors import SpecError
from . import Step


def _generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output_dir", required=True, help="folder to write (KITTI layout, or class folders)")
    p.add_argument("-n", "--num_images", type=int, default=100, help="number of images (default 100)")
    p.add_argument("--task", choices=["detection", "classification"], default="detection")
    p.add_argument("--domain", default="source", help="source or target scene domain (default source)")
    p.add_argument("--width", type=int, default=960, help="image width in pixels (default 960)")
    p.add_argument("--height", type=int, default=544, help="image height in pixels (default 544)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same images (default 0)")
    p.add_argument("--image_format", choices=["jpg", "png"], default="jpg")
    p.add_argument("--crop_size", type=int, default=64, help="classification crop size (default 64)")
    p.add_argument("--max_distance", type=float, default=None, metavar="METRES",
                   help="detection: place objects no farther than this (default: up to 50-75 m), "
                   "so that small frames still hold objects of KITTI's moderate size")
    p.add_argument("-j", "--workers", type=int, default=None, help="worker processes (default: all cores)")
    _common(p)


def _generate(args):
    from ..data.synthetic import generate

    return generate(args.output_dir, args.num_images, width=args.width, height=args.height,
                    domain=args.domain, seed=args.seed, task=args.task,
                    image_format=args.image_format, workers=args.workers,
                    overwrite=args.overwrite, crop_size=args.crop_size, progress=not args.quiet,
                    max_distance=args.max_distance)


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("root", nargs="?", help="KITTI dataset root holding image_2/ and label_2/ "
                   "(COCO and YOLO datasets are named by the spec's coco_config or yolo_config)")
    p.add_argument("-d", "--dataset_export_spec", help="conversion spec whose target_class_mapping "
                   "the class names are checked against, or whose coco_config/yolo_config is checked")
    p.add_argument("--image_dir_name", default=None, help="image folder under root (default image_2)")
    p.add_argument("--label_dir_name", default=None, help="label folder under root (default label_2)")
    p.add_argument("--no_image_check", action="store_true", help="skip decoding every image (faster)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _validate(args):
    from ..data.validate import validate_dataset

    mapping, image_dir, label_dir = None, args.image_dir_name, args.label_dir_name
    if args.dataset_export_spec:
        from ..data.validate_sources import validate_spec_source
        from ..spec import load_conversion_spec

        spec = load_conversion_spec(args.dataset_export_spec)
        report = validate_spec_source(spec, check_images=not args.no_image_check)
        if report is not None:
            return report
        mapping = dict(spec.target_class_mapping) or None
        image_dir = image_dir or spec.kitti_config.image_dir_name or None
        label_dir = label_dir or spec.kitti_config.label_dir_name or None
    if args.root is None:
        raise SpecError("dataset-validate: give the KITTI dataset root, or -d a conversion spec "
                        "with coco_config or yolo_config.")
    return validate_dataset(args.root, image_dir_name=image_dir or "image_2",
                            label_dir_name=label_dir or "label_2", class_mapping=mapping,
                            check_images=not args.no_image_check, progress=not args.quiet)


def _convert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--dataset_export_spec", required=True, help="conversion spec (kitti_config)")
    p.add_argument("-o", "--output_filename", required=True,
                   help="output prefix; shards are named <prefix>-fold-NNN-of-NNN-shard-NNNNN-of-NNNNN")
    p.add_argument("-f", "--validation_fold", type=int, default=0, help="validation fold (default 0)")
    p.add_argument("-v", "--verbose", action="store_true", help="list the shards written")
    p.add_argument("-j", "--workers", type=int, default=None, help="worker processes (default: one per core)")
    _common(p)


def _convert(args):
    from ..data.convert import dataset_convert

    return dataset_convert(args.dataset_export_spec, args.output_filename,
                           validation_fold=args.validation_fold, overwrite=args.overwrite,
                           verbose=args.verbose, workers=args.workers, progress=not args.quiet)


def _export_args(p: argparse.ArgumentParser) -> None:
    from ..data.export_labels import FORMATS

    p.add_argument("root", help="KITTI dataset root holding image_2/ and label_2/")
    p.add_argument("-o", "--output_dir", required=True, help="folder to write the dataset into")
    p.add_argument("--format", required=True, choices=FORMATS, help="coco or yolo")
    p.add_argument("--image_dir_name", default="image_2", help="image folder under root (default image_2)")
    p.add_argument("--label_dir_name", default="label_2", help="label folder under root (default label_2)")
    p.add_argument("--classes", nargs="+", default=None,
                   help="class names in id order (default: every class found, sorted)")
    _common(p)


def _export(args):
    from ..data.export_labels import dataset_export

    return dataset_export(args.root, args.output_dir, args.format, image_dir_name=args.image_dir_name,
                          label_dir_name=args.label_dir_name, classes=args.classes,
                          overwrite=args.overwrite, progress=not args.quiet)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


STEPS = [
    Step("generate", "Generate a synthetic street-scene dataset (source or target domain).",
         _generate_args, _generate),
    Step("dataset-validate", "Check a KITTI, COCO or YOLO dataset and print its class statistics.",
         _validate_args, _validate, aliases=("dataset_validate",)),
    Step("dataset-convert", "Convert a KITTI, COCO or YOLO dataset to sharded TFRecords.",
         _convert_args, _convert, aliases=("dataset_convert",)),
    Step("dataset-export", "Write a KITTI dataset as COCO or YOLO for other tools.",
         _export_args, _export, aliases=("dataset_export",)),
]
