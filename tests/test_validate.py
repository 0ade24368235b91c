"""Dataset validation (jupyter_tlt.data.validate): every problem at once, and class statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jupyter_tlt.data import validate as v
from jupyter_tlt.data.validate import validate_dataset
from jupyter_tlt.errors import DataError

W, H = 96, 64


def box(cls: str, x1, y1, x2, y2, truncated=0.0, occluded=0) -> str:
    return (f"{cls} {truncated:.2f} {occluded} 0.00 {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} "
            "1.50 1.60 3.90 1.00 1.50 20.00 0.00")


def image(path: Path, mode="RGB", size=(W, H), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    w, h = size
    img = Image.fromarray(rng.integers(0, 255, (h, w, 4), dtype=np.uint8), "RGBA").convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def label(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(text + "\n" for text in lines))
    return path


def dataset(root: Path, frames: dict[str, list[str]], ext=".jpg") -> Path:
    for i, (stem, lines) in enumerate(frames.items()):
        image(root / "image_2" / f"{stem}{ext}", seed=i)
        label(root / "label_2" / f"{stem}.txt", *lines)
    return root


def run(root: Path, **kwargs) -> v.ValidationReport:
    return validate_dataset(root, progress=False, **kwargs)


def only(report: v.ValidationReport, kind: str) -> list[v.Problem]:
    return [p for p in report.problems if p.kind == kind]


# --- a valid dataset and its statistics -----------------------------------------------------------

def test_valid_mixed_dataset(tmp_path):
    root = dataset(tmp_path, {
        "000001": [box("car", 10, 5, 60, 55), box("car", 0, 0, 20, 10, occluded=1),
                   box("pedestrian", 30, 2, 40, 32, truncated=0.4)],
        "000002": [box("car", 1, 1, 95, 63)],
    })
    image(root / "image_2" / "000003.png", "RGBA", seed=5)          # PNG with alpha
    label(root / "label_2" / "000003.txt", box("pedestrian", 0, 0, 96, 64))
    image(root / "image_2" / "000004.png", "L", seed=6)             # grayscale
    (root / "label_2" / "000004.txt").write_bytes(b"")               # zero bytes: no objects
    image(root / "image_2" / "000005.JPEG", seed=7)                  # upper-case extension
    label(root / "label_2" / "000005.txt", box("car", 2, 2, 50, 30) + " 0.9500")  # with score

    report = run(root, class_mapping={"car": "car", "pedestrian": "person"})
    assert report.ok, report.format_problems()
    assert report.problems == []
    assert (report.num_images, report.num_labels, report.num_pairs) == (5, 5, 5)
    assert report.num_empty == 1 and report.num_objects == 6 and report.num_with_objects == 4

    car, ped = report.classes["car"], report.classes["pedestrian"]
    assert (car.objects, car.images, ped.objects, ped.images) == (4, 3, 2, 2)
    # heights: car 50 (easy), 10 (occluded 1, too small -> ignored), 62 (easy), 28 (moderate)
    assert (car.easy, car.moderate, car.hard, car.ignored) == (2, 1, 0, 1)
    # pedestrian 30 px truncated 0.4 -> hard; 64 px -> easy
    assert (ped.easy, ped.moderate, ped.hard, ped.ignored) == (1, 0, 1, 0)
    assert (car.min_h, car.median_h, car.max_h) == (10.0, 39.0, 62.0)
    assert car.height_bins() == {"h<25": 1, "h25-40": 1, "h40-80": 2, "h80-160": 0, "h>=160": 0}
    assert car.target == "car" and ped.target == "person"

    frame = report.to_frame()
    assert list(frame.index) == ["car", "pedestrian"]
    assert list(frame.columns) == ["objects", "images", "easy", "moderate", "hard", "ignored",
                                   "min_h", "median_h", "max_h", "h<25", "h25-40", "h40-80",
                                   "h80-160", "h>=160", "target"]
    assert frame.loc["car", "objects"] == 4 and frame.loc["pedestrian", "target"] == "person"

    table = report.format_table()
    assert "====" in table and "car" in table and "moderate" in table and "(all)" in table
    assert "median_h" in table and ">=160" in table
    rules = [ln for ln in table.splitlines() if ln.startswith("=")]
    assert len(set(len(r) for r in rules[:4])) == 1   # aligned: every rule of a table equal
    assert report.format_problems() == f"No problems found in {root}."
    assert json.loads(json.dumps(report.to_dict()))["classes"]["car"]["objects"] == 4
    assert "<table" in report._repr_html_()
    assert report.problems_frame().empty


def test_empty_dataset_directories(tmp_path):
    (tmp_path / "image_2").mkdir()
    (tmp_path / "label_2").mkdir()
    report = run(tmp_path)
    assert not report.ok and only(report, v.NO_DATA)
    assert "(no objects)" in report.format_table()


# --- every problem at once --------------------------------------------------------------------------

def test_reports_every_problem_at_once(tmp_path):
    root = dataset(tmp_path, {
        "a": [box("car", 10, 5, 60, 55), "car 0 0 0 1 2 3", box("car", 10, 5, 60, 55)],
        "b": [box("car", 50, 5, 40, 55)],
        "c": [box("car", 10, 5, 60, 55).replace(" 5.00 ", " abc ", 1)],
    })
    label(root / "label_2" / "d.txt", box("car", 1, 1, 2, 2))  # no image
    image(root / "image_2" / "e.png")                         # no label
    report = run(root)
    kinds = sorted(p.kind for p in report.problems)
    assert kinds == sorted(["field_count", "degenerate_box", "non_numeric",
                            v.LABEL_WITHOUT_IMAGE, v.IMAGE_WITHOUT_LABEL])
    assert not report.ok and len(report.errors) == 5
    text = report.format_problems()
    lab = root / "label_2"
    assert f"{lab / 'a.txt'}:2: expected 15 fields" in text
    assert f"{lab / 'b.txt'}:1: empty box, x1 >= x2 (field 'x2'" in text
    assert f"{lab / 'c.txt'}:1: non-numeric value (field 'y1', value 'abc')" in text
    # the good lines of a.txt still count
    assert report.classes["car"].objects == 2


def test_label_without_image(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20)]})
    label(root / "label_2" / "orphan.txt", box("car", 1, 1, 20, 20))
    (root / "image_2" / "orphan.bmp").write_bytes(b"BM")
    [p] = only(run(root), v.LABEL_WITHOUT_IMAGE)
    assert p.path == str(root / "label_2" / "orphan.txt") and p.line is None
    assert p.message.startswith(f"{root / 'label_2' / 'orphan.txt'}: label file has no image")
    assert "orphan.bmp" in p.message and "PNG or JPEG" in p.message


def test_image_without_label(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20)]})
    image(root / "image_2" / "lonely.jpg")
    [p] = only(run(root), v.IMAGE_WITHOUT_LABEL)
    assert p.message.startswith(f"{root / 'image_2' / 'lonely.jpg'}: image has no label file")
    assert "empty file" in p.message


def test_duplicate_image_stems(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20)]})
    image(root / "image_2" / "a.png")
    [p] = only(run(root), v.DUPLICATE_IMAGE)
    assert "a.jpg" in p.message and "a.png" in p.message


def test_truncated_jpeg_and_png(tmp_path):
    root = dataset(tmp_path, {"j": [box("car", 1, 1, 20, 20)]})
    image(root / "image_2" / "p.png", size=(160, 120))
    label(root / "label_2" / "p.txt", box("car", 1, 1, 20, 20))
    image(root / "image_2" / "j.jpg", size=(160, 120))
    for name in ("j.jpg", "p.png"):
        path = root / "image_2" / name
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    report = run(root)
    corrupt = only(report, v.CORRUPT_IMAGE)
    assert sorted(Path(p.path).name for p in corrupt) == ["j.jpg", "p.png"]
    for p in corrupt:
        assert p.message.startswith(f"{p.path}: corrupt or truncated image")
    # header-only mode does not decode, so it cannot see the truncation
    assert not only(run(root, check_images=False), v.CORRUPT_IMAGE)


def test_box_outside_image(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20),
                                    box("car", 10, 10, W + 0.4, H),      # within 0.5 px: fine
                                    box("car", 10, 10, W + 3, 30),
                                    box("car", 10, 10, 30, H + 1)]})
    for check in (True, False):
        problems = only(run(root, check_images=check), v.BOX_OUTSIDE_IMAGE)
        assert [(p.line) for p in problems] == [3, 4]
        assert problems[0].message.startswith(f"{root / 'label_2' / 'a.txt'}:3: box outside the "
                                              f"{W}x{H} image (field 'x2', value 99.00")
        assert "field 'y2'" in problems[1].message


def test_negative_and_nan_coordinates_and_ranges(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", -2, 1, 20, 20), box("car", 1, 1, 20, 20).replace("20.00", "nan", 1),
                                    box("car", 1, 1, 20, 20, truncated=1.2),
                                    box("car", 1, 1, 20, 20, occluded=5)]})
    report = run(root)
    assert [(p.line, p.kind) for p in report.problems] == [
        (1, "negative_coordinate"), (2, "not_finite"), (3, "truncation_range"), (4, "occlusion_range")]
    assert "field 'x1'" in report.problems[0].message and "field 'x2'" in report.problems[1].message


def test_unknown_class(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20), box("truck", 1, 1, 20, 20)],
                              "b": [box("truck", 1, 1, 30, 30)]})
    report = run(root, class_mapping={"car": "car"})
    assert report.ok  # dropping a class is allowed, but said
    [p] = only(report, v.UNKNOWN_CLASS)
    assert p.severity == "warning" and p.line == 2 and p.path == str(root / "label_2" / "a.txt")
    assert "'truck'" in p.message and "2 objects in 2 label files" in p.message
    assert "dropped" in p.message
    assert report.classes["truck"].target is None
    assert "(dropped)" in report.format_table()


def test_case_mismatch_with_mapping(tmp_path):
    root = dataset(tmp_path, {"a": [box("Car", 1, 1, 20, 20), box("Pedestrian", 1, 1, 20, 30)]})
    report = run(root, class_mapping={"car": "car", "pedestrian": "pedestrian"})
    problems = only(report, v.CLASS_CASE)
    assert [p.line for p in problems] == [1, 2]
    msg = problems[0].message
    assert msg.startswith(f"{root / 'label_2' / 'a.txt'}:1: ")
    assert "'Car'" in msg and "'car'" in msg and "0 mAP" in msg and "lower-cases" in msg
    assert not only(report, v.UNKNOWN_CLASS)        # we lower-case, so it still matches
    assert report.classes["car"].target == "car"
    assert report.ok


def test_case_mismatch_mapping_key_upper_case(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20)]})
    [p] = only(run(root, class_mapping={"Car": "car"}), v.CLASS_CASE)
    assert "'car'" in p.message and "'Car'" in p.message and "0 mAP" in p.message


def test_mixed_case_spellings_in_data(tmp_path):
    root = dataset(tmp_path, {"a": [box("Car", 1, 1, 20, 20)], "b": [box("car", 1, 1, 20, 20)]})
    report = run(root)
    [p] = only(report, v.CLASS_CASE)
    assert "'Car' (1)" in p.message and "'car' (1)" in p.message
    assert list(report.classes) == ["car"] and report.classes["car"].objects == 2


def test_mapping_target_without_objects_and_conflicts(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20)]})
    report = run(root, class_mapping={"car": "car", "bus": "bus", "Van": "car", "van": "truck"})
    missing = only(report, v.CLASS_WITHOUT_OBJECTS)
    assert [m.message.split("'")[1] for m in missing] == ["bus", "truck"]
    assert "AP will be 0" in missing[0].message and missing[0].severity == "warning"
    [conflict] = only(report, v.MAPPING_CONFLICT)
    assert conflict.severity == "error" and "'Van'" in conflict.message


def test_missing_label_dir(tmp_path):
    image(tmp_path / "image_2" / "a.jpg")
    with pytest.raises(DataError) as info:
        run(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'label_2'}: ")
    assert "root/image_2" in msg and "root/label_2" in msg


def test_missing_image_dir_with_custom_names(tmp_path):
    label(tmp_path / "labels" / "a.txt", box("car", 1, 1, 20, 20))
    with pytest.raises(DataError, match="images"):
        run(tmp_path, image_dir_name="images", label_dir_name="labels")


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match="dataset directory not found"):
        run(tmp_path / "nope")


def test_unreadable_label_is_a_problem(tmp_path):
    root = dataset(tmp_path, {"a": [box("car", 1, 1, 20, 20)], "b": []})
    (root / "label_2" / "b.txt").write_bytes(b"car\xff 0 0 0 1 1 2 2 1 1 1 1 1 1 1\n")
    report = run(root)
    [p] = only(report, "unreadable_label")
    assert "UTF-8" in p.message and p.path.endswith("b.txt")
    assert report.num_empty == 0


def test_format_problems_limit_and_order(tmp_path):
    frames = {f"{i:03d}": [box("car", 50, 5, 40, 55)] for i in range(8)}
    frames["zzz"] = [box("truck", 1, 1, 20, 20)]
    root = dataset(tmp_path, frames)
    report = run(root, class_mapping={"car": "car"})
    assert len(report.errors) == 8 and len(report.warnings) == 2  # truck unknown, car has no objects
    text = report.format_problems(limit=5)
    lines = text.splitlines()
    assert lines[0] == "Errors (8):"
    assert sum(1 for ln in lines if ln.startswith("  ")) == 5
    assert lines[-1] == "... and 5 more"
    full = report.format_problems(limit=None)
    assert "Warnings (2):" in full and "... and" not in full
    assert full.index("Errors") < full.index("Warnings")
    frame = report.problems_frame()
    assert list(frame.columns) == ["severity", "kind", "path", "line", "message"] and len(frame) == 10
    d = report.to_dict()
    assert d["ok"] is False and d["num_errors"] == 8 and len(d["problems"]) == 10
    json.dumps(d)
