"""An inference run as a gallery: GET gallery/<run> (pages of images with their detections) and
GET image/<path> (whole or as a thumbnail), on a real jupyter_server over loopback HTTP."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from jupyter_tlt.data.kitti import KittiObject, write_labels
from jupyter_tlt.experiments import Experiment
from jupyter_tlt.metrics.kitti_results import result_line, unknown_3d
from test_registry import local, tiny_model  # noqa: F401
from test_server import API, error_of, get_json, jp_server_config  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]
IMAGES = 7


def _box(kind: str, score: float | None, x1: float) -> KittiObject:
    return KittiObject(kind, 0.0, 0, 0.0, x1, 10.0, x1 + 20.5, 40.0, 0, 0, 0, 0, 0, 0, 0, score)


@pytest.fixture
def infer_run(jp_root_dir) -> Path:
    """runs/detect/infer as `tlt infer` leaves it: images/<stem>.jpg and labels/<stem>.txt (with scores)."""
    exp = Experiment(Path(jp_root_dir) / "runs" / "detect")
    exp.start(task="detection", arch="resnet18", epochs=1, spec="")
    run = exp.root / "infer"
    (run / "images").mkdir(parents=True)
    for i in range(IMAGES):
        Image.new("RGB", (640, 400), (40 * i % 255, 90, 160)).save(run / "images" / f"{i:06d}.jpg")
        boxes = [unknown_3d("car", (5, 10, 25.5, 40), 0.42), unknown_3d("pedestrian", (50, 10, 70.5, 40), 0.93)]
        (run / "labels").mkdir(exist_ok=True)  # as tlt infer writes them: KITTI result lines
        (run / "labels" / f"{i:06d}.txt").write_text("".join(result_line(b) + "\n" for b in boxes[: i % 3]))
    write_labels(run / "labels" / "000005.txt", [_box("Car", None, 7)])  # a ground-truth file (no confidence)
    (run / "images" / ".hidden.jpg").write_bytes(b"not listed")
    (run / "images" / "notes.md").write_text("not an image")
    return run


async def test_gallery_pages_images_with_their_detections(jp_fetch, infer_run):
    first = await get_json(jp_fetch, "gallery/runs/detect/infer", params={"limit": "3"})
    assert first["total"] == IMAGES and first["offset"] == 0 and first["limit"] == 3
    assert [i["name"] for i in first["images"]] == ["000000.jpg", "000001.jpg", "000002.jpg"]
    two = first["images"][2]
    assert two["path"] == "runs/detect/infer/images/000002.jpg" and two["labels"] == "runs/detect/infer/labels/000002.txt"
    assert [d["class"] for d in two["detections"]] == ["pedestrian", "car"]  # most confident first
    assert two["detections"][0] == {"class": "pedestrian", "confidence": 0.93, "box": [50.0, 10.0, 70.5, 40.0]}
    assert first["images"][0]["detections"] == [] and first["images"][0]["labels"] is not None
    ground_truth = await get_json(jp_fetch, "gallery/runs/detect/infer", params={"offset": "5", "limit": "1"})
    assert ground_truth["images"][0]["detections"] == [{"class": "Car", "confidence": None, "box": [7.0, 10.0, 27.5, 40.0]}]
    last = await get_json(jp_fetch, "gallery/runs/detect/infer", params={"offset": "6", "limit": "3"})
    assert [i["name"] for i in last["images"]] == ["000006.jpg"]
    beyond = await get_json(jp_fetch, "gallery/runs/detect/infer", params={"offset": "50"})
    assert beyond["images"] == [] and beyond["total"] == IMAGES
    (infer_run / "labels" / "000001.txt").unlink()
    again = await get_json(jp_fetch, "gallery/runs/detect/infer")
    assert again["limit"] == 60 and again["images"][1]["labels"] is None and again["images"][1]["detections"] == []


async def test_gallery_refuses_bad_requests(jp_fetch, infer_run):
    assert (await error_of(jp_fetch, "gallery/runs/detect/infer", headers={"Authorization": ""}))[0] == 403
    for params, says in (({"offset": "-1"}, "offset="), ({"limit": "0"}, "limit="), ({"limit": "201"}, "1 to 200"),
                         ({"offset": "x"}, "whole number")):
        code, message = await error_of(jp_fetch, "gallery/runs/detect/infer", params=params)
        assert code == 400 and says in message, (params, message)
    code, message = await error_of(jp_fetch, "gallery/runs/../../etc")
    assert code == 400 and "contains '..'" in message
    code, message = await error_of(jp_fetch, "gallery/runs/detect/nothing")
    assert code == 404 and "no such folder" in message


async def test_image_is_served_whole_or_as_a_thumbnail_inside_the_root_only(jp_fetch, infer_run, tmp_path):
    whole = await jp_fetch(API, "image/runs/detect/infer/images/000003.jpg")
    assert whole.headers["Content-Type"] == "image/jpeg"
    assert whole.body == (infer_run / "images" / "000003.jpg").read_bytes()
    thumb = await jp_fetch(API, "image/runs/detect/infer/images/000003.jpg", params={"thumbnail": "1"})
    assert thumb.headers["Content-Type"] == "image/jpeg" and len(thumb.body) < len(whole.body)
    assert Image.open(io.BytesIO(thumb.body)).size == (256, 160)
    assert (await error_of(jp_fetch, "image/runs/detect/infer/images/000003.jpg", headers={"Authorization": ""}))[0] == 403
    code, message = await error_of(jp_fetch, "image/runs/detect/infer/images/nothing.jpg")
    assert code == 404 and "no such image" in message
    code, message = await error_of(jp_fetch, "image/runs/detect/experiment.json")
    assert code == 400 and "not an image" in message
    code, _ = await error_of(jp_fetch, "image/runs/../../etc/passwd.png")
    assert code == 400
    outside = tmp_path / "outside.jpg"
    Image.new("RGB", (8, 8)).save(outside)
    (infer_run / "images" / "link.jpg").symlink_to(outside)
    code, message = await error_of(jp_fetch, "image/runs/detect/infer/images/link.jpg")
    assert code == 400 and "outside the experiments root" in message
    secret = tmp_path / "secret.txt"
    write_labels(secret, [_box("secret", 0.99, 1)])
    (infer_run / "labels" / "000004.txt").unlink()
    (infer_run / "labels" / "000004.txt").symlink_to(secret)
    listed = await get_json(jp_fetch, "gallery/runs/detect/infer")
    assert "link.jpg" not in [i["name"] for i in listed["images"]]  # a link leaving the root is not listed either
    assert listed["images"][4]["labels"] is None and listed["images"][4]["detections"] == []  # nor read
    (infer_run / "images" / "broken.png").write_bytes(b"not a png")
    code, message = await error_of(jp_fetch, "image/runs/detect/infer/images/broken.png", params={"thumbnail": "1"})
    assert code == 400 and "not a readable image" in message
    assert json.loads((await jp_fetch(API, "gallery/runs/detect/infer")).body)["total"] == IMAGES + 1
