"""TFRecord files and tf.train.Example bytes written without TensorFlow, checked against TensorFlow."""

from __future__ import annotations

import random

import pytest

from jupyter_tlt import DataError
from jupyter_tlt.data import tfrecord
from jupyter_tlt.data.kitti import KittiObject
from jupyter_tlt.data.tfrecord_io import RecordWriter, frame_record, masked_crc32c, read_records
from jupyter_tlt.spec.protos import example_pb2
from jupyter_tlt.tf_import import tensorflow

RECORDS = [b"", b"x", b"hello world" * 20, bytes(range(256)) * 1000]


def write(path, records):
    with RecordWriter(path) as w:
        for r in records:
            w.write(r)
    return path


def test_masked_crc32c_known_values():
    # CRC32C("123456789") is the standard check value 0xE3069283; masking rotates and offsets it
    crc = 0xE3069283
    assert masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"") == 0xA282EAD8


def test_round_trip_and_parts(tmp_path):
    path = write(tmp_path / "a.tfrecord", RECORDS)
    assert list(read_records(path)) == RECORDS
    with RecordWriter(tmp_path / "b.tfrecord") as w:
        for r in RECORDS:
            w.write_parts([r[:3], r[3:7], r[7:]])
        assert w.count == len(RECORDS)
    assert (tmp_path / "b.tfrecord").read_bytes() == path.read_bytes()
    assert path.read_bytes() == b"".join(frame_record(r) for r in RECORDS)


def test_same_bytes_as_tensorflow_writer_and_tf_reads_ours(tmp_path):
    tf = tensorflow()
    ours = write(tmp_path / "ours.tfrecord", RECORDS)
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as w:
        for r in RECORDS:
            w.write(r)
    assert ours.read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()
    assert list(tf.data.TFRecordDataset(str(ours)).as_numpy_iterator()) == RECORDS


# the first record takes bytes 0-31: length 0-7, its CRC 8-11, 16 data bytes 12-27, data CRC 28-31
@pytest.mark.parametrize("where,message", [(3, "length CRC mismatch at byte 0"),
                                           (9, "length CRC mismatch at byte 0"),
                                           (12 + 5, "data CRC mismatch in the record at byte 0"),
                                           (29, "data CRC mismatch in the record at byte 0"),
                                           (32 + 2, "length CRC mismatch at byte 32"),
                                           (32 + 12 + 4, "data CRC mismatch in the record at byte 32")])
def test_crc_detects_a_flipped_byte(tmp_path, where, message):
    path = write(tmp_path / "r.tfrecord", [b"0123456789abcdef", b"second record"])
    assert path.stat().st_size == 32 + 16 + 13
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=f"r.tfrecord: corrupt TFRecord file \\({message}"):
        list(read_records(path))


def test_truncated_file(tmp_path):
    path = write(tmp_path / "r.tfrecord", [b"0123456789abcdef", b"second record"])
    path.write_bytes(path.read_bytes()[:-2])
    records = read_records(path)
    assert next(records) == b"0123456789abcdef"
    with pytest.raises(DataError, match="truncated TFRecord file"):
        next(records)


# --- tf.train.Example encoding ------------------------------------------------------------------

def obj(cls="Car", occluded=0, **kw):
    values = dict(truncated=0.25, alpha=-1.5, x1=10.0, y1=20.5, x2=50.25, y2=60.0, height=1.5,
                  width=1.6, length=3.9, x=-1.0, y=1.5, z=20.0, rotation_y=0.1)
    values.update(kw)
    return KittiObject(cls, occluded=occluded, **values)


def proto_example(frame_id, width, height, objects, encoded) -> example_pb2.Example:
    """The same Example built with protobuf from example.proto, the reference for our encoder."""
    ex = example_pb2.Example()
    f = ex.features.feature
    f[tfrecord.FRAME_ID].bytes_list.value.append(frame_id.encode())
    f[tfrecord.FRAME_HEIGHT].int64_list.value.append(height)
    f[tfrecord.FRAME_WIDTH].int64_list.value.append(width)
    f[tfrecord.FRAME_ENCODED].bytes_list.value.append(encoded)
    f[tfrecord.OBJECT_CLASS].bytes_list.value.extend(o.type.lower().encode() for o in objects)
    f[tfrecord.OCCLUSION].int64_list.value.extend(o.occluded for o in objects)
    for key, attr in tfrecord._FLOAT_FIELDS.items():
        f[key].float_list.value.extend(getattr(o, attr) for o in objects)
    return ex


def random_objects(rng, n):
    return [KittiObject(rng.choice(["Car", "pedestrian", "DontCare", "c" * 300]), rng.random(),
                        rng.choice([0, 1, 2, 3, -1]), *(rng.uniform(-2e4, 2e4) for _ in range(12)))
            for _ in range(n)]


@pytest.mark.parametrize("n", [0, 1, 2, 31, 32, 33, 300])
@pytest.mark.parametrize("size", [0, 100, 127, 128, 16383, 16384, 3_000_000])
def test_encoder_matches_protobuf_serialization(n, size):
    rng = random.Random(n * 7 + size)
    objects = random_objects(rng, n)
    encoded = rng.randbytes(size)
    frame_id = rng.choice(["000001", "é" * 70])
    width, height = rng.choice([(96, 64), (70000, 128), (1, 2**40)])
    ours = tfrecord.encode_example(frame_id, width, height, objects, encoded)
    reference = proto_example(frame_id, width, height, objects, encoded)
    assert ours == reference.SerializeToString(deterministic=True)
    assert example_pb2.Example.FromString(ours) == reference
    assert b"".join(tfrecord.example_parts(frame_id, width, height, objects, encoded)) == ours


def test_float32_conversion_matches_protobuf():
    # beyond float32's range protobuf stores +-inf; tiny values round to 0, others to nearest
    objects = [obj(x=1e300, y=-1e39, z=3.4028236e38, rotation_y=1e-50, alpha=0.1)]
    ours = tfrecord.encode_example("f", 1, 1, objects, b"")
    assert ours == proto_example("f", 1, 1, objects, b"").SerializeToString(deterministic=True)
    f = example_pb2.Example.FromString(ours).features.feature
    assert f[tfrecord.WORLD["x"]].float_list.value[0] == float("inf")
    assert f[tfrecord.WORLD["y"]].float_list.value[0] == float("-inf")


def test_tensorflow_parses_our_examples():
    tf = tensorflow()
    objects = [obj("Car", 0), obj("DontCare", -1, x1=5.0, truncated=-1.0), obj("PEDESTRIAN", 3)]
    raw = tfrecord.encode_example("000042", 960, 544, objects, b"\xff\xd8 image bytes")
    # TensorFlow's own Example message reads the bytes, and serializes them back identically
    ex = tf.train.Example.FromString(raw)
    assert ex.SerializeToString(deterministic=True) == raw

    parsed = tf.io.parse_single_example(raw, tfrecord.parse_features())
    dense = {k: (tf.sparse.to_dense(v) if isinstance(v, tf.sparse.SparseTensor) else v).numpy()
             for k, v in parsed.items()}
    assert dense[tfrecord.FRAME_ID] == b"000042"
    assert dense[tfrecord.FRAME_WIDTH] == 960 and dense[tfrecord.FRAME_HEIGHT] == 544
    assert dense[tfrecord.FRAME_ENCODED] == b"\xff\xd8 image bytes"
    assert dense[tfrecord.OBJECT_CLASS].tolist() == [b"car", b"dontcare", b"pedestrian"]
    assert dense[tfrecord.OCCLUSION].tolist() == [0, -1, 3]
    assert dense[tfrecord.X1].tolist() == [10.0, 5.0, 10.0]
    assert dense[tfrecord.Y1].tolist() == [20.5] * 3 and dense[tfrecord.X2].tolist() == [50.25] * 3
    assert dense[tfrecord.TRUNCATION].tolist() == pytest.approx([0.25, -1.0, 0.25])
    assert dense[tfrecord.ROTATION_Y].tolist() == pytest.approx([0.1] * 3)
    assert dense[tfrecord.WORLD["z"]].tolist() == [20.0] * 3

    empty = tf.io.parse_single_example(tfrecord.encode_example("e", 2, 3, [], b""),
                                       tfrecord.parse_features())
    assert empty[tfrecord.X1].values.shape == (0,) and empty[tfrecord.OBJECT_CLASS].values.shape == (0,)
