"""COCO and YOLO sources for dataset-convert and dataset-validate, and the KITTI -> COCO / YOLO
export: bad input fails with one line naming the spot, and a round trip gives the same records."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_tlt import DataError, SpecError
from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.export_labels import dataset_export
from jupyter_tlt.data.tfrecord_io import read_records
from jupyter_tlt.data.validate_sources import validate_coco, validate_yolo
from kitti_factory import conversion_spec, make_kitti, write_image

MAPPING = 'target_class_mapping { key: "car" value: "car" }\ntarget_class_mapping { key: "person" value: "pedestrian" }\n'


def records(result) -> dict[bytes, bytes]:
    """frame id -> serialized example, over every shard."""
    from jupyter_tlt.tf_import import tensorflow

    tf = tensorflow()
    out = {}
    for shard in result.shards:
        for raw in read_records(shard):
            example = tf.train.Example.FromString(raw)
            out[example.features.feature["frame/id"].bytes_list.value[0]] = raw
    return out


def coco_dataset(tmp_path, annotations=None, images=None):
    root = tmp_path / "coco"
    for i in range(4):
        write_image(root / "val" / f"{i:04d}.jpg", 96, 64, seed=i)
    doc = {"images": images if images is not None else
           [{"id": i, "file_name": f"{i:04d}.jpg", "width": 96, "height": 64} for i in range(4)],
           "categories": [{"id": 3, "name": "car"}, {"id": 1, "name": "person"}],
           "annotations": annotations if annotations is not None else
           [{"id": 10 + i, "image_id": i, "category_id": 3, "bbox": [10, 5, 40, 30], "iscrowd": 0}
            for i in range(4)] + [{"id": 20, "image_id": 1, "category_id": 1, "bbox": [60, 2, 10, 50],
                                   "iscrowd": 0},
                                  {"id": 21, "image_id": 2, "category_id": 1, "bbox": [0, 0, 20, 20],
                                   "iscrowd": 1}]}
    (root / "ann.json").write_text(json.dumps(doc, indent=1))
    return root


def coco_spec(root, shards="num_shards: 1"):
    return (f'coco_config {{ root_directory_path: "{root}" img_dir_names: ["val"] '
            f'annotation_files: ["ann.json"] num_partitions: 1 {shards} }}\n' + MAPPING)


def test_coco_converts_with_categories_crowds_and_boxes(tmp_path):
    root = coco_dataset(tmp_path)
    result = dataset_convert(coco_spec(root), tmp_path / "out" / "c", progress=False)
    assert [Path(s).name for s in result.shards] == ["c-fold-000-of-001-shard-00000-of-00001"]
    assert result.frames_per_fold == [4]
    assert result.objects_per_fold[0] == {"car": 4, "person": 1, "dontcare": 1}
    from jupyter_tlt.tf_import import tensorflow

    tf = tensorflow()
    examples = [tf.train.Example.FromString(r) for r in read_records(result.shards[0])]
    f = {e.features.feature["frame/id"].bytes_list.value[0]: e.features.feature for e in examples}
    one = f[b"0001"]
    assert [c for c in one["target/object_class"].bytes_list.value] == [b"car", b"person"]
    assert list(one["target/coordinates_x2"].float_list.value) == [50.0, 70.0]
    assert list(one["target/coordinates_y2"].float_list.value) == [35.0, 52.0]
    assert f[b"0002"]["target/object_class"].bytes_list.value[1] == b"dontcare"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["annotations"].append({"id": 99, "image_id": 0, "category_id": 7, "bbox": [1, 1, 5, 5]}),
     "annotation 99: category_id 7 is not in 'categories'"),
    (lambda d: d["annotations"].append({"id": 98, "image_id": 0, "category_id": 3, "bbox": [80, 1, 40, 5]}),
     "annotation 98: bbox [80, 1, 40, 5] reaches outside the 96x64 image"),
    (lambda d: d["annotations"].append({"id": 97, "image_id": 42, "category_id": 3, "bbox": [1, 1, 5, 5]}),
     "annotation 97: image_id 42 is not in 'images'"),
    (lambda d: d["images"].append({"id": 5, "file_name": "gone.jpg", "width": 96, "height": 64}),
     "image 5 (gone.jpg) is not in"),
])
def test_coco_bad_input_names_the_annotation_and_writes_nothing(tmp_path, change, expected):
    root = coco_dataset(tmp_path)
    doc = json.loads((root / "ann.json").read_text())
    change(doc)
    (root / "ann.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=re.escape(expected)):
        dataset_convert(coco_spec(root), tmp_path / "out" / "c", progress=False)
    assert not list((tmp_path / "out").glob("*"))
    report = validate_coco(root, ["val"], ["ann.json"], check_images=False)
    assert not report.ok and any(expected in p.message for p in report.errors)


def test_malformed_json_names_line_and_column(tmp_path):
    root = coco_dataset(tmp_path)
    (root / "ann.json").write_text('{\n  "images": [\n    {"id": 1,, }\n  ]\n}\n')
    with pytest.raises(DataError, match=r"ann.json:3:14: not valid JSON"):
        dataset_convert(coco_spec(root), tmp_path / "out" / "c", progress=False)


def test_coco_spec_checks_partitions(tmp_path):
    spec = ('coco_config { root_directory_path: "x" img_dir_names: ["a"] '
            'annotation_files: ["a.json", "b.json"] num_partitions: 2 }\n')
    with pytest.raises(SpecError, match="'coco_config.img_dir_names' has 1 entries but num_partitions is 2"):
        dataset_convert(spec, tmp_path / "c", progress=False)


def test_a_spec_names_one_source(tmp_path):
    spec = ('kitti_config { root_directory_path: "k" image_dir_name: "i" label_dir_name: "l" }\n'
            'yolo_config { root_directory_path: "y" class_names_file: "data.yaml" }\n')
    with pytest.raises(SpecError, match="both kitti_config and yolo_config; .* keep one block"):
        dataset_convert(spec, tmp_path / "c", progress=False)
    with pytest.raises(SpecError, match="missing required field 'yolo_config.class_names_file'"):
        dataset_convert('yolo_config { root_directory_path: "y" }', tmp_path / "c", progress=False)


def yolo_dataset(tmp_path, lines=None, names="names: [car, person]\n"):
    root = tmp_path / "yolo"
    for i in range(5):
        write_image(root / "images" / f"{i:04d}.png", 100, 50, seed=i)
    (root / "labels").mkdir(parents=True)
    for i in range(4):  # image 0004 has no label file: a background image
        (root / "labels" / f"{i:04d}.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.1 0.2 0.1 0.2\n")
    if lines:
        (root / "labels" / "0000.txt").write_text(lines)
    (root / "data.yaml").write_text(names)
    return root


def yolo_spec(root, names="data.yaml"):
    return (f'yolo_config {{ root_directory_path: "{root}" class_names_file: "{names}" '
            f'num_shards: 1 val_split: 40 }}\n' + MAPPING)


def test_yolo_converts_normalized_boxes_and_background_images(tmp_path):
    root = yolo_dataset(tmp_path)
    result = dataset_convert(yolo_spec(root), tmp_path / "out" / "y", progress=False)
    assert result.frames_per_fold == [2, 3]
    totals = {k: result.objects_per_fold[0].get(k, 0) + result.objects_per_fold[1].get(k, 0)
              for k in ("car", "person")}
    assert totals == {"car": 4, "person": 4}
    from jupyter_tlt.tf_import import tensorflow

    tf = tensorflow()
    feats = {e.features.feature["frame/id"].bytes_list.value[0]: e.features.feature
             for s in result.shards for e in map(tf.train.Example.FromString, read_records(s))}
    one = feats[b"0001"]
    assert list(one["target/coordinates_x1"].float_list.value) == pytest.approx([40.0, 5.0])
    assert list(one["target/coordinates_y2"].float_list.value) == pytest.approx([35.0, 15.0])
    assert len(feats[b"0004"]["target/object_class"].bytes_list.value) == 0


@pytest.mark.parametrize("line, expected", [
    ("0 0.5 0.5 0.2\n", "0000.txt:1: expected 5 fields"),
    ("0 1.5 0.5 0.2 0.2\n", "0000.txt:1: field 'cx' = 1.5 is outside [0, 1]"),
    ("\n7 0.5 0.5 0.2 0.2\n", "0000.txt:2: class index 7 has no name"),
    ("0 0.05 0.5 0.2 0.2\n", "0000.txt:1: box reaches outside the image"),
])
def test_yolo_bad_lines_name_file_and_line(tmp_path, line, expected):
    root = yolo_dataset(tmp_path, lines=line)
    with pytest.raises(DataError, match=re.escape(expected)):
        dataset_convert(yolo_spec(root), tmp_path / "out" / "y", progress=False)
    assert not list((tmp_path / "out").glob("*"))
    report = validate_yolo(root, "data.yaml", check_images=False)
    assert [p.message for p in report.errors if expected in p.message]


def test_yolo_names_file_and_validation_statistics(tmp_path):
    root = yolo_dataset(tmp_path)
    (root / "classes.names").write_text("car\nperson\n")
    report = validate_yolo(root, "classes.names", class_mapping={"car": "car"})
    assert report.ok and report.num_objects == 8 and report.num_empty == 1
    assert report.classes["car"].objects == 4 and report.classes["person"].images == 4
    assert any("class 'person' is not in the class mapping" in p.message for p in report.warnings)


def test_cli_validates_yolo_from_the_spec_and_exits_2(tmp_path):
    root = yolo_dataset(tmp_path, lines="0 0.5 0.5\n")
    spec = tmp_path / "spec.txt"
    spec.write_text(yolo_spec(root))
    tlt = Path(sys.executable).with_name("tlt")
    run = subprocess.run([tlt, "dataset-validate", "-d", spec, "-q"], capture_output=True, text=True)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "0000.txt:1: expected 5 fields" in run.stdout + run.stderr


# COCO and YOLO carry class and box only: the KITTI side has zeros in the other fields.
CAR = "car 0.00 0 0.00 10.00 10.50 50.25 40.00 0 0 0 0 0 0 0"
PED = "pedestrian 0.00 0 0.00 60.00 5.00 70.00 60.00 0 0 0 0 0 0 0"


@pytest.mark.parametrize("fmt", ["coco", "yolo"])
def test_export_and_convert_back_gives_the_same_records(tmp_path, fmt):
    frames = {f"{i:06d}": [CAR, PED] if i % 2 else [CAR] for i in range(8)}
    kitti_root = make_kitti(tmp_path / "kitti", frames)
    kitti = dataset_convert(conversion_spec(kitti_root, num_shards=1), tmp_path / "k" / "r",
                            progress=False)
    exported = dataset_export(kitti_root, tmp_path / fmt, fmt, progress=False)
    assert exported.images == 8 and exported.objects == 12
    if fmt == "coco":
        spec = (f'coco_config {{ root_directory_path: "{tmp_path / fmt}" img_dir_names: ["images"] '
                f'annotation_files: ["annotations.json"] num_partitions: 1 num_shards: 1 }}\n')
    else:
        spec = (f'yolo_config {{ root_directory_path: "{tmp_path / fmt}" class_names_file: '
                f'"data.yaml" num_shards: 1 val_split: 25 }}\n')
    back = dataset_convert(spec, tmp_path / "b" / "r", progress=False)
    assert records(back) == records(kitti)
    if fmt == "yolo":  # same partition too: shard for shard, byte for byte
        assert [Path(s).read_bytes() for s in back.shards] == [Path(s).read_bytes() for s in kitti.shards]
