"""Benchmark: `dataset-convert` throughput against a plain read of the same image and label bytes.

Generates (once, cached) 2000 synthetic images at 960x544, then in one run times
(a) reading every image and label file's bytes, and (b) converting them to TFRecords.
Goal: ratio (b)/(a) in images/s >= 0.8.

Both are timed with a warm page cache (the files were just read: (a) measures memory copies) and,
when run as root with a writable /proc/sys/vm/drop_caches, with a cold one (caches dropped before
each timed run: (a) measures the disk, as a first conversion of a freshly copied dataset sees it).

    python bench/convert.py [--images 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from jupyter_tlt.data.convert import dataset_convert

HERE = Path(__file__).resolve().parent
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
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


def can_drop_caches() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and os.access(DROP_CACHES, os.W_OK)


def drop_caches() -> None:
    """Write dirty pages out, then evict clean page cache, dentries and inodes."""
    os.sync()
    DROP_CACHES.write_text("3\n")


def timed(fn, *, cold: bool) -> float:
    if cold:
        drop_caches()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(title: str, n: int, read_times: list[float], convert_times: list[float]) -> None:
    read_rate = n / statistics.median(read_times)
    convert_rate = n / statistics.median(convert_times)
    print(title)
    print(f"  plain read of image + label bytes: {read_rate:8.1f} images/s")
    print(f"  dataset-convert to TFRecords:      {convert_rate:8.1f} images/s")
    print(f"  ratio convert / read: {convert_rate / read_rate:.2f}  (goal >= 0.8)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", default=str(HERE / "results" / "convert"))
    args = ap.parse_args()

    root = Path(args.work) / f"kitti_{args.images}"
    if not (root / "generate.json").exists():
        # imported here: conversion worker processes re-import this script, and need no generator
        from jupyter_tlt.data.synthetic import generate

        generate(root, args.images, width=960, height=544, domain="source", seed=1, overwrite=True)
    spec = SPEC.format(root=root)
    out = Path(args.work) / "tfrecords" / "kitti"

    def convert():
        dataset_convert(spec, out, overwrite=True, progress=False)

    n = plain_read(root)  # warm the page cache for both contenders
    times: dict[bool, tuple[list[float], list[float]]] = {}
    for cold in (False, True) if can_drop_caches() else (False,):
        read_times, convert_times = times[cold] = ([], [])
        for _ in range(args.repeats):
            read_times.append(timed(lambda: plain_read(root), cold=cold))
            convert_times.append(timed(convert, cold=cold))

    size = sum(p.stat().st_size for p in (root / "image_2").iterdir()) / 2**20
    print(f"images: {n} at 960x544 ({size:.0f} MiB of JPEG), median of {args.repeats} runs, "
          f"{os.cpu_count()} CPUs")
    report("warm page cache (files just read):", n, *times[False])
    if True in times:
        report("cold page cache (caches dropped before each timed run):", n, *times[True])
    else:
        print("cold page cache: not measured (needs root and a writable /proc/sys/vm/drop_caches)")


if __name__ == "__main__":
    main()
