"""Classification data: one folder per class (the seed's `train_dataset_path` / `val_dataset_path`).

Example:
    >>> ds, names = folder_dataset("data/train", image_size=(64, 64), batch_size=32, training=True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..errors import DataError
from ..tf_import import tensorflow
from .images import IMAGE_EXTENSIONS


def list_classes(directory: str | os.PathLike) -> tuple[list[str], list[Path], list[int]]:
    """Class names (sorted sub-folder names), image files and their class indices."""
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"{root}: classification data folder not found; it must hold one sub-folder "
                        "of images per class (train_config.train_dataset_path / val_dataset_path).")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for index, name in enumerate(names):
        for f in sorted((root / name).iterdir()):
            if f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith("."):
                files.append(f)
                labels.append(index)
    if not files:
        raise DataError(f"{root}: no images found in class sub-folders; expected "
                        f"{root}/<class>/<image>{IMAGE_EXTENSIONS[0]}.")
    return names, files, labels


def folder_dataset(directory: str | os.PathLike, *, image_size: tuple[int, int], batch_size: int,
                   training: bool, class_names: Sequence[str] | None = None, seed: int = 42,
                   hflip: bool = False, color: bool = False, repeat: bool = False):
    """(images (B,H,W,3) float32 in [0,1], labels (B,) int32) batches, and the class names.

    With `class_names` given (e.g. validation must use the training classes), folders are mapped
    to those indices and an unknown folder is an error naming it.
    """
    tf = tensorflow()
    names, files, labels = list_classes(directory)
    if class_names is not None:
        unknown = [n for n in names if n not in class_names]
        if unknown:
            raise DataError(f"{Path(directory) / unknown[0]}: class folder '{unknown[0]}' is not one "
                            f"of the model's classes {list(class_names)}; rename or remove it.")
        labels = [list(class_names).index(names[i]) for i in labels]
        names = list(class_names)
    height, width = image_size
    ds = tf.data.Dataset.from_tensor_slices(([str(f) for f in files], labels))
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()

    @tf.autograph.experimental.do_not_convert
    def load(index, item):
        path, label = item
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(image, [height, width]) / 255.0
        if training:
            seed_pair = tf.stack([tf.cast(seed, tf.int64), index])
            if hflip:
                image = tf.image.stateless_random_flip_left_right(image, seed_pair)
            if color:
                image = tf.image.stateless_random_brightness(image, 0.1, seed_pair + 1)
                image = tf.image.stateless_random_contrast(image, 0.8, 1.2, seed_pair + 2)
                image = tf.clip_by_value(image, 0.0, 1.0)
        image.set_shape([height, width, 3])
        return image, tf.cast(label, tf.int32)

    ds = ds.enumerate().map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=False).prefetch(tf.data.AUTOTUNE), names
