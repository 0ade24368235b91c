"""tf.data input pipeline over the TFRecords written by `dataset-convert`.

Example:
    >>> ds = detection_dataset("data/tfrecords/kitti-fold-*", output_size=(160, 256),
    ...                        class_names=["car", "pedestrian"], batch_size=16)
    >>> images, labels = next(iter(ds))   # images: (16, 160, 256, 3) float32 in [0, 1]

Each element is `(images, labels)`; `labels` holds per-object tensors padded with class -1:
`boxes` (B, N, 4) x1,y1,x2,y2 in model-input pixels, `classes` (B, N), `truncation`, `occlusion`,
plus `frame_id` and `scale` (model-input pixels per original pixel, to map detections back).
"""

from __future__ import annotations

import glob
import os
import re
from typing import Mapping, Sequence

from ..errors import DataError, SpecError
from ..tf_import import tensorflow
from . import augment, tfrecord
from .augment import Augmentation

JPEG_RATIOS = (1, 2, 4, 8)  # JPEG decoders scale down by these factors in the DCT domain, for free


def record_files(patterns: str | Sequence[str], folds: Sequence[int] | None = None) -> list[str]:
    """Expand glob patterns to shard files, optionally keeping only the given folds."""
    patterns = [patterns] if isinstance(patterns, (str, os.PathLike)) else list(patterns)
    files = sorted({f for p in patterns for f in glob.glob(str(p)) if not _is_temporary(f)})
    if folds is not None:
        wanted = {int(f) for f in folds}
        files = [f for f in files if _fold_of(f) in wanted]
    if not files:
        raise DataError(f"{', '.join(map(str, patterns))}: no TFRecord files match"
                        + (f" for folds {sorted(folds)}" if folds is not None else "")
                        + "; run `tlt dataset-convert` first or fix dataset_config.data_sources.")
    return files


def _is_temporary(path: str) -> bool:
    return os.path.basename(path).startswith(".tmp-")


def _fold_of(path: str) -> int | None:
    m = re.search(r"-fold-(\d+)-of-\d+", os.path.basename(path))
    return int(m.group(1)) if m else None


def detection_dataset(tfrecords: str | Sequence[str], *, output_size: tuple[int, int],
                      class_names: Sequence[str], class_mapping: Mapping[str, str] | None = None,
                      batch_size: int = 16, training: bool = True,
                      augmentation: Augmentation = Augmentation(), seed: int = 42,
                      folds: Sequence[int] | None = None, shuffle_buffer: int = 256,
                      repeat: bool = False, drop_remainder: bool | None = None):
    """Decode, resize (keeping the aspect ratio, padding right and bottom), augment and batch.

    `class_mapping` maps (lower-cased) data classes to entries of `class_names`; objects of other
    classes are dropped. Deterministic for a given `seed`; augmentation only when `training`.
    """
    tf = tensorflow()
    out_h, out_w = (int(v) for v in output_size)
    files = record_files(tfrecords, folds)
    mapping = {k.lower(): v for k, v in (class_mapping or {n: n for n in class_names}).items()}
    index_of = {name: i for i, name in enumerate(class_names)}
    keys = sorted(mapping)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys or [""], tf.string),
            tf.constant([index_of.get(mapping[k], -1) for k in keys] or [-1], tf.int32)),
        default_value=-1)
    features = tfrecord.parse_features()
    color = training and augmentation.color
    seed_t = tf.constant(seed, tf.int64)

    @tf.autograph.experimental.do_not_convert
    def parse(index, record):
        ex = tf.io.parse_single_example(record, features)
        dense = {k: tf.sparse.to_dense(v) if isinstance(v, tf.SparseTensor) else v for k, v in ex.items()}
        seed_pair = tf.stack([tf.cast(seed, tf.int64), index])
        height, width = dense[tfrecord.FRAME_HEIGHT], dense[tfrecord.FRAME_WIDTH]
        zoom, tx, ty, flip = augment.sample_affine(seed_pair, augmentation, training)
        scale = augment.letterbox_scale(height, width, out_h, out_w) * zoom
        image = _decode(dense[tfrecord.FRAME_ENCODED], scale)
        image, sx, sy, tx, ty = augment.place_image(image, height, width, scale, tx, ty, flip, out_h, out_w)
        image.set_shape([out_h, out_w, 3])
        boxes = tf.stack([dense[k] for k in (tfrecord.X1, tfrecord.Y1, tfrecord.X2, tfrecord.Y2)], axis=-1)
        boxes = augment.warp_boxes(tf.reshape(boxes, [-1, 4]), sx, sy, tx, ty, flip, out_h, out_w)
        classes = table.lookup(dense[tfrecord.OBJECT_CLASS])
        keep = ((classes >= 0)
                & (boxes[:, 2] - boxes[:, 0] >= augmentation.min_bbox_width)
                & (boxes[:, 3] - boxes[:, 1] >= augmentation.min_bbox_height))
        labels = {
            "boxes": tf.boolean_mask(boxes, keep),
            "classes": tf.boolean_mask(classes, keep),
            "truncation": tf.boolean_mask(dense[tfrecord.TRUNCATION], keep),
            "occlusion": tf.cast(tf.boolean_mask(dense[tfrecord.OCCLUSION], keep), tf.int32),
            "frame_id": dense[tfrecord.FRAME_ID],
            "scale": sx,
        }
        if color:
            matrix, bias = augment.color_matrix(seed_pair + 7, augmentation)
            image = augment.apply_color(image[tf.newaxis], matrix[tf.newaxis], bias[tf.newaxis],
                                        input_scale=1.0 / 255.0)[0]
        else:
            image = image * (1.0 / 255.0)
        return image, labels

    def one_epoch(epoch):
        # The order is a function of (seed, epoch) alone, not of how many iterators were made
        # (Keras makes more than one under a distribution strategy) nor of where a run resumed:
        # stateless shuffles of the file list and of consecutive windows of records.
        names = tf.constant(files)
        if training:
            names = tf.random.experimental.stateless_shuffle(names, seed=tf.stack([seed_t, epoch]))
        ds = tf.data.Dataset.from_tensor_slices(names)
        # training interleaves shards for variety; evaluation reads them in order, frame by frame
        ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)) if training else 1,
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if training:
            ds = ds.batch(shuffle_buffer).enumerate().map(
                lambda i, window: tf.random.experimental.stateless_shuffle(
                    window, seed=tf.stack([seed_t, epoch * 1_000_003 + i]))).unbatch()
        return ds

    epochs = tf.data.Dataset.range(2**62 if repeat else 1)
    ds = epochs.flat_map(one_epoch)
    ds = ds.enumerate().map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    pads = {"boxes": 0.0, "classes": -1, "truncation": 0.0, "occlusion": -1, "frame_id": "",
            "scale": 0.0}
    ds = ds.padded_batch(batch_size, padding_values=(0.0, pads),
                         drop_remainder=training if drop_remainder is None else drop_remainder)
    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1  # parallel elements, not threads per element
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def image_files_dataset(files: Sequence[str], *, output_size: tuple[int, int], batch_size: int,
                        letterbox: bool = True):
    """Plain image files for inference, batched as `(images, {"scale": (B,), "index": (B,)})`:
    letterboxed like the detection loader, or (`letterbox=False`) resized like classification data."""
    tf = tensorflow()
    out_h, out_w = (int(v) for v in output_size)

    @tf.autograph.experimental.do_not_convert
    def load(index, path):
        data = tf.io.read_file(path)
        if not letterbox:
            image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
            resized = tf.image.resize(image, [out_h, out_w]) / 255.0
            resized.set_shape([out_h, out_w, 3])
            return resized, {"scale": tf.constant(1.0), "index": index}
        # decoded as the evaluation loader decodes a record's image (JPEGs at a reduced DCT size), so
        # that `tlt infer` and `tlt evaluate` feed the model the same pixels
        height, width = _image_shape(data)
        scale = augment.letterbox_scale(height, width, out_h, out_w)
        image = _decode(data, scale)
        zero = tf.constant(0.0)
        image, sx, _, _, _ = augment.place_image(image, height, width, scale, zero, zero,
                                                 tf.constant(False), out_h, out_w)
        image.set_shape([out_h, out_w, 3])
        return image / 255.0, {"scale": sx, "index": index}

    ds = tf.data.Dataset.from_tensor_slices([str(f) for f in files]).enumerate()
    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def split_files(spec, *, training: bool) -> list[str]:
    """The shard files of the training split (every fold but `validation_fold`, all of
    `data_sources` when a `validation_data_source` is named) or of the validation split."""
    from ..spec.defaults import value

    dc = spec.dataset_config
    sources = [s.tfrecords_path for s in dc.data_sources]
    if not sources:
        raise DataError("dataset_config.data_sources: the spec names no tfrecords_path; add "
                        'data_sources { tfrecords_path: "<out>-fold-*" } pointing at dataset-convert output.')
    if dc.HasField("validation_data_source"):
        return record_files(sources if training else [dc.validation_data_source.tfrecords_path])
    val_fold = value(dc, "validation_fold")
    files = record_files(sources)
    counts = sorted({int(m.group(1)) for f in files if (m := re.search(r"-fold-\d+-of-(\d+)", os.path.basename(f)))})
    if counts and val_fold >= counts[-1]:
        raise SpecError(f"dataset_config.validation_fold {val_fold} is beyond the {counts[-1]} folds of "
                        f"{', '.join(sources)}; use 0 to {counts[-1] - 1}, or convert with more partitions")
    if training:
        return [f for f in files if _fold_of(f) != val_fold]
    return [f for f in files if _fold_of(f) == val_fold]


def detection_dataset_from_spec(spec, *, training: bool, repeat: bool = False,
                                batch_size: int | None = None,
                                class_names: Sequence[str] | None = None,
                                use_training_set: bool = False):
    """The training or validation pipeline an experiment spec describes (TAO's `dataset_config`).

    Training reads every fold of `data_sources` but `validation_fold`; validation reads that fold,
    or `validation_data_source` when the spec names one (`use_training_set`: the training split,
    un-augmented, for evaluation on it).
    """
    from ..spec import views

    files = split_files(spec, training=training or use_training_set)
    if training:
        _check_mapping_occurs(files, views.class_mapping(spec))
    _, height, width = views.input_shape(spec)
    return detection_dataset(
        files, output_size=(height, width),
        class_names=list(class_names) if class_names else spec_class_names(spec),
        class_mapping=views.class_mapping(spec) or None,
        batch_size=batch_size or spec_batch_size(spec),
        training=training, augmentation=Augmentation.from_spec(spec),
        seed=views.random_seed(spec), repeat=repeat)


def _check_mapping_occurs(files: Sequence[str], mapping: Mapping[str, str]) -> None:
    """SpecError when none of dataset_config.target_class_mapping's classes occur in the training records:
    the model would learn nothing (TAO trained on, and showed 0 mAP at the end)."""
    from google.protobuf.message import DecodeError

    from .tfrecord_io import read_records

    if not mapping:
        return
    example_type = tensorflow().train.Example
    seen: set[str] = set()
    for path in files:
        for record in read_records(path):
            try:
                feature = example_type.FromString(record).features.feature.get(tfrecord.OBJECT_CLASS)
            except DecodeError:
                raise DataError(f"{path}: holds a record that is not a tf.train.Example; point "
                                "dataset_config.data_sources at tlt dataset-convert output") from None
            seen.update(v.decode("utf-8", "replace") for v in (feature.bytes_list.value if feature else ()))
            if seen & set(mapping):
                return
    raise SpecError(f"dataset_config.target_class_mapping names {sorted(mapping)}, none of which occur in the "
                    f"training records (their classes: {', '.join(sorted(seen)[:8]) or 'none'}); map the class "
                    "names the records hold")


def spec_class_names(spec) -> list[str]:
    """The model's output classes in order: cost_function_config's target classes when given,
    else the sorted targets of dataset_config.target_class_mapping."""
    from ..spec import views

    named = [t.name for t in spec.cost_function_config.target_classes]
    targets = sorted(set(views.class_mapping(spec).values()))
    if not named and not targets:
        raise DataError("the spec names no classes; add dataset_config.target_class_mapping "
                        '{ key: "car" value: "car" } blocks for the classes to learn.')
    return named or targets


def spec_batch_size(spec) -> int:
    from ..spec.defaults import value

    if spec.HasField("training_config"):
        return value(spec.training_config, "batch_size_per_gpu")
    return value(spec.train_config, "batch_size_per_gpu")


def _image_shape(encoded):
    """(height, width) of an encoded image: from the JPEG header without decoding, else by decoding."""
    tf = tensorflow()

    def other():
        return tf.shape(tf.io.decode_image(encoded, channels=3, dtype=tf.uint8, expand_animations=False))[:2]

    shape = tf.cond(tf.io.is_jpeg(encoded), lambda: tf.io.extract_jpeg_shape(encoded)[:2], other)
    return shape[0], shape[1]


def _decode(encoded, needed_scale):
    """Decode to uint8 RGB. JPEGs are decoded at the smallest 1/r size that still has at least
    `needed_scale` of the full resolution, which makes small model inputs much cheaper."""
    tf = tensorflow()
    inverse = 1.0 / tf.maximum(tf.cast(needed_scale, tf.float32), 1e-6)
    ratio_index = tf.reduce_sum(tf.cast(tf.constant(JPEG_RATIOS[1:], tf.float32) <= inverse, tf.int32))

    def jpeg(ratio):
        return lambda: tf.io.decode_jpeg(encoded, channels=3, ratio=ratio)

    def other():
        image = tf.io.decode_image(encoded, channels=3, dtype=tf.uint8, expand_animations=False)
        return tf.ensure_shape(image, [None, None, 3])

    branch = tf.where(tf.io.is_jpeg(encoded), ratio_index, len(JPEG_RATIOS))
    return tf.switch_case(branch, [jpeg(r) for r in JPEG_RATIOS] + [other])
