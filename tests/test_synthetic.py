"""The synthetic IVA scene generator: layout, labels, determinism, domains, safety of the output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jupyter_tlt.errors import OutputError, TltError
from jupyter_tlt.data.synthetic import (CLASSES, CROP_CLASSES, DOMAINS, MAX_TRUNCATION, MIN_BOX_HEIGHT_PX,
                                        Domain, GenerateResult, generate)
from jupyter_tlt.data.synthetic.dataset import image_rng
from jupyter_tlt.data.synthetic.scene import EMPTY_FRACTION, build_scene

W, H = 320, 192


def parse_labels(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        f = line.split(" ")
        assert len(f) == 15, f"{path}: {line!r} has {len(f)} fields"
        vals = [float(v) for v in f[1:]]
        rows.append(dict(zip(["type", "truncated", "occluded", "alpha", "x1", "y1", "x2", "y2",
                              "h", "w", "l", "x", "y", "z", "ry"], [f[0]] + vals)))
    return rows


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> tuple[Path, GenerateResult]:
    out = tmp_path_factory.mktemp("syn") / "small"
    result = generate(out, 30, width=W, height=H, seed=3, workers=1, progress=False)
    return out, result


def test_detection_layout_and_labels(small_set):
    out, result = small_set
    images = sorted((out / "image_2").iterdir())
    labels = sorted((out / "label_2").iterdir())
    assert [p.name for p in images] == [f"{i:06d}.jpg" for i in range(30)]
    assert [p.name for p in labels] == [f"{i:06d}.txt" for i in range(30)]
    assert not list(out.rglob(".tmp-*")), "temporary files left behind"
    seen = set()
    total = 0
    for path in labels:
        with Image.open(out / "image_2" / (path.stem + ".jpg")) as im:
            assert im.size == (W, H) and im.mode == "RGB"
        text = path.read_text()
        assert text == "" or text.endswith("\n")
        for row in parse_labels(path):
            total += 1
            seen.add(row["type"])
            assert row["type"] in CLASSES
            assert 0 <= row["x1"] < row["x2"] <= W - 1 and 0 <= row["y1"] < row["y2"] <= H - 1
            assert row["y2"] - row["y1"] >= MIN_BOX_HEIGHT_PX - 0.01
            assert 0.0 <= row["truncated"] <= MAX_TRUNCATION
            assert row["occluded"] in (0, 1, 2)
            assert -math.pi - 0.01 <= row["alpha"] <= math.pi + 0.01
            assert row["h"] > 0 and row["w"] > 0 and row["l"] > 0 and row["z"] > 0
            # alpha = rotation_y - arctan2(x, z), wrapped
            expected = row["ry"] - math.atan2(row["x"], row["z"])
            assert abs((row["alpha"] - expected + math.pi) % (2 * math.pi) - math.pi) < 0.03
    assert seen == set(CLASSES), f"classes seen in 30 images: {seen}"
    assert result.num_objects == total == sum(result.class_counts.values())
    assert set(result.class_counts) == set(CLASSES)

    meta = json.loads((out / "generate.json").read_text())
    assert meta["num_images"] == 30 and meta["seed"] == 3 and meta["task"] == "detection"
    assert meta["domain"] == DOMAINS["source"].to_dict()
    assert meta["class_counts"] == result.class_counts
    frame = result.to_frame()
    assert list(frame["class"]) == list(CLASSES) and frame["count"].sum() == total
    assert "<table" in result._repr_html_() and "source" in result._repr_html_()


def test_deterministic_and_independent_of_workers(small_set, tmp_path):
    out, _ = small_set
    first = tree_bytes(out)
    generate(tmp_path / "again", 30, width=W, height=H, seed=3, workers=2, progress=False)
    assert tree_bytes(tmp_path / "again") == first
    generate(tmp_path / "other", 6, width=W, height=H, seed=4, workers=1, progress=False)
    other = tree_bytes(tmp_path / "other")
    for i in range(6):
        assert other[f"image_2/{i:06d}.jpg"] != first[f"image_2/{i:06d}.jpg"]


def test_heights_span_kitti_difficulties(tmp_path):
    generate(tmp_path, 20, width=960, height=544, seed=0, workers=1, progress=False)
    heights, occluded, truncated = [], [], []
    for path in sorted((tmp_path / "label_2").iterdir()):
        for row in parse_labels(path):
            heights.append(row["y2"] - row["y1"])
            occluded.append(row["occluded"])
            truncated.append(row["truncated"])
    heights = np.array(heights)
    assert (heights >= 40).sum() >= 10, "easy-sized objects (>= 40 px)"
    assert ((heights >= 25) & (heights < 40)).sum() >= 5, "moderate-sized objects (25-40 px)"
    assert (heights < 25).sum() >= 5, "small objects (< 25 px)"
    assert heights.max() > 120
    assert {0, 1, 2} <= set(occluded), "all KITTI occlusion levels"
    assert max(truncated) > 0.15, "truncated objects at the image border"


def test_max_distance_brings_objects_near(tmp_path):
    """--max_distance caps the labelled objects' depth, so small frames hold more moderate-size boxes."""
    far = generate(tmp_path / "far", 12, width=W, height=H, seed=5, workers=1, progress=False)
    near = generate(tmp_path / "near", 12, width=W, height=H, seed=5, workers=1, progress=False,
                    max_distance=15)
    rows = {name: [r for p in sorted((tmp_path / name / "label_2").glob("*.txt")) for r in parse_labels(p)]
            for name in ("far", "near")}
    assert max(r["z"] for r in rows["far"]) > 20
    assert rows["near"] and max(r["z"] for r in rows["near"]) <= 15 * 1.01
    tall = {name: sum(r["y2"] - r["y1"] >= 25 for r in rows[name]) / len(rows[name]) for name in rows}
    assert tall["near"] > tall["far"]
    assert json.loads((tmp_path / "near" / "generate.json").read_text())["max_distance"] == 15
    assert far.num_images == near.num_images == 12


def test_some_images_are_empty():
    dom = DOMAINS["source"]
    empty = sum(not build_scene(image_rng(0, i, dom), W, H, dom).labels for i in range(120))
    assert 1 <= empty <= 120 * EMPTY_FRACTION * 4


def test_source_and_target_differ(tmp_path):
    stats = {}
    for name in ("source", "target"):
        generate(tmp_path / name, 8, width=W, height=H, domain=name, image_format="png", workers=1,
                 progress=False)
        means, noise = [], []
        for p in sorted((tmp_path / name / "image_2").iterdir()):
            a = np.asarray(Image.open(p), dtype=np.float64)
            means.append(a.reshape(-1, 3).mean(axis=0))
            d2 = a[:, 2:] - 2 * a[:, 1:-1] + a[:, :-2]          # mostly sensor noise
            noise.append(np.median(np.abs(d2)))
        stats[name] = (np.mean(means, axis=0), float(np.mean(noise)))
    (src_mean, src_noise), (tgt_mean, tgt_noise) = stats["source"], stats["target"]
    assert tgt_mean.mean() < src_mean.mean() - 15, "target (dusk) is darker"
    assert tgt_mean[0] / tgt_mean[2] > 1.2 * src_mean[0] / src_mean[2], "target is warmer"
    assert tgt_noise > 1.5 * src_noise, "target sensor is noisier"


def test_custom_domain(tmp_path):
    grey = DOMAINS["source"].replace(name="grey", saturation=0.0, noise_sigma=0.0, blur_sigma=0.0,
                                     vignette=0.0, sky_top=(128, 128, 128), sky_bottom=(128, 128, 128))
    result = generate(tmp_path, 2, width=W, height=H, domain=grey, image_format="png", workers=1,
                      progress=False)
    assert result.domain == "grey"
    a = np.asarray(Image.open(tmp_path / "image_2" / "000000.png"), dtype=np.int16)
    assert np.abs(a[..., 0] - a[..., 1]).max() <= 1 and np.abs(a[..., 1] - a[..., 2]).max() <= 1
    assert json.loads((tmp_path / "generate.json").read_text())["domain"]["saturation"] == 0.0


def test_classification_layout(tmp_path):
    result = generate(tmp_path, 15, task="classification", crop_size=32, seed=1, workers=1,
                      progress=False)
    dirs = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert dirs == sorted(CROP_CLASSES)
    for cls in CROP_CLASSES:
        files = sorted((tmp_path / cls).iterdir())
        assert len(files) == 3
        for f in files:
            with Image.open(f) as im:
                assert im.size == (32, 32) and im.mode == "RGB"
    assert result.class_counts == {c: 3 for c in CROP_CLASSES}
    assert result.num_objects == 15 and result.task == "classification"


def test_refuses_existing_output(tmp_path):
    generate(tmp_path, 2, width=W, height=H, workers=1, progress=False)
    with pytest.raises(OutputError, match="--overwrite"):
        generate(tmp_path, 2, width=W, height=H, workers=1, progress=False)
    (tmp_path / "label_2" / "999999.txt").write_text("stale\n")
    generate(tmp_path, 1, width=W, height=H, workers=1, progress=False, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "label_2").iterdir()) == ["000000.txt"]
    # empty folders are not "existing output"
    fresh = tmp_path / "fresh"
    (fresh / "image_2").mkdir(parents=True)
    generate(fresh, 1, width=W, height=H, workers=1, progress=False)


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        generate(blocker, 1, width=W, height=H, workers=1, progress=False)


@pytest.mark.parametrize("kwargs, words", [
    ({"num_images": 0}, ["num_images", "at least 1"]),
    ({"width": 32}, ["width", "64"]),
    ({"height": 10_000}, ["height"]),
    ({"domain": "night"}, ["'night'", "'source'", "'target'"]),
    ({"task": "segmentation"}, ["'detection'", "'classification'"]),
    ({"image_format": "bmp"}, ["'jpg'", "'png'"]),
    ({"workers": 0}, ["workers"]),
    ({"seed": -1}, ["seed"]),
    ({"max_distance": 2}, ["max_distance", "5 to 500"]),
])
def test_bad_arguments(tmp_path, kwargs, words):
    args = {"num_images": 1, "width": W, "height": H, "progress": False, **kwargs}
    with pytest.raises(TltError) as info:
        generate(tmp_path / "out", **args)
    for w in words:
        assert w in str(info.value)
    assert not (tmp_path / "out").exists()


def test_bad_domain_values():
    with pytest.raises(TltError, match="noise_sigma"):
        Domain(name="bad", noise_sigma=-1.0)
    with pytest.raises(TltError, match="white_balance"):
        Domain(name="bad", white_balance=(1.0, 1.0))
