"""dataset-convert: TAO's shard names, partitions and feature keys; bad input leaves nothing behind."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jupyter_tlt import DataError, OutputError, SpecError
from jupyter_tlt.data import tfrecord
from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.images import header_size, is_complete
from jupyter_tlt.data.tfrecord_io import read_records as read_tfrecords
from jupyter_tlt.progress import step_warnings
from jupyter_tlt.tf_import import tensorflow
from kitti_factory import conversion_spec, label_line, make_kitti

CAR = label_line("Car", 10, 10, 50, 40)
PED = label_line("pedestrian", 60, 5, 70, 60, truncated=0.2, occluded=1)


def read_records(files):
    tf = tensorflow()
    examples = []
    for f in files:
        for raw in tf.data.TFRecordDataset(f).as_numpy_iterator():
            examples.append(tf.train.Example.FromString(raw))
    return examples


def dataset(tmp_path, n=8, **kw):
    frames = {f"{i:06d}": [CAR, PED] if i % 2 else [CAR] for i in range(n)}
    return make_kitti(tmp_path / "kitti", frames, **kw)


def test_tao_names_partitions_and_keys(tmp_path):
    root = dataset(tmp_path)
    out = tmp_path / "records" / "kitti"
    result = dataset_convert(conversion_spec(root), out, progress=False)

    names = sorted(Path(s).name for s in result.shards)
    assert names == [f"kitti-fold-{f:03d}-of-002-shard-{s:05d}-of-00002" for f in (0, 1) for s in (0, 1)]
    assert result.frames_per_fold == [2, 6]  # val_split 25% of 8 frames is fold 0
    assert result.objects_per_fold[0]["car"] + result.objects_per_fold[1]["car"] == 8
    assert not list(out.parent.glob(".tmp-*"))

    examples = read_records(result.shards)
    assert len(examples) == 8
    feats = examples[0].features.feature
    for key in ("frame/id", "frame/height", "frame/width", "frame/encoded", "target/object_class",
                "target/truncation", "target/occlusion", "target/observation_angle",
                "target/coordinates_x1", "target/coordinates_y1", "target/coordinates_x2",
                "target/coordinates_y2", "target/world_bbox_h", "target/world_bbox_w",
                "target/world_bbox_l", "target/world_bbox_x", "target/world_bbox_y",
                "target/world_bbox_z", "target/world_bbox_rot_y"):
        assert key in feats, key
    by_id = {e.features.feature["frame/id"].bytes_list.value[0].decode(): e for e in examples}
    ex = by_id["000001"].features.feature
    assert ex["frame/encoded"].bytes_list.value[0] == (root / "image_2" / "000001.jpg").read_bytes()
    assert [c.decode() for c in ex["target/object_class"].bytes_list.value] == ["car", "pedestrian"]
    assert ex["frame/width"].int64_list.value[0] == 96 and ex["frame/height"].int64_list.value[0] == 64
    assert list(ex["target/coordinates_x1"].float_list.value) == [10.0, 60.0]
    assert list(ex["target/occlusion"].int64_list.value) == [0, 1]
    assert ex["target/truncation"].float_list.value[1] == pytest.approx(0.2)
    assert "fold 0 (validation)" in result.to_frame().columns


def test_validation_fold_flag_and_deterministic_split(tmp_path):
    root = dataset(tmp_path, n=10)
    a = dataset_convert(conversion_spec(root, val_split=30), tmp_path / "a" / "k", progress=False)
    b = dataset_convert(conversion_spec(root, val_split=30), tmp_path / "b" / "k",
                        validation_fold=1, progress=False)
    assert a.frames_per_fold == [3, 7] and b.frames_per_fold == [7, 3]
    ids = lambda r, fold: sorted(e.features.feature["frame/id"].bytes_list.value[0]
                                 for e in read_records([s for s in r.shards if f"fold-{fold:03d}" in s]))
    assert ids(a, 0) == ids(b, 1)
    with pytest.raises(SpecError, match="validation_fold"):
        dataset_convert(conversion_spec(root), tmp_path / "c" / "k", validation_fold=2, progress=False)


def test_accepts_empty_labels_alpha_grayscale_and_mixed_formats(tmp_path):
    frames = {"a": [CAR], "b": [], "c": [PED], "d": [CAR]}
    root = make_kitti(tmp_path / "kitti", frames, modes={"c": "RGBA", "d": "L"})
    result = dataset_convert(conversion_spec(root, val_split=0, num_shards=1), tmp_path / "o" / "k",
                             progress=False)
    assert sum(result.frames_per_fold) == 4
    examples = read_records(result.shards)
    empty = [e for e in examples if e.features.feature["frame/id"].bytes_list.value[0] == b"b"][0]
    assert len(empty.features.feature["target/object_class"].bytes_list.value) == 0


def test_sequence_partition(tmp_path):
    root = dataset(tmp_path, n=6)
    seq = tmp_path / "sequences.json"
    seq.write_text(json.dumps({"s1": ["000000", "000001", "000002"], "s2": ["000003", "000004"],
                               "s3": ["000005"]}))
    spec = conversion_spec(root, partition_mode="sequence",
                           extra=f'  kitti_sequence_to_frames_file: "{seq}"\n')
    result = dataset_convert(spec, tmp_path / "o" / "k", progress=False)
    assert sorted(result.frames_per_fold) == [3, 3]


def test_skips_and_reports_degenerate_boxes(tmp_path):
    root = make_kitti(tmp_path / "kitti", {"a": [CAR, label_line("car", 50, 10, 40, 30)]})
    result = dataset_convert(conversion_spec(root, val_split=0, num_shards=1), tmp_path / "o" / "k",
                             progress=False)
    assert result.skipped_boxes == 1
    assert result.objects_per_fold[1] == {"car": 1}


@pytest.mark.parametrize("bad_line,field", [
    (" ".join(CAR.split()[:14]), "15"),
    (CAR + " 0.9 extra", "17"),
    (CAR.replace(" 10.00 ", " ten ", 1), "x1"),
])
def test_malformed_label_fails_whole_run_and_writes_nothing(tmp_path, bad_line, field):
    frames = {f"{i:06d}": [CAR] for i in range(6)}
    frames["000004"] = [CAR, bad_line]
    root = make_kitti(tmp_path / "kitti", frames)
    out = tmp_path / "o" / "k"
    with pytest.raises(DataError) as err:
        dataset_convert(conversion_spec(root), out, progress=False)
    assert "000004.txt:2" in str(err.value) and field in str(err.value)
    assert list(out.parent.iterdir()) == []  # no shard under a final name, no temporary left


def test_truncated_image_names_the_file(tmp_path):
    root = dataset(tmp_path, n=3)
    jpg = root / "image_2" / "000001.jpg"
    jpg.write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    with pytest.raises(DataError, match="000001.jpg"):
        dataset_convert(conversion_spec(root), tmp_path / "o" / "k", progress=False)


def test_image_label_mismatch(tmp_path):
    root = dataset(tmp_path, n=3)
    (root / "image_2" / "000002.jpg").unlink()
    with pytest.raises(DataError, match=r"000002\.txt: label file has no image"):
        dataset_convert(conversion_spec(root), tmp_path / "o" / "k", progress=False)
    (root / "label_2" / "000002.txt").unlink()
    (root / "label_2" / "000001.txt").unlink()
    with pytest.raises(DataError, match=r"000001\.jpg: image has no label file"):
        dataset_convert(conversion_spec(root), tmp_path / "o" / "k", progress=False)


def test_refuses_existing_output_unless_overwrite(tmp_path):
    root = dataset(tmp_path, n=4)
    out = tmp_path / "o" / "k"
    first = dataset_convert(conversion_spec(root), out, progress=False)
    with pytest.raises(OutputError, match="--overwrite"):
        dataset_convert(conversion_spec(root), out, progress=False)
    again = dataset_convert(conversion_spec(root), out, overwrite=True, progress=False)
    assert again.shards == first.shards


def test_unwritable_output(tmp_path):
    root = dataset(tmp_path, n=2)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError, match="cannot create the output directory"):
        dataset_convert(conversion_spec(root), blocker / "sub" / "k", progress=False)


def test_class_mapping_warnings(tmp_path, capsys):
    root = dataset(tmp_path, n=4)
    with step_warnings():  # as the CLI shows them: `warning: ...`, one line each
        dataset_convert(conversion_spec(root, mapping={"Car": "car", "truck": "truck"}),
                        tmp_path / "o" / "k", progress=False)
    err = capsys.readouterr().err
    assert "warning: " in err and "['Car']" in err and "lower-case" in err
    assert "convert.py" not in err and "UserWarning" not in err
    assert "['pedestrian']" in err and "['truck']" in err


def test_feature_spec_parses_records(tmp_path):
    tf = tensorflow()
    root = dataset(tmp_path, n=2)
    result = dataset_convert(conversion_spec(root, val_split=0, num_shards=1), tmp_path / "o" / "k",
                             progress=False)
    raw = next(iter(tf.data.TFRecordDataset(result.shards[-1])))
    parsed = tf.io.parse_single_example(raw, tfrecord.parse_features())
    assert parsed["frame/id"].numpy() == b"000000"
    assert tf.sparse.to_dense(parsed["target/coordinates_x2"]).numpy().tolist() == [50.0]


# --- worker processes, and the per-frame work that replaced Pillow and TensorFlow -----------------

def shard_bytes(result):
    return {Path(s).name: Path(s).read_bytes() for s in result.shards}


def test_output_is_the_same_for_any_number_of_workers(tmp_path):
    frames = {f"{i:06d}": [CAR, PED] if i % 3 else [] for i in range(13)}
    root = make_kitti(tmp_path / "kitti", frames, modes={"000002": "RGBA", "000005": "L"})
    spec = conversion_spec(root, num_shards=3)
    results = [dataset_convert(spec, tmp_path / f"w{n}" / "k", workers=n, progress=False)
               for n in (1, 2, 3)]
    assert shard_bytes(results[0]) == shard_bytes(results[1]) == shard_bytes(results[2])
    assert len(results[0].shards) == 6
    for r in results[1:]:
        assert r.objects_per_fold == results[0].objects_per_fold
        assert r.frames_per_fold == results[0].frames_per_fold == [3, 10]
        assert not list(Path(r.shards[0]).parent.glob(".tmp-*"))
    # every record is a complete, CRC-checked Example; TensorFlow reads the same frames
    ids = sorted(e.features.feature["frame/id"].bytes_list.value[0] for e in read_records(results[1].shards))
    assert ids == sorted(f.encode() for f in frames)
    for shard in results[1].shards:
        assert len(list(read_tfrecords(shard))) == len(list(tensorflow().data.TFRecordDataset(shard)))


@pytest.mark.parametrize("break_it", ["label", "image"])
def test_errors_in_worker_processes_fail_the_whole_run(tmp_path, break_it):
    frames = {f"{i:06d}": [CAR] for i in range(12)}
    if break_it == "label":
        frames["000009"] = [CAR, CAR.replace(" 10.00 ", " ten ", 1)]
    root = make_kitti(tmp_path / "kitti", frames)
    if break_it == "image":
        jpg = root / "image_2" / "000009.jpg"
        jpg.write_bytes(jpg.read_bytes()[:-300])
    out = tmp_path / "o" / "k"
    with pytest.raises(DataError) as err:
        dataset_convert(conversion_spec(root, num_shards=4), out, workers=2, progress=False)
    expected = "000009.txt:2" if break_it == "label" else "000009.jpg: truncated image"
    assert expected in str(err.value)
    assert list(out.parent.iterdir()) == []  # no shard under a final name, no temporary left


def test_conversion_does_not_import_tensorflow(tmp_path):
    root = dataset(tmp_path, n=4)
    (tmp_path / "spec.txt").write_text(conversion_spec(root))
    script = ("import sys\nfrom jupyter_tlt.data.convert import dataset_convert\n"
              f"r = dataset_convert(open({str(tmp_path / 'spec.txt')!r}).read(), "
              f"{str(tmp_path / 'o' / 'k')!r}, progress=False)\n"
              "assert len(r.shards) == 4, r.shards\n"
              "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def encoded_image(mode="RGB", fmt="JPEG", size=(37, 23), **save):
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 4), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGBA").convert(mode).save(buf, fmt, **save)
    return buf.getvalue()


@pytest.mark.parametrize("mode,fmt,save", [
    ("RGB", "JPEG", {}), ("L", "JPEG", {}), ("RGB", "JPEG", {"progressive": True}),
    ("CMYK", "JPEG", {}), ("RGB", "JPEG", {"exif": b"Exif\x00\x00" + b"\x00" * 40}),
    ("RGBA", "PNG", {}), ("L", "PNG", {}), ("P", "PNG", {}), ("I;16", "PNG", {}),
])
def test_header_size_matches_pillow(mode, fmt, save):
    data = encoded_image(mode, fmt, **save)
    assert header_size(data) == Image.open(io.BytesIO(data)).size == (37, 23)


def test_header_size_leaves_odd_files_to_pillow():
    jpg, png = encoded_image(), encoded_image(fmt="PNG")
    assert header_size(b"GIF89a....") is None
    assert header_size(jpg[:20]) is None  # cut before the frame header
    bad_crc = bytearray(png)
    bad_crc[30] ^= 1
    assert header_size(bytes(bad_crc)) is None
    assert header_size(b"") is None and header_size(b"\xff\xd8\xff") is None


def test_completeness_check_finds_every_cut():
    jpg, progressive, png = (encoded_image(), encoded_image(progressive=True),
                             encoded_image(fmt="PNG"))
    for data in (jpg, progressive, png, jpg + b"trailing", b"\xff\xd8\xff\xff\xda\xff\xd9",
                 b"\xff\xd8\xff\xff\xd9\xff\xda\xff\xd9"):
        assert is_complete(data), data[:20]
    assert not is_complete(b"\xff\xd8\xff\xff\xd9\xff\xda")  # a scan after the end marker
    for data in (jpg, progressive, png):
        for n in range(0, len(data) - 2, max(1, len(data) // 60)):
            assert not is_complete(data[:n]) or not data[:n].startswith((b"\xff\xd8\xff", b"\x89PNG")), n
