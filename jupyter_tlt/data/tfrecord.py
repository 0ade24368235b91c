"""The TFRecord layout written by `dataset-convert`: TAO's KITTI feature keys plus the image bytes.

Keys follow TAO's KITTI converter, so records are interchangeable with TAO tooling; `frame/encoded`
holds the original image file bytes so training never reads the image files again.
"""

from __future__ import annotations

from typing import Sequence

from ..tf_import import tensorflow
from .kitti import KittiObject

FRAME_ID = "frame/id"
FRAME_HEIGHT = "frame/height"
FRAME_WIDTH = "frame/width"
FRAME_ENCODED = "frame/encoded"
OBJECT_CLASS = "target/object_class"
TRUNCATION = "target/truncation"
OCCLUSION = "target/occlusion"
ALPHA = "target/observation_angle"
X1, Y1, X2, Y2 = (f"target/coordinates_{c}" for c in ("x1", "y1", "x2", "y2"))
WORLD = {name: f"target/world_bbox_{name}" for name in ("h", "w", "l", "x", "y", "z")}
ROTATION_Y = "target/world_bbox_rot_y"

_FLOAT_FIELDS = {
    TRUNCATION: lambda o: o.truncated,
    ALPHA: lambda o: o.alpha,
    X1: lambda o: o.x1, Y1: lambda o: o.y1, X2: lambda o: o.x2, Y2: lambda o: o.y2,
    WORLD["h"]: lambda o: o.height, WORLD["w"]: lambda o: o.width, WORLD["l"]: lambda o: o.length,
    WORLD["x"]: lambda o: o.x, WORLD["y"]: lambda o: o.y, WORLD["z"]: lambda o: o.z,
    ROTATION_Y: lambda o: o.rotation_y,
}


def encode_example(frame_id: str, width: int, height: int, objects: Sequence[KittiObject],
                   encoded: bytes) -> bytes:
    """Serialize one frame and its objects as a `tf.train.Example`; class names are lower-cased."""
    tf = tensorflow()
    train = tf.train

    def floats(values):
        return train.Feature(float_list=train.FloatList(value=values))

    def ints(values):
        return train.Feature(int64_list=train.Int64List(value=values))

    def strings(values):
        return train.Feature(bytes_list=train.BytesList(value=values))

    feature = {
        FRAME_ID: strings([frame_id.encode()]),
        FRAME_HEIGHT: ints([height]),
        FRAME_WIDTH: ints([width]),
        FRAME_ENCODED: strings([encoded]),
        OBJECT_CLASS: strings([o.type.lower().encode() for o in objects]),
        OCCLUSION: ints([o.occluded for o in objects]),
    }
    for key, get in _FLOAT_FIELDS.items():
        feature[key] = floats([get(o) for o in objects])
    return train.Example(features=train.Features(feature=feature)).SerializeToString()


def parse_features():
    """The feature spec for `tf.io.parse_single_example` over records written by `encode_example`."""
    tf = tensorflow()
    fixed, var = tf.io.FixedLenFeature, tf.io.VarLenFeature
    spec = {
        FRAME_ID: fixed([], tf.string),
        FRAME_HEIGHT: fixed([], tf.int64),
        FRAME_WIDTH: fixed([], tf.int64),
        FRAME_ENCODED: fixed([], tf.string),
        OBJECT_CLASS: var(tf.string),
        OCCLUSION: var(tf.int64),
    }
    spec.update({key: var(tf.float32) for key in _FLOAT_FIELDS})
    return spec


def shard_name(output_filename: str, fold: int, num_folds: int, shard: int, num_shards: int) -> str:
    """TAO's shard naming: `<out>-fold-000-of-002-shard-00000-of-00010`."""
    return f"{output_filename}-fold-{fold:03d}-of-{num_folds:03d}-shard-{shard:05d}-of-{num_shards:05d}"
