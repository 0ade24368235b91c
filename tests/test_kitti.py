"""KITTI label reading, checking and writing; image checks and loading (jupyter_tlt.data.kitti, images)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jupyter_tlt.data import images, kitti
from jupyter_tlt.data.kitti import DIFFICULTIES, KittiObject, difficulty
from jupyter_tlt.errors import DataError

GOOD = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"


def line(cls="Car", truncated="0.00", occluded="0", x1="10", y1="20", x2="50", y2="80",
         score=None) -> str:
    fields = [cls, truncated, occluded, "0.00", x1, y1, x2, y2,
              "1.50", "1.60", "3.90", "1.00", "1.50", "20.00", "0.00"]
    if score is not None:
        fields.append(score)
    return " ".join(fields)


def write_label(tmp_path: Path, *lines: str, name="000001.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(text + "\n" for text in lines))
    return path


def raises_at(path: Path, lineno: int, *words: str) -> str:
    """Strict reading raises a DataError whose message names path:lineno and every word."""
    with pytest.raises(DataError) as info:
        kitti.read_labels(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{lineno}: "), message
    for word in words:
        assert word in message, (word, message)
    return message


# --- parsing ------------------------------------------------------------------------------------

def test_parse_good_line():
    obj = kitti.parse_line(GOOD)
    assert obj.type == "Car" and obj.occluded == 0 and isinstance(obj.occluded, int)
    assert (obj.x1, obj.y1, obj.x2, obj.y2) == (587.01, 173.33, 614.12, 200.12)
    assert (obj.height, obj.width, obj.length) == (1.65, 1.67, 3.64)
    assert (obj.x, obj.y, obj.z, obj.rotation_y) == (-0.65, 1.71, 46.70, -1.59)
    assert obj.score is None
    assert obj.box_width == pytest.approx(27.11) and obj.box_height == pytest.approx(26.79)


def test_sixteen_fields_with_score_are_accepted(tmp_path):
    path = write_label(tmp_path, line(score="0.8765"), line(cls="Pedestrian", score="0.1"))
    objs = kitti.read_labels(path)
    assert [o.score for o in objs] == [0.8765, 0.1]
    assert objs[0].to_line().split()[-1] == "0.8765"
    assert len(objs[0].to_line().split()) == 16


def test_fourteen_fields(tmp_path):
    path = write_label(tmp_path, GOOD, " ".join(GOOD.split()[:14]))
    msg = raises_at(path, 2, "found 14", "15 fields")
    assert "rotation_y" in msg  # says how to write the line


def test_seventeen_fields(tmp_path):
    path = write_label(tmp_path, line(score="0.5") + " 7")
    raises_at(path, 1, "found 17", "16 with a score")


def test_class_name_with_space_gets_a_hint(tmp_path):
    path = write_label(tmp_path, "traffic " + line(cls="light"))
    raises_at(path, 1, "field 'truncated'", "'light'", "cannot contain spaces")


def test_non_numeric_field(tmp_path):
    path = write_label(tmp_path, GOOD, GOOD, line(x1="abc"))
    raises_at(path, 3, "non-numeric", "field 'x1'", "'abc'")


def test_non_numeric_world_field(tmp_path):
    fields = GOOD.split()
    fields[13] = "1,5"
    path = write_label(tmp_path, " ".join(fields))
    raises_at(path, 1, "field 'z'", "'1,5'")


def test_negative_coordinate(tmp_path):
    path = write_label(tmp_path, line(y1="-3.5"))
    raises_at(path, 1, "negative", "field 'y1'", "'-3.5'")


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf"])
def test_nan_and_inf_coordinates(tmp_path, bad):
    path = write_label(tmp_path, line(x2=bad))
    raises_at(path, 1, "finite", "field 'x2'", repr(bad))


@pytest.mark.parametrize("bad", ["1.5", "-0.1"])
def test_truncation_out_of_range(tmp_path, bad):
    path = write_label(tmp_path, line(truncated=bad))
    raises_at(path, 1, "truncation", "field 'truncated'", repr(bad), "0 to 1")


@pytest.mark.parametrize("bad", ["4", "-1", "1.5"])
def test_occlusion_out_of_range(tmp_path, bad):
    path = write_label(tmp_path, line(occluded=bad))
    raises_at(path, 1, "occlusion", "field 'occluded'", repr(bad), "3 = unknown")


def test_occlusion_three_means_unknown_and_is_valid():
    assert kitti.parse_line(line(occluded="3")).occluded == 3
    assert kitti.parse_line(line(occluded="2.0")).occluded == 2


def test_kitti_dontcare_may_use_minus_one():
    # Real KITTI DontCare lines carry truncated = occluded = -1.
    obj = kitti.parse_line("DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10")
    assert obj.truncated == -1 and obj.occluded == -1
    assert difficulty(obj) is None
    with pytest.raises(DataError, match="field 'occluded'"):
        kitti.parse_line(line(cls="Car", occluded="-1"))


def test_x1_not_less_than_x2(tmp_path):
    path = write_label(tmp_path, line(x1="50", x2="50"))
    msg = raises_at(path, 1, "x1 >= x2", "field 'x2'", "'50'", "TAO")
    assert "delete the line" in msg


def test_y1_greater_than_y2(tmp_path):
    path = write_label(tmp_path, line(y1="90", y2="80"))
    raises_at(path, 1, "y1 >= y2", "field 'y2'")


def test_parse_line_error_names_path_and_line_and_carries_problem():
    with pytest.raises(DataError) as info:
        kitti.parse_line(line(x1="abc"), "labels/7.txt", 12)
    assert str(info.value).startswith("labels/7.txt:12: ")
    problem = info.value.problem
    assert (problem.path, problem.line, problem.kind) == ("labels/7.txt", 12, kitti.NON_NUMERIC)
    assert problem.message == str(info.value)


# --- files --------------------------------------------------------------------------------------

def test_zero_byte_file_is_an_image_without_objects(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert kitti.read_labels(path) == []
    assert kitti.read_labels_lenient(path) == ([], [])


def test_blank_lines_crlf_and_bom_are_accepted(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(("\ufeff" + GOOD + "\r\n\r\n   \n" + line() + "\r\n").encode())
    objs = kitti.read_labels(path)
    assert [o.type for o in objs] == ["Car", "Car"]


def test_blank_lines_keep_line_numbers(tmp_path):
    path = write_label(tmp_path, GOOD, "", "", line(x1="oops"))
    raises_at(path, 4, "field 'x1'")


def test_lenient_collects_every_problem_and_skips_bad_lines(tmp_path):
    path = write_label(tmp_path, GOOD, line(x1="abc"), line(), "Car 0 0", line(x1="60", x2="50"),
                       line(occluded="9"))
    objs, problems = kitti.read_labels_lenient(path)
    assert len(objs) == 2
    assert [(p.line, p.kind) for p in problems] == [
        (2, kitti.NON_NUMERIC), (4, kitti.FIELD_COUNT), (5, kitti.DEGENERATE_BOX),
        (6, kitti.OCCLUSION_RANGE)]
    for p in problems:
        assert p.severity == "error" and p.path == str(path)
        assert p.message.startswith(f"{path}:{p.line}: ")
    assert kitti.read_labels(path, strict=False) == objs
    raises_at(path, 2, "field 'x1'")


def test_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(GOOD.encode() + b"\nCar\xe9 " + line().split(" ", 1)[1].encode() + b"\n")
    with pytest.raises(DataError) as info:
        kitti.read_labels(path)
    assert str(info.value).startswith(f"{path}:2: ") and "UTF-8" in str(info.value)
    objs, problems = kitti.read_labels_lenient(path)
    assert objs == [] and problems[0].kind == kitti.UNREADABLE_LABEL and problems[0].line == 2
    with pytest.raises(DataError, match="UTF-8"):
        kitti.read_labels(path, strict=False)


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(DataError, match="nope.txt: label file not found"):
        kitti.read_labels(path)
    _, problems = kitti.read_labels_lenient(path)
    assert problems[0].kind == kitti.UNREADABLE_LABEL and problems[0].path == str(path)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root can read any file")
def test_unreadable_file_names_the_file(tmp_path):
    path = write_label(tmp_path, GOOD)
    path.chmod(0)
    try:
        with pytest.raises(DataError, match="cannot read the label file"):
            kitti.read_labels(path)
    finally:
        path.chmod(0o644)


def test_write_read_round_trip(tmp_path):
    objs = [
        KittiObject("Car", 0.25, 1, -1.58, 587.01, 173.33, 614.12, 200.12, 1.65, 1.67, 3.64,
                    -0.65, 1.71, 46.7, -1.59),
        KittiObject("Pedestrian", 0.0, 3, 0.5, 0.0, 0.0, 10.5, 40.25, 1.8, 0.6, 0.8, 1.0, 2.0,
                    3.0, 0.0, score=0.9123),
        KittiObject("DontCare", -1, -1, -10, 503.89, 169.71, 590.61, 190.13, -1, -1, -1, -1000,
                    -1000, -1000, -10),
    ]
    path = kitti.write_labels(tmp_path / "out" / "000001.txt", objs)
    assert kitti.read_labels(path) == objs
    assert path.read_text().splitlines()[0] == (
        "Car 0.25 1 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59")
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_write_no_objects_gives_zero_bytes(tmp_path):
    path = kitti.write_labels(tmp_path / "empty.txt", [])
    assert path.read_bytes() == b""
    assert kitti.read_labels(path) == []


def test_to_line_refuses_class_with_space():
    obj = kitti.parse_line(line())
    with pytest.raises(ValueError):
        KittiObject("traffic light", *[getattr(obj, f) for f in kitti.FIELDS[1:]]).to_line()


# --- difficulty ---------------------------------------------------------------------------------

def obj_with(height: float, occluded: int = 0, truncated: float = 0.0, cls: str = "Car") -> KittiObject:
    return KittiObject(cls, truncated, occluded, 0.0, 10.0, 100.0, 50.0, 100.0 + height,
                       1.5, 1.6, 3.9, 1.0, 1.5, 20.0, 0.0)


@pytest.mark.parametrize("height, occluded, truncated, expected", [
    (40.01, 0, 0.0, "easy"),
    (40.0, 0, 0.0, "moderate"),       # the devkit wants height > 40 for easy
    (100.0, 0, 0.15, "easy"),         # truncation limit is inclusive
    (100.0, 0, 0.16, "moderate"),
    (100.0, 1, 0.0, "moderate"),
    (100.0, 0, 0.30, "moderate"),
    (100.0, 0, 0.31, "hard"),
    (100.0, 2, 0.0, "hard"),
    (100.0, 0, 0.50, "hard"),
    (100.0, 0, 0.51, None),
    (100.0, 3, 0.0, None),            # occlusion unknown: beyond hard
    (25.01, 0, 0.0, "moderate"),
    (25.0, 0, 0.0, None),             # the devkit wants height > 25
    (10.0, 0, 0.0, None),
])
def test_difficulty_boundaries(height, occluded, truncated, expected):
    assert difficulty(obj_with(height, occluded, truncated)) == expected


def test_difficulty_table_and_dontcare():
    assert list(DIFFICULTIES) == ["easy", "moderate", "hard"]
    assert [(d.min_height, d.max_occlusion, d.max_truncation) for d in DIFFICULTIES.values()] == [
        (40, 0, 0.15), (25, 1, 0.30), (25, 2, 0.50)]
    assert difficulty(obj_with(100.0, cls="DontCare")) is None
    assert kitti.meets("hard", 30.0, 2, 0.5) and not kitti.meets("moderate", 30.0, 2, 0.5)


# --- images -------------------------------------------------------------------------------------

def save(path: Path, mode: str = "RGB", size=(48, 32), fmt=None, **kwargs) -> Path:
    rng = np.random.default_rng(0)
    w, h = size
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 255, (h, w, 4), dtype=np.uint8), "RGBA").convert(mode)
    img.save(path, fmt, **kwargs)
    return path


def cut(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


def test_check_image_sizes(tmp_path):
    assert images.check_image(save(tmp_path / "a.jpg")) == (48, 32)
    assert images.check_image(save(tmp_path / "b.png", size=(17, 9))) == (17, 9)
    assert images.image_size(tmp_path / "b.png") == (17, 9)
    data = (tmp_path / "a.jpg").read_bytes()
    assert images.size_of_bytes(data, "x.jpg") == (48, 32)
    assert images.size_of_bytes(data, "x.jpg", decode=True) == (48, 32)


def test_truncated_jpeg_is_detected(tmp_path):
    path = cut(save(tmp_path / "t.jpg", size=(160, 120), quality=95))
    assert images.image_size(path) == (160, 120)  # the header alone looks fine
    with pytest.raises(DataError) as info:
        images.check_image(path)
    assert str(info.value).startswith(f"{path}: corrupt or truncated image")
    assert "re-export or remove it" in str(info.value)
    with pytest.raises(DataError, match="truncated"):
        images.size_of_bytes(path.read_bytes(), path, decode=True)
    with pytest.raises(DataError, match="t.jpg"):
        images.load_rgb(path)


@pytest.mark.parametrize("keep", [0.6, 0.99])
def test_truncated_png_is_detected(tmp_path, keep):
    path = save(tmp_path / "t.png", size=(160, 120))
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)] if keep < 0.99 else data[:-6])  # cut IEND only
    with pytest.raises(DataError) as info:
        images.check_image(path)
    assert str(info.value).startswith(f"{path}: corrupt or truncated image")


def test_is_complete(tmp_path):
    for name in ("a.jpg", "a.png"):
        data = save(tmp_path / name, size=(160, 120)).read_bytes()
        assert images.is_complete(data)
        assert images.is_complete(data + b"\0" * 16)  # trailing padding is harmless
        assert not images.is_complete(data[:len(data) // 2])
        assert not images.is_complete(data[:-10])
    # an EXIF thumbnail's end marker before the main scan does not count
    data = (tmp_path / "a.jpg").read_bytes()
    thumb_like = data[:2] + b"\xff\xe1\x00\x06\xff\xd9\x00\x00" + data[2:]
    assert images.is_complete(thumb_like) and not images.is_complete(thumb_like[:-200])
    assert images.is_complete(b"GIF89a...")


def test_not_an_image(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"x.png: not a readable image"):
        images.check_image(path)
    with pytest.raises(DataError, match="x.png"):
        images.image_size(path)
    with pytest.raises(DataError, match="image file not found"):
        images.check_image(tmp_path / "missing.jpg")


def test_load_rgb_modes(tmp_path):
    rgb = images.load_rgb(save(tmp_path / "rgb.png"))
    assert rgb.shape == (32, 48, 3) and rgb.dtype == np.uint8

    gray = images.load_rgb(save(tmp_path / "l.png", "L"))
    assert gray.shape == (32, 48, 3) and gray.dtype == np.uint8
    assert (gray[:, :, 0] == gray[:, :, 1]).all() and (gray[:, :, 1] == gray[:, :, 2]).all()
    assert (gray[:, :, 0] == np.asarray(Image.open(tmp_path / "l.png"))).all()

    gray_jpg = images.load_rgb(save(tmp_path / "l.jpg", "L"))
    assert gray_jpg.shape == (32, 48, 3)

    pal = images.load_rgb(save(tmp_path / "p.png", "P"))
    assert pal.shape == (32, 48, 3)

    la = images.load_rgb(save(tmp_path / "la.png", "LA"))
    assert la.shape == (32, 48, 3)

    deep = save(tmp_path / "i16.png", "I;16")
    arr16 = np.asarray(Image.open(deep)).astype(np.int64)
    loaded = images.load_rgb(deep)
    assert loaded.shape == (32, 48, 3) and loaded.dtype == np.uint8
    assert (loaded[:, :, 0] == (arr16 >> 8)).all()  # scaled, not clipped at 255


def test_load_rgba_composites_on_black(tmp_path):
    pixels = np.zeros((4, 4, 4), dtype=np.uint8)
    pixels[..., :3] = 200
    pixels[0, 0, 3] = 255   # opaque
    pixels[0, 1, 3] = 0     # transparent
    pixels[0, 2, 3] = 128   # half
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels, "RGBA").save(path)
    out = images.load_rgb(path)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [200, 200, 200]
    assert out[0, 1].tolist() == [0, 0, 0]
    assert out[0, 2].tolist() == [100, 100, 100]


def test_find_images(tmp_path):
    save(tmp_path / "a.jpg")
    save(tmp_path / "b.PNG")
    save(tmp_path / "c.JPEG")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "._a.jpg").write_bytes(b"junk")  # macOS resource fork
    (tmp_path / "sub.jpg").mkdir()
    found = images.find_images(tmp_path)
    assert found == {"a": tmp_path / "a.jpg", "b": tmp_path / "b.PNG", "c": tmp_path / "c.JPEG"}


def test_find_images_duplicate_stem(tmp_path):
    save(tmp_path / "a.jpg")
    save(tmp_path / "a.png")
    with pytest.raises(DataError) as info:
        images.find_images(tmp_path)
    assert "a.jpg" in str(info.value) and "a.png" in str(info.value)
    scan = images.scan_images(tmp_path)
    assert list(scan.duplicates) == ["a"] and scan.images["a"].name == "a.jpg"


def test_floats_are_finite_after_parse():
    obj = kitti.parse_line(GOOD)
    assert all(math.isfinite(getattr(obj, f)) for f in kitti.FIELDS[1:])
