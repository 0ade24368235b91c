"""Benchmark: the detection loader's decoded + augmented images/s against a bare decode loop.

Both read the same TFRecords (from bench/convert.py's data, 960x544 JPEG) in one run:
(a) a bare tf.data loop of parse + `tf.io.decode_image`, with the same parallelism;
(b) `detection_dataset` at 960x544, batch 16, with TAO-like spatial and colour augmentation.
Goal: (b) >= 0.7 x (a).

    python bench/input_pipeline.py [--batches 60] [--size 960x544]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from jupyter_tlt.data import tfrecord
from jupyter_tlt.data.augment import Augmentation
from jupyter_tlt.data.loader import detection_dataset, record_files
from jupyter_tlt.tf_import import tensorflow

HERE = Path(__file__).resolve().parent
CLASSES = ["car", "pedestrian", "cyclist", "road_sign"]
AUGMENTATION = Augmentation(hflip_probability=0.5, zoom_min=0.8, zoom_max=1.2, translate_max_x=16,
                            translate_max_y=16, hue_rotation_max=25.0, saturation_shift_max=0.2,
                            contrast_scale_max=0.1, contrast_center=0.5, color_shift_stddev=0.02,
                            min_bbox_width=2, min_bbox_height=2)


def rate(ds, images_per_element: int, elements: int) -> float:
    it = iter(ds)
    for _ in range(3):  # warm up: thread pools, autotuning
        next(it)
    t = time.perf_counter()
    for _ in range(elements):
        next(it)
    return images_per_element * elements / (time.perf_counter() - t)


def bare_decode(files):
    tf = tensorflow()
    feature = {tfrecord.FRAME_ENCODED: tf.io.FixedLenFeature([], tf.string)}

    def decode(record):
        ex = tf.io.parse_single_example(record, feature)
        return tf.io.decode_image(ex[tfrecord.FRAME_ENCODED], channels=3, expand_animations=False)

    ds = tf.data.TFRecordDataset(files).repeat()
    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", default=str(HERE / "results" / "convert" / "tfrecords" / "kitti-fold-*"))
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--size", default="960x544", help="model input WxH")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    files = record_files(args.records)

    bare = rate(bare_decode(files), 1, args.batches * args.batch_size)
    ours = rate(detection_dataset(files, output_size=(height, width), class_names=CLASSES,
                                  batch_size=args.batch_size, augmentation=AUGMENTATION,
                                  repeat=True), args.batch_size, args.batches)
    plain = rate(detection_dataset(files, output_size=(height, width), class_names=CLASSES,
                                   batch_size=args.batch_size, training=False, repeat=True),
                 args.batch_size, args.batches)
    print(f"records: {len(files)} shards; model input {width}x{height}, batch {args.batch_size}")
    print(f"bare tf.io.decode_image loop:        {bare:8.1f} images/s")
    print(f"loader, decode + augment:            {ours:8.1f} images/s  ratio {ours / bare:.2f} (goal >= 0.7)")
    print(f"loader, decode + resize (no augment): {plain:7.1f} images/s  ratio {plain / bare:.2f}")


if __name__ == "__main__":
    main()
