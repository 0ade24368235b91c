"""The sidebar's dashboard routes (lineage, compare) on a real jupyter_server over loopback HTTP."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from jupyter_tlt.experiments import Experiment
from jupyter_tlt.lineage import record
from jupyter_tlt.server.dashboard import MAX_COMPARE, flatten_spec, spec_diff
from test_registry import local, tiny_model  # noqa: F401
from test_server import API, error_of, experiments, get_json, jp_server_config  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def chain(experiments, tmp_path):  # noqa: F811
    detect = experiments / "runs" / "detect"
    outside = tmp_path / "pretrained.keras"
    outside.write_bytes(b"weights")
    record(detect / "weights/model.keras", "train", {"model": str(outside)}, {"parameters": 1000, "size": 10})
    record(detect / "prune/model_pruned.keras", "prune", {"model": str(detect / "weights/model.keras")},
           {"parameters": 400}, files={"prune report": detect / "prune/model_pruned_prune_report.json"})
    record(detect / "export/model.onnx", "export", {"model": str(detect / "prune/model_pruned.keras")},
           {"precision": "fp32"}, files={"calibration cache": detect / "export/cal.bin"})
    return experiments


async def test_lineage_of_a_model_and_of_an_experiment(jp_fetch, chain):
    answer = await get_json(jp_fetch, "lineage/runs/detect/export/model.onnx")
    nodes = answer["nodes"]
    assert [n["step"] for n in nodes] == ["model", "train", "prune", "export"]
    assert nodes[0]["outside"] and nodes[0]["path"] is None and nodes[0]["name"] == "pretrained.keras"
    assert [n["path"] for n in nodes[1:]] == ["runs/detect/weights/model.keras", "runs/detect/prune/model_pruned.keras",
                                              "runs/detect/export/model.onnx"]
    assert nodes[1]["experiment"] == "runs/detect" and nodes[1]["summary"].startswith("0.00M params")
    assert nodes[2]["files"] == {"prune report": "runs/detect/prune/model_pruned_prune_report.json"}
    assert nodes[3]["files"] == {"calibration cache": "runs/detect/export/cal.bin"}
    whole = await get_json(jp_fetch, "lineage/runs/detect")
    assert [n["step"] for n in whole["nodes"]] == ["model", "train", "prune", "export"]
    assert (await get_json(jp_fetch, "lineage/runs/cls"))["nodes"] == []


async def test_lineage_refuses_bad_paths_and_needs_auth(jp_fetch, chain):
    assert (await error_of(jp_fetch, "lineage/runs/detect", headers={"Authorization": ""}))[0] == 403
    code, message = await error_of(jp_fetch, "lineage/runs/../../etc")
    assert code == 400 and "contains '..'" in message
    code, message = await error_of(jp_fetch, "lineage/" + "a" * 1100)
    assert code == 400
    code, message = await error_of(jp_fetch, "lineage/runs/detect/nothing.onnx")
    assert code == 404 and "no such model" in message


@pytest.fixture
def compare(http_server_client, jp_base_url, jp_auth_header):
    """GET compare?path=...&path=... (pytest-jupyter's jp_fetch cannot repeat a query parameter)."""

    async def fetch(paths, auth: bool = True) -> tuple[int, dict]:
        query = urllib.parse.urlencode({"path": paths}, doseq=True)
        response = await http_server_client.fetch(f"{jp_base_url}{API}/compare?{query}", raise_error=False,
                                                  headers=jp_auth_header if auth else {})
        return response.code, json.loads(response.body) if response.body.startswith(b"{") else {}

    return fetch


async def test_compare_two_runs(compare, chain):
    other = Experiment(chain / "runs" / "other")
    other.start(task="detection", arch="resnet18", epochs=2,
                spec='model_config { arch: "resnet" num_layers: 10 }\ntraining_config { num_epochs: 2 }')
    other.log("epoch_end", epoch=1, loss=0.7, lr=1e-3)
    other.set_status("finished", mAP=0.4)
    code, answer = await compare(["runs/detect", "runs/other"])
    assert code == 200
    runs = answer["runs"]
    assert [r["path"] for r in runs] == ["runs/detect", "runs/other"]
    assert [h["epoch"] for h in runs[0]["history"]] == [1, 2, 3] and runs[1]["history"][0]["loss"] == 0.7
    assert runs[0]["final"] == {"mAP": 0.5} and runs[1]["final"] == {"mAP": 0.4}
    assert answer["spec_diff"] == [{"field": "model_config.num_layers", "values": [None, "10"]},
                                   {"field": "training_config.num_epochs", "values": [None, "2"]}]


@pytest.mark.parametrize(("paths", "code", "says"), [
    (["runs/detect"], 400, "two or more"),
    (["runs/detect"] * (MAX_COMPARE + 1), 400, "at most"),
    (["runs/detect", "../x"], 400, "contains '..'"),
    (["runs/detect", "runs/none"], 404, "holds no experiment.json"),
])
async def test_compare_refuses_bad_requests(compare, chain, paths, code, says):
    got, answer = await compare(paths)
    assert got == code and says in answer["message"], answer


async def test_compare_needs_auth(compare, chain):
    assert (await compare(["runs/detect", "runs/cls"], auth=False))[0] == 403


def test_flatten_and_diff_specs():
    a = flatten_spec('dataset_config { target_class_mapping { key: "car" value: "car" } '
                     'target_class_mapping { key: "bus" value: "car" } }\ntraining_config { num_epochs: 3 }')
    assert a == {"dataset_config.target_class_mapping.key": '"car"', "dataset_config.target_class_mapping.value": '"car"',
                 "dataset_config.target_class_mapping[1].key": '"bus"',
                 "dataset_config.target_class_mapping[1].value": '"car"', "training_config.num_epochs": "3"}
    b = dict(a, **{"training_config.num_epochs": "5"})
    assert spec_diff([a, b]) == [{"field": "training_config.num_epochs", "values": ["3", "5"]}]
    assert spec_diff([a]) == []


@pytest.fixture
def viewable(experiments, tiny_model):  # noqa: F811
    """A real Keras model, a real ONNX graph, metrics.json, and a model file that holds code."""
    import shutil
    import zipfile

    import onnx
    from onnx import TensorProto, helper

    detect = experiments / "runs" / "detect"
    shutil.copy(tiny_model, detect / "weights" / "tiny.keras")
    weight = helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [0.0] * 6)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"jupyter_tlt": json.dumps({"task": "classification", "class_names": ["a", "b"]})})
    onnx.save(model, detect / "export" / "tiny.onnx")
    (detect / "evaluate" / "metrics.json").write_text(json.dumps({
        "task": "detection", "levels": ["all"], "class_names": ["car"], "ap": {"car": {"all": 0.5}},
        "mAP": {"all": 0.5}, "num_images": 3, "curves": {"car": {"all": {"recall": [0, 1], "precision": [1, 0.5]}}}}))
    with zipfile.ZipFile(detect / "weights" / "code.keras", "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Functional", "config": {"layers": [
            {"class_name": "Lambda", "config": {"name": "l", "function": "print"}}]}}))
    return experiments


async def test_viewers_answer_for_models_metrics_and_events(jp_fetch, viewable):
    keras = await get_json(jp_fetch, "view/runs/detect/weights/tiny.keras")
    assert keras["kind"] == "keras" and keras["info"]["class_names"] == ["a", "b", "c"]
    assert keras["inputs"][0]["shape"] == [None, 32, 32, 3] and keras["precision"] == ["float32"]
    assert keras["parameters"] > 0 and any(row["class"] == "Conv2D" for row in keras["table"])
    onnx = await get_json(jp_fetch, "view/runs/detect/export/tiny.onnx")
    assert onnx["kind"] == "onnx" and onnx["parameters"] == 6 and onnx["precision"] == "fp32"
    assert onnx["inputs"] == [{"name": "x", "shape": ["N", 3], "dtype": "float32"}]
    assert onnx["operators"] == {"MatMul": 1} and onnx["info"]["class_names"] == ["a", "b"]
    metrics = await get_json(jp_fetch, "view/runs/detect/evaluate/metrics.json")
    assert metrics["kind"] == "metrics" and metrics["mAP"] == {"all": 0.5}
    events = await get_json(jp_fetch, "view/runs/detect/status.jsonl")
    assert events["kind"] == "events" and [h["epoch"] for h in events["history"]] == [1, 2, 3]
    assert events["events"]["validation"] == 3


async def test_viewers_refuse_code_binaries_and_bad_paths(jp_fetch, viewable):
    code, message = await error_of(jp_fetch, "view/runs/detect/weights/code.keras")
    assert code == 400 and "contains code (Lambda" in message, message
    code, message = await error_of(jp_fetch, "view/runs/detect/tensorboard/events.out.tfevents.1.host")
    assert code == 415 and "no viewer" in message
    code, message = await error_of(jp_fetch, "view/runs/detect/weights/none.keras")
    assert code == 404 and "no such file" in message
    code, message = await error_of(jp_fetch, "view/runs/../../etc/passwd")
    assert code == 400 and "contains '..'" in message
    code, message = await error_of(jp_fetch, "view/runs/detect/weights")
    assert code == 400 and "not a file" in message
    assert (await error_of(jp_fetch, "view/runs/detect/status.jsonl", headers={"Authorization": ""}))[0] == 403


async def test_stop_asks_a_running_training_to_stop(jp_fetch, experiments):  # noqa: F811
    response = await jp_fetch(API, "stop/runs/cls", method="POST", body=b"")
    assert response.code == 202 and json.loads(response.body) == {"path": "runs/cls", "stop": "requested"}
    assert Experiment(experiments / "runs" / "cls").stop_requested()
    code, message = await error_of(jp_fetch, "stop/runs/detect", method="POST", body=b"")
    assert code == 409 and "is finished, not running" in message
    code, message = await error_of(jp_fetch, "stop/runs/none", method="POST", body=b"")
    assert code == 404 and "holds no experiment.json" in message
    code, message = await error_of(jp_fetch, "stop/../x", method="POST", body=b"")
    assert code == 400 and "contains '..'" in message
    assert (await error_of(jp_fetch, "stop/runs/cls", method="POST", body=b"", headers={"Authorization": ""}))[0] == 403


async def test_tensorboard_starts_once_behind_jupyter_auth(jp_fetch, jp_serverapp, experiments,  # noqa: F811
                                                            http_server_client, jp_base_url):
    boards = jp_serverapp.web_app.settings["tlt"].tensorboards
    try:
        response = await jp_fetch(API, "tensorboard/runs/detect", method="POST", body=b"", request_timeout=120)
        url = json.loads(response.body)["url"]
        assert url.startswith(f"{jp_base_url}tlt/tensorboard/") and url.endswith("/")
        again = json.loads((await jp_fetch(API, "tensorboard/runs/detect", method="POST", body=b"")).body)["url"]
        assert again == url  # reused, not a second process
        page = await jp_fetch(url.removeprefix(jp_base_url), request_timeout=60)
        assert page.code == 200 and b"TensorBoard" in page.body
        outsider = await http_server_client.fetch(url, raise_error=False, follow_redirects=False)
        assert outsider.code in (302, 403)  # Jupyter's login, never TensorBoard
        with pytest.raises(Exception) as unknown:
            await jp_fetch("tlt", "tensorboard", "0" * 16, "x")
        assert getattr(unknown.value, "code", None) == 404
    finally:
        boards.stop_all()
    code, message = await error_of(jp_fetch, "tensorboard/runs/cls", method="POST", body=b"")
    assert code == 400 and "no tensorboard/ folder" in message
    code, message = await error_of(jp_fetch, "tensorboard/runs/none", method="POST", body=b"")
    assert code == 404
    code, message = await error_of(jp_fetch, "tensorboard/../x", method="POST", body=b"")
    assert code == 400 and "contains '..'" in message
    assert (await error_of(jp_fetch, "tensorboard/runs/detect", method="POST", body=b"",
                           headers={"Authorization": ""}))[0] == 403
