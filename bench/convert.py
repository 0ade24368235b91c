"""Benchmark: `dataset-convert` throughput against a plain read of the same image and label bytes.

Generates (once, cached) 2000 synthetic images at 960x544, then in one run times
(a) reading every image and label file's bytes, and (b) converting them to TFRecords.
Goal: ratio (b)/(a) in images/s >= 0.8.

    python bench/convert.py [--images 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.synthetic import generate

HERE = Path(__file__).resolve().parent
SPEC = """
kitti_config {{
  root_directory_path: "{root}"
  image_dir_name: "image_2"
  label_dir_name: "label_2"
  image_extension: ".jpg"
  partition_mode: "random"
  num_partitions: 2
  val_split: 14
  num_shards: 10
}}
image_directory_path: "{root}"
target_class_mapping {{ key: "car" value: "car" }}
target_class_mapping {{ key: "pedestrian" value: "pedestrian" }}
target_class_mapping {{ key: "cyclist" value: "cyclist" }}
target_class_mapping {{ key: "road_sign" value: "road_sign" }}
"""


def plain_read(root: Path) -> int:
    n = 0
    for path in sorted((root / "image_2").iterdir()):
        path.read_bytes()
        (root / "label_2" / (path.stem + ".txt")).read_bytes()
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", default=str(HERE / "results" / "convert"))
    args = ap.parse_args()

    root = Path(args.work) / f"kitti_{args.images}"
    if not (root / "generate.json").exists():
        generate(root, args.images, width=960, height=544, domain="source", seed=1, overwrite=True)
    spec = SPEC.format(root=root)
    out = Path(args.work) / "tfrecords" / "kitti"

    plain_read(root)  # warm the page cache for both contenders
    read_times, convert_times = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        n = plain_read(root)
        read_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        dataset_convert(spec, out, overwrite=True, progress=False)
        convert_times.append(time.perf_counter() - t)

    read_rate = n / statistics.median(read_times)
    convert_rate = n / statistics.median(convert_times)
    size = sum(p.stat().st_size for p in (root / "image_2").iterdir()) / 2**20
    print(f"images: {n} at 960x544 ({size:.0f} MiB of JPEG), median of {args.repeats} runs")
    print(f"plain read of image + label bytes: {read_rate:8.1f} images/s")
    print(f"dataset-convert to TFRecords:      {convert_rate:8.1f} images/s")
    print(f"ratio convert / read: {convert_rate / read_rate:.2f}  (goal >= 0.8)")


if __name__ == "__main__":
    main()
