"""Benchmark: `dataset-convert` from COCO and YOLO sources against KITTI, on the same images.

Generates (once, cached) 2000 synthetic images at 960x544 in KITTI layout, writes them as COCO and
YOLO with `dataset-export`, then converts each source to TFRecords in turn (interleaved, warm page
cache, median of the repeats). Goal: COCO and YOLO at >= 0.9 of KITTI's images/s.

    python bench/convert_formats.py [--images 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.export_labels import dataset_export

HERE = Path(__file__).resolve().parent
CLASSES = ("car", "pedestrian", "cyclist", "road_sign")
MAPPING = "".join(f'target_class_mapping {{ key: "{c}" value: "{c}" }}\n' for c in CLASSES)
SPECS = {
    "kitti": 'kitti_config {{ root_directory_path: "{root}/kitti" image_dir_name: "image_2" '
             'label_dir_name: "label_2" image_extension: ".jpg" val_split: 14 num_shards: 10 }}\n',
    "coco": 'coco_config {{ root_directory_path: "{root}/coco" img_dir_names: ["images"] '
            'annotation_files: ["annotations.json"] num_partitions: 1 num_shards: [20] }}\n',
    "yolo": 'yolo_config {{ root_directory_path: "{root}/yolo" class_names_file: "data.yaml" '
            'val_split: 14 num_shards: 10 }}\n',
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", default=str(HERE / "results" / "convert_formats"))
    args = ap.parse_args()

    root = Path(args.work) / f"n{args.images}"
    if not (root / "kitti" / "generate.json").exists():
        from jupyter_tlt.data.synthetic import generate  # here: workers re-import this script

        generate(root / "kitti", args.images, width=960, height=544, domain="source", seed=1,
                 overwrite=True)
    for fmt in ("coco", "yolo"):
        if not (root / fmt / "images").is_dir():
            dataset_export(root / "kitti", root / fmt, fmt, classes=list(CLASSES), overwrite=True)

    times: dict[str, list[float]] = {name: [] for name in SPECS}
    for _ in range(args.repeats):
        for name, spec in SPECS.items():
            start = time.perf_counter()
            result = dataset_convert(spec.format(root=root) + MAPPING, root / "tfrecords" / name,
                                     overwrite=True, progress=False)
            times[name].append(time.perf_counter() - start)
            assert sum(result.frames_per_fold) >= args.images
    rate = {name: args.images / statistics.median(t) for name, t in times.items()}
    print(f"images: {args.images} at 960x544, median of {args.repeats} runs, {os.cpu_count()} CPUs, "
          "warm page cache")
    for name in SPECS:
        print(f"  {name:5s} source: {rate[name]:8.1f} images/s   ratio to KITTI: "
              f"{rate[name] / rate['kitti']:.2f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
