"""The TFRecord layout written by `dataset-convert`: TAO's KITTI feature keys plus the image bytes.

Keys follow TAO's KITTI converter, so records are interchangeable with TAO tooling; `frame/encoded`
holds the original image file bytes so training never reads the image files again.

Records are `tf.train.Example` messages encoded here without TensorFlow (the wire format is small
and fixed; jupyter_tlt/spec/protos/example.proto describes it and the tests parse our bytes with
both it and TensorFlow). Features are written in key order, as protobuf's deterministic
serialization orders a map, so the same frame always gives the same bytes.
"""

from __future__ import annotations

import sys
from array import array
from operator import attrgetter
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

_FLOAT_FIELDS = {  # feature key: KittiObject attribute
    TRUNCATION: "truncated", ALPHA: "alpha", X1: "x1", Y1: "y1", X2: "x2", Y2: "y2",
    WORLD["h"]: "height", WORLD["w"]: "width", WORLD["l"]: "length",
    WORLD["x"]: "x", WORLD["y"]: "y", WORLD["z"]: "z", ROTATION_Y: "rotation_y",
}
_float_values = attrgetter(*_FLOAT_FIELDS.values())  # one C call gives an object's 13 floats


# --- protobuf wire format ---------------------------------------------------------------------
# Example{Features features = 1}; Features{map<string, Feature> feature = 1} (each entry a message
# {string key = 1; Feature value = 2}); Feature{oneof: BytesList bytes_list = 1, FloatList
# float_list = 2, Int64List int64_list = 3}; each list holds `value = 1`, packed for numbers.
# Every field here is length-delimited (wire type 2): tag byte (field << 3 | 2), varint length, bytes.

def _varint(n: int) -> bytes:
    """Base-128 varint; negative int64 values take ten bytes (two's complement), as in protobuf."""
    n &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Varints of 0 to 16383 (one or two bytes), the lengths and values nearly every field has.
_SMALL = [bytes((i,)) for i in range(0x80)] + [bytes(((i & 0x7F) | 0x80, i >> 7))
                                               for i in range(0x80, 0x4000)]


def _len(n: int) -> bytes:
    return _SMALL[n] if n < 0x4000 else _varint(n)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + _len(len(payload)) + payload


def _bytes_feature(values: Sequence[bytes]) -> bytes:
    return _field(b"\x0a", b"".join([b"\x0a" + _len(len(v)) + v for v in values]))


def _int64_feature(values: Sequence[int]) -> bytes:
    if not values:
        return b"\x1a\x00"
    packed = b"".join([_SMALL[v] if 0 <= v < 0x4000 else _varint(v) for v in values])
    return _field(b"\x1a", _field(b"\x0a", packed))


_KEY = {k: _field(b"\x0a", k.encode()) for k in
        (FRAME_ID, FRAME_HEIGHT, FRAME_WIDTH, FRAME_ENCODED, OBJECT_CLASS, OCCLUSION, *_FLOAT_FIELDS)}
_ORDER = sorted(_KEY)  # protobuf's deterministic map order: the image entry comes first
assert _ORDER[0] == FRAME_ENCODED  # example_parts puts the image entry first
_LITTLE_ENDIAN = sys.byteorder == "little"


def _entry(key: str, feature: bytes) -> bytes:
    return _field(b"\x0a", _KEY[key] + _field(b"\x12", feature))


def _float_heads(n: int) -> dict[str, bytes]:
    """Per float key, the bytes of its map entry that precede n packed float32 values (for n = 0,
    the whole entry: an empty FloatList). They depend only on n, so they are computed once per n."""
    if n == 0:
        return {key: _entry(key, b"\x12\x00") for key in _FLOAT_FIELDS}
    values_head = b"\x0a" + _len(4 * n)  # FloatList.value, packed
    feature_head = b"\x12" + _len(len(values_head) + 4 * n)  # Feature.float_list
    feature_size = len(feature_head) + len(values_head) + 4 * n
    heads = {}
    for key in _FLOAT_FIELDS:
        entry_head = _KEY[key] + b"\x12" + _len(feature_size)  # MapEntry.key, MapEntry.value
        heads[key] = (b"\x0a" + _len(len(entry_head) + feature_size) + entry_head + feature_head
                      + values_head)
    return heads


_FLOAT_HEADS: dict[int, dict[str, bytes]] = {}


def _float32(values: Sequence[float]) -> bytes:
    packed = array("f", values)  # float32 as protobuf converts: out of range becomes +-inf
    if not _LITTLE_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def example_parts(frame_id: str, width: int, height: int, objects: Sequence[KittiObject],
                  encoded: bytes) -> list[bytes]:
    """The serialized `tf.train.Example` of one frame as pieces whose concatenation is
    `encode_example(...)`: the image bytes are one piece, uncopied, so a writer can stream them."""
    n = len(objects)
    heads = _FLOAT_HEADS.get(n)
    if heads is None:
        heads = _FLOAT_HEADS[n] = _float_heads(n)
    if n:
        columns = zip(*map(_float_values, objects))  # one tuple of n values per float feature
        entries = {key: heads[key] + _float32(col) for key, col in zip(_FLOAT_FIELDS, columns)}
    else:
        entries = dict(heads)
    entries[FRAME_ID] = _entry(FRAME_ID, _bytes_feature([frame_id.encode()]))
    entries[FRAME_HEIGHT] = _entry(FRAME_HEIGHT, _int64_feature([height]))
    entries[FRAME_WIDTH] = _entry(FRAME_WIDTH, _int64_feature([width]))
    entries[OBJECT_CLASS] = _entry(OBJECT_CLASS, _bytes_feature([o.type.lower().encode()
                                                                 for o in objects]))
    entries[OCCLUSION] = _entry(OCCLUSION, _int64_feature([o.occluded for o in objects]))
    rest = b"".join([entries[key] for key in _ORDER[1:]])
    # The image entry: key, then Feature{bytes_list{value: encoded}}, every length up front.
    m = len(encoded)
    value = b"\x0a" + _len(m)
    bytes_list = b"\x0a" + _len(len(value) + m)
    feature = b"\x12" + _len(len(bytes_list) + len(value) + m)
    body = _KEY[FRAME_ENCODED] + feature + bytes_list + value
    image_head = b"\x0a" + _len(len(body) + m) + body
    size = len(image_head) + m + len(rest)
    return [b"\x0a" + _len(size) + image_head, encoded, rest]  # Example.features, then entries


def encode_example(frame_id: str, width: int, height: int, objects: Sequence[KittiObject],
                   encoded: bytes) -> bytes:
    """Serialize one frame and its objects as a `tf.train.Example`; class names are lower-cased."""
    return b"".join(example_parts(frame_id, width, height, objects, encoded))


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
