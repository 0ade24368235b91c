"""The lab sidebar's REST API (docs/sidebar-api.md) on a real jupyter_server, over loopback HTTP.

The registry is a folder holding a real (tiny) Keras model; the experiments are written with
`Experiment` exactly as training writes them.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_tlt import __version__
from jupyter_tlt.experiment_index import ExperimentIndex, UnsafePath, artifact_kind, resolve_inside
from jupyter_tlt.experiments import Experiment
from jupyter_tlt.registry.manifest import sha256_file
from test_registry import NAME, local, tiny_model  # noqa: F401  (fixtures: a registry with versions 1 and 2)

pytest_plugins = ["pytest_jupyter.jupyter_server"]

API = "tlt/api"
ARTIFACTS = {
    "weights/model_epoch_002.keras": "checkpoint", "weights/model.keras": "model",
    "prune/model_pruned.keras": "pruned", "prune/model_pruned_prune_report.json": "report",
    "prune/model_pruned_prune_layers.csv": "report", "export/model.onnx": "onnx",
    "export/model.engine": "engine", "export/cal.bin": "calibration", "export/cal.tensorfile": "calibration",
    "export/labels.txt": "deepstream", "export/nvinfer_config.txt": "deepstream", "spec.txt": "spec",
    "evaluate/metrics.json": "report", "train.log": "log", "tensorboard/events.out.tfevents.1.host": "log",
    "notes.md": "other", "experiment.json": "spec", "status.jsonl": "log",
    "infer/images/000001.jpg": "image", "infer/labels/000001.txt": "labels", "infer/predictions.csv": "report",
}


def _experiment(root: Path, relative: str, task: str, metric: str, values: list[float], status: str,
                mtime: float) -> Experiment:
    exp = Experiment(root / relative)
    exp.start(task=task, arch="resnet18", epochs=len(values) + 1, spec="model_config { arch: \"resnet\" }")
    for epoch, value in enumerate(values, 1):
        exp.log("validation", epoch=epoch, **{metric: value})
        exp.log("epoch_end", epoch=epoch, loss=1.0 / epoch, lr=1e-3, **{f"val_{metric}": value})
    if status != "running":
        exp.set_status(status, **{metric: values[-1]})
    for name in ("experiment.json", "status.jsonl"):
        os.utime(exp.root / name, (mtime, mtime))
    return exp


@pytest.fixture
def experiments(jp_root_dir, tmp_path) -> Path:
    root = Path(jp_root_dir)
    detect = _experiment(root, "runs/detect", "detection", "mAP", [0.2, 0.6, 0.5], "finished", 2_000_000_000)
    detect.log("epoch_end", epoch=2, loss=0.4, lr=1e-3)  # a resumed run repeats epoch 2
    os.utime(detect.events_path, (2_000_000_000, 2_000_000_000))
    for relative in ARTIFACTS:
        path = detect.root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * 10)
    _experiment(root, "runs/cls", "classification", "accuracy", [0.7, 0.9, 0.8], "running", 1_900_000_000)
    _experiment(root, ".hidden/exp", "detection", "mAP", [0.1], "finished", 1_800_000_000)
    _experiment(root, "node_modules/pkg/exp", "detection", "mAP", [0.1], "finished", 1_800_000_000)
    outside = tmp_path / "outside"
    _experiment(outside, "exp", "detection", "mAP", [0.1], "finished", 1_800_000_000)
    (outside / "secret.bin").write_bytes(b"secret")
    (root / "escape").symlink_to(outside / "exp", target_is_directory=True)
    (detect.root / "export" / "leak.bin").symlink_to(outside / "secret.bin")
    return root


@pytest.fixture
def jp_server_config(local):  # noqa: F811
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_tlt": True}},
                   "TltExtension": {"registry": local.url}})


async def get_json(jp_fetch, *parts: str, **kwargs) -> dict:
    response = await jp_fetch(API, *parts, **kwargs)
    return json.loads(response.body)


async def error_of(jp_fetch, *parts: str, **kwargs) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, *parts, **kwargs)
    body = info.value.response.body
    return info.value.code, (json.loads(body).get("message", "") if body else "")


async def test_version_handshake(jp_fetch):
    assert await get_json(jp_fetch, "version") == {"version": __version__, "api": 1}


async def test_requests_without_a_token_are_refused(jp_fetch):
    assert (await error_of(jp_fetch, "version", headers={"Authorization": ""}))[0] == 403
    assert (await error_of(jp_fetch, "experiments", headers={"Authorization": ""}))[0] == 403
    code, _ = await error_of(jp_fetch, "registry/pull", method="POST", body=json.dumps({"name": NAME}),
                             headers={"Authorization": ""})
    assert code == 403


async def test_registry_models_and_versions(jp_fetch, local, tiny_model):  # noqa: F811
    answer = await get_json(jp_fetch, "registry/models")
    assert answer["registry"] == local.url
    models = {m["name"]: m for m in answer["models"]}
    ours = models[NAME]
    assert ours["versions"] == ["2", "1"] and ours["latest"] == "2" and ours["arch"] == "resnet10"
    assert ours["task"] == "classification" and ours["input_size"] == [3, 32, 32]
    assert ours["size"] == tiny_model.stat().st_size and ours["metrics"] == {}
    assert set(ours) == {"name", "task", "arch", "input_size", "latest", "versions", "size", "metrics",
                         "description"}
    assert models["detectnet_v2_resnet18"]["versions"] == [] and models["detectnet_v2_resnet18"]["latest"] is None
    versions = await get_json(jp_fetch, "registry/models", NAME, "versions")
    assert versions["name"] == NAME
    assert [(v["version"], v["description"], v["metrics"]) for v in versions["versions"]] == [
        ("2", "second", {}), ("1", "first", {"accuracy": 0.5})]
    assert set(versions["versions"][0]) == {"version", "created", "size", "metrics", "description"}
    code, message = await error_of(jp_fetch, "registry/models/classification_resnet81/versions")
    assert code == 404 and "no model 'classification_resnet81'" in message and NAME in message
    code, message = await error_of(jp_fetch, "registry/models/bad$name/versions")
    assert code == 400 and "letters, digits" in message


async def wait_for_job(jp_fetch, job_id: str) -> dict:
    for _ in range(600):
        job = await get_json(jp_fetch, "jobs", job_id)
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} still running: {job}")


async def test_pull_job_runs_to_the_end(jp_fetch, jp_root_dir, tiny_model):  # noqa: F811
    response = await jp_fetch(API, "registry/pull", method="POST", body=json.dumps({"name": NAME}))
    assert response.code == 202
    job = await wait_for_job(jp_fetch, json.loads(response.body)["job"])
    size = tiny_model.stat().st_size
    assert job["kind"] == "pull" and job["state"] == "finished", job
    assert job["path"] == f"pretrained/{NAME}/2/model.keras" and job["done"] == job["total"] == size
    assert sha256_file(Path(jp_root_dir) / job["path"]) == sha256_file(tiny_model)
    body = json.dumps({"name": NAME, "version": "1", "dest": "models/base"})
    job_id = json.loads((await jp_fetch(API, "registry/pull", method="POST", body=body)).body)["job"]
    job = await wait_for_job(jp_fetch, job_id)
    assert job["state"] == "finished" and job["path"] == f"models/base/{NAME}/1/model.keras"
    assert (Path(jp_root_dir) / job["path"]).is_file()


@pytest.mark.parametrize(("body", "code", "says"), [
    ("", 400, "body is empty"),
    ("{not json", 400, "not valid JSON"),
    ("[1, 2]", 400, "is list JSON"),
    ("{}", 400, 'no "name"'),
    (json.dumps({"name": "../etc"}), 400, "letters, digits"),
    (json.dumps({"name": NAME, "version": ["1"]}), 400, '"version" is'),
    (json.dumps({"name": NAME, "dest": "../outside"}), 400, "contains '..'"),
    (json.dumps({"name": NAME, "dest": "/tmp/models"}), 400, "is absolute"),
    (json.dumps({"name": "detectnet_v2_vgg16"}), 400, "no version with weights"),
    (json.dumps({"name": "classification_resnet81"}), 404, "no model"),
    (json.dumps({"name": NAME, "version": "7"}), 404, "no version '7'"),
])
async def test_pull_refuses_bad_requests(jp_fetch, jp_root_dir, body, code, says):
    status, message = await error_of(jp_fetch, "registry/pull", method="POST", body=body)
    assert status == code and says in message, message
    assert not (Path(jp_root_dir) / "pretrained").exists()


async def test_unknown_job_is_404(jp_fetch):
    code, message = await error_of(jp_fetch, "jobs/0123abcd")
    assert code == 404 and "no job '0123abcd'" in message


async def test_experiments_list_newest_first(jp_fetch, experiments):
    answer = await get_json(jp_fetch, "experiments")
    assert answer["root"] == ""
    rows = answer["experiments"]
    assert [r["path"] for r in rows] == ["runs/detect", "runs/cls"]  # no hidden, node_modules or symlinked ones
    detect, cls = rows
    assert detect == {"path": "runs/detect", "name": "detect", "task": "detection", "arch": "resnet18",
                      "status": "finished", "epoch": 3, "epochs": 4, "metric": {"name": "mAP", "value": 0.6},
                      "updated": detect["updated"], "mtime": 2_000_000_000}
    assert (cls["status"], cls["epoch"], cls["metric"]) == ("running", 3, {"name": "accuracy", "value": 0.9})
    assert (await get_json(jp_fetch, "experiments/"))["experiments"] == rows


async def test_experiment_detail(jp_fetch, experiments):
    answer = await get_json(jp_fetch, "experiments/runs/detect")
    assert answer["path"] == "runs/detect" and answer["metric"] == {"name": "mAP", "value": 0.6}
    assert answer["info"]["task"] == "detection" and answer["info"]["status"] == "finished"
    assert [(h["epoch"], h["loss"]) for h in answer["history"]] == [(1, 1.0), (2, 0.4), (3, pytest.approx(1 / 3))]
    assert answer["history"][0]["val_mAP"] == 0.2
    kinds = {a["path"].removeprefix("runs/detect/"): a["kind"] for a in answer["artifacts"]}
    assert kinds == ARTIFACTS  # export/leak.bin (a link out of the root) is not listed
    sizes = {a["name"]: a["size"] for a in answer["artifacts"]}
    assert sizes["export/model.onnx"] == 10  # name: the path inside the results directory
    assert all(isinstance(a["mtime"], float) for a in answer["artifacts"])


@pytest.mark.parametrize(("path", "says"), [
    ("experiments/../outside", "contains '..'"),
    ("experiments/runs/../../outside", "contains '..'"),
    ("experiments//etc", "is absolute"),
    ("experiments/escape", "outside the experiments root"),
])
async def test_paths_outside_the_root_are_refused(jp_fetch, experiments, path, says):
    code, message = await error_of(jp_fetch, path)
    assert code == 400 and says in message, message


async def test_nul_byte_in_a_path_is_refused(http_server_client, jp_base_url, jp_auth_header, experiments):
    response = await http_server_client.fetch(f"{jp_base_url}{API}/experiments/runs/detect%00x",
                                              headers=jp_auth_header, raise_error=False)
    assert response.code == 400 and "NUL byte" in json.loads(response.body)["message"]


class TestConfiguredRoot:
    """`TltExtension.experiments_root` below the server root: paths are relative to it, `root` names it."""

    @pytest.fixture
    def jp_server_config(self, local, jp_root_dir):  # noqa: F811
        return Config({"ServerApp": {"jpserver_extensions": {"jupyter_tlt": True}},
                       "TltExtension": {"registry": local.url, "experiments_root": str(Path(jp_root_dir) / "runs")}})

    async def test_paths_are_relative_to_the_experiments_root(self, jp_fetch, jp_root_dir, experiments):
        answer = await get_json(jp_fetch, "experiments")
        assert answer["root"] == "runs" and [r["path"] for r in answer["experiments"]] == ["detect", "cls"]
        detail = await get_json(jp_fetch, "experiments/detect")
        assert "detect/export/model.onnx" in {a["path"] for a in detail["artifacts"]}
        response = await jp_fetch(API, "registry/pull", method="POST", body=json.dumps({"name": NAME}))
        job = await wait_for_job(jp_fetch, json.loads(response.body)["job"])
        assert job["path"] == f"pretrained/{NAME}/2/model.keras"
        assert (Path(jp_root_dir) / "runs" / job["path"]).is_file()


async def test_unknown_experiment_is_404(jp_fetch, experiments):
    code, message = await error_of(jp_fetch, "experiments/runs/nothing")
    assert code == 404 and "holds no experiment.json" in message


def test_resolve_inside(tmp_path):
    (tmp_path / "a").mkdir()
    assert resolve_inside(tmp_path, "a/b.txt") == tmp_path.resolve() / "a" / "b.txt"
    for bad, says in [("a\0b", "NUL"), ("/etc/passwd", "absolute"), ("a/../../x", "'..'"), ("..", "'..'")]:
        with pytest.raises(UnsafePath, match=says):
            resolve_inside(tmp_path, bad)
    (tmp_path / "a" / "up").symlink_to(tmp_path.parent)
    with pytest.raises(UnsafePath, match="outside the experiments root"):
        resolve_inside(tmp_path, "a/up/x")


def test_index_sees_changes_after_a_warm_scan(tmp_path):
    index = ExperimentIndex(tmp_path)
    exp = _experiment(tmp_path, "one", "detection", "mAP", [0.2], "running", 1_000_000_000)
    assert [(r["path"], r["epoch"]) for r in index.summaries()] == [("one", 1)]
    exp.log("validation", epoch=2, mAP=0.7)
    exp.log("epoch_end", epoch=2, loss=0.3)
    exp.set_status("finished")
    _experiment(tmp_path, "deep/two", "classification", "accuracy", [0.5], "failed", 1_000_000_000)
    rows = {r["path"]: r for r in index.summaries()}
    assert (rows["one"]["epoch"], rows["one"]["status"], rows["one"]["metric"]["value"]) == (2, "finished", 0.7)
    assert rows["deep/two"]["status"] == "failed"
    with open(exp.events_path, "a") as f:
        f.write('{"time": 1, "event": "epoch_end", "epo')  # a torn line: ignored until completed
    assert {r["path"]: r["epoch"] for r in index.summaries()}["one"] == 2
    with open(exp.events_path, "a") as f:
        f.write('ch": 3, "loss": 0.2}\n')
    assert {r["path"]: r["epoch"] for r in index.summaries()}["one"] == 3


def test_artifact_kinds():
    assert {name: artifact_kind(name) for name in ARTIFACTS} == ARTIFACTS
    assert artifact_kind("export/calibration.hdf5") == "calibration"
    assert artifact_kind("weights/old.h5") == "model"
