"""Lineage recorded by train, prune and export; followed by `lineage`, `Experiment.lineage` and `tlt lineage`."""

from __future__ import annotations

import json

import pytest

from jupyter_tlt import cli
from jupyter_tlt.experiments import Experiment
from jupyter_tlt.lineage import lineage, owning_experiment, parent_ref, record
from lineage_fixtures import make_chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return make_chain(tmp_path_factory.mktemp("lineage"))


def test_chain_from_the_exported_model_back_to_the_first_training(chain):
    nodes = lineage(chain["onnx"])
    assert [n["step"] for n in nodes] == ["train", "prune", "train", "export"]
    assert [n["path"] for n in nodes] == [str(chain[k]) for k in ("trained", "pruned", "retrained", "onnx")]
    trained, pruned, retrained, exported = nodes
    assert trained["experiment"] == pruned["experiment"] == str(chain["trained"].parents[1])
    assert retrained["experiment"] == exported["experiment"] == str(chain["onnx"].parents[1])
    assert pruned["figures"]["parameters"] < trained["figures"]["parameters"]
    assert pruned["figures"]["flops"] < trained["figures"]["flops"]
    assert retrained["figures"]["parameters"] == pruned["figures"]["parameters"]  # retraining keeps widths
    assert "mAP" in trained["figures"]["metrics"] and trained["figures"]["size"] == chain["trained"].stat().st_size
    assert exported["figures"]["precision"] == "fp32" and exported["figures"]["size"] == chain["onnx"].stat().st_size
    assert set(pruned["files"]) == {"prune report", "prune layers"}
    assert all(n["exists"] for n in nodes)


def test_experiment_lineage_ends_at_its_newest_model(chain):
    assert [n["step"] for n in Experiment(chain["onnx"].parents[1]).lineage()] == ["train", "prune", "train", "export"]
    assert [n["step"] for n in Experiment(chain["trained"].parents[1]).lineage()] == ["train", "prune"]
    assert [n["step"] for n in Experiment(chain["trained"].parents[1]).lineage(chain["trained"])] == ["train"]


def test_cli_prints_the_chain_and_refuses_a_missing_path(chain, capsys, tmp_path):
    assert cli.main(["lineage", str(chain["onnx"])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["train", "prune", "train", "export"]
    assert "params" in out[0] and "mAP (level all)" in out[0]
    assert cli.main(["lineage", str(tmp_path / "nope.onnx")]) == 2
    err = capsys.readouterr().err
    assert "nope.onnx: no such model" in err and "Traceback" not in err


def test_a_model_outside_any_experiment_is_followed_through_its_stored_provenance(chain, tmp_path):
    from jupyter_tlt.export.step import export

    onnx = tmp_path / "loose" / "pruned.onnx"
    export(chain["pruned"], onnx)
    assert owning_experiment(onnx) is None and not (onnx.parent / "experiment.json").exists()
    assert [n["step"] for n in lineage(onnx)] == ["train", "prune", "export"]


def test_a_step_folder_outside_any_experiment_becomes_its_record(chain, tmp_path):
    """demo.sh's layout: demo/runs/prune/ and demo/export/ beside the training runs."""
    from jupyter_tlt.experiment_index import ExperimentIndex
    from jupyter_tlt.export.step import export

    onnx = tmp_path / "demo" / "export" / "model.onnx"
    export(chain["pruned"], onnx)
    assert owning_experiment(onnx) == onnx.parent
    info = Experiment(onnx.parent).info()
    assert (info["status"], info["step"], info["task"]) == ("finished", "export", "detection")
    assert [n["step"] for n in lineage(onnx.parent)] == ["train", "prune", "export"]
    index = ExperimentIndex(tmp_path / "demo")
    assert [s["path"] for s in index.summaries()] == ["export"]
    assert "model.onnx" in {a["name"] for a in index.detail("export")["artifacts"]}


def test_registry_parent_carries_name_version_and_sha256(tmp_path, chain, monkeypatch):
    from jupyter_tlt.registry import Registry, resolve_reference
    from jupyter_tlt.registry.manifest import sha256_file

    registry = Registry(tmp_path / "reg")
    registry.push(chain["trained"], "det", "1", progress=False)
    monkeypatch.setenv("TLT_REGISTRY", registry.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pulled = resolve_reference("registry:det@1", progress=False)
    ref = parent_ref(pulled, "registry:det@1")
    assert (ref["name"], ref["version"], ref["sha256"]) == ("det", "1", sha256_file(chain["trained"]))
    child = tmp_path / "exp" / "weights" / "model.keras"
    child.parent.mkdir(parents=True)
    Experiment(child.parents[1]).start(task="detection")
    child.write_bytes(b"stand-in model bytes")
    assert record(child, "train", ref, {"size": child.stat().st_size})
    nodes = lineage(child)
    assert [n["step"] for n in nodes] == ["registry", "train"]
    assert nodes[0]["reference"] == "registry:det@1" and nodes[0]["version"] == "1"


def test_hand_edited_loop_ends(tmp_path):
    exp = tmp_path / "exp"
    Experiment(exp).start(task="detection")
    for name, parent in (("a.keras", "b.keras"), ("b.keras", "a.keras")):
        (exp / name).write_bytes(b"x")
        record(exp / name, "train", {"model": str(exp / parent)}, {})
    assert [n["path"] for n in lineage(exp / "a.keras")] == [str(exp / "b.keras"), str(exp / "a.keras")]
    assert json.loads((exp / "status.jsonl").read_text().splitlines()[-1])["event"] == "model"
