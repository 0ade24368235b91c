"""The model registry on a local folder, a static HTTP server and an S3-compatible server, all on loopback."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import socket
import threading
import warnings
from pathlib import Path

import pytest

from jupyter_tlt import cli
from jupyter_tlt.errors import DataError, OutputError, TltError
from jupyter_tlt.registry import Registry, resolve_reference
from jupyter_tlt.registry.manifest import sha256_file

NAME = "classification_resnet18"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tasks.classification.head import build_classifier

    path = tmp_path_factory.mktemp("model") / "model.keras"
    model = build_classifier("resnet", 10, (32, 32, 3), 3)
    spec = 'model_config { arch: "resnet" n_layers: 10 }'
    return save_model(model, path, info={"task": "classification", "class_names": ["a", "b", "c"],
                                         "input_shape": [3, 32, 32], "spec": spec})


@pytest.fixture
def local(tmp_path, tiny_model) -> Registry:
    registry = Registry(tmp_path / "reg")
    registry.push(tiny_model, NAME, "1", description="first", metrics={"accuracy": 0.5}, progress=False)
    registry.push(tiny_model, NAME, "2", description="second", progress=False)
    return registry


def test_round_trip_push_list_pull_load(local, tmp_path, tiny_model):
    from jupyter_tlt.model_info import read_info
    from jupyter_tlt.models import load_model

    row = next(m for m in local.models() if m["name"] == NAME)
    assert row["latest"] == "2" and row["versions"] == 2 and row["arch"] == "resnet10"
    assert row["input_size"] == [3, 32, 32] and row["size"] == tiny_model.stat().st_size
    assert list(local.versions(NAME)) == ["2", "1"]
    assert local.versions(NAME).to_frame().loc["1", "metrics"] == {"accuracy": 0.5}
    assert "detectnet_v2_resnet18" in local.models().to_frame().index  # the catalogue, with no version yet
    path = local.pull(NAME, dest=tmp_path / "pretrained", progress=False)
    assert path == tmp_path / "pretrained" / NAME / "2" / "model.keras"
    assert sha256_file(path) == sha256_file(tiny_model)
    manifest = json.loads((path.parent / "manifest.json").read_text())
    assert manifest["provenance"]["source_file"] == str(tiny_model) and manifest["class_names"] == ["a", "b", "c"]
    assert load_model(path).output_shape == (None, 3) and read_info(path)["task"] == "classification"


def test_cli_pull_forms(local, tmp_path, capsys):
    assert cli.main(["pull", "--list_models", "--registry", local.url]) == 0
    out = capsys.readouterr().out
    assert "name" in out.splitlines()[0] and "input_size" in out and NAME in out and "3x32x32" in out
    assert out.splitlines()[1].startswith(NAME)  # the model with weights leads the catalogue's empty ones
    assert "nan" not in out.lower() and "{}" not in out and "None" not in out
    assert cli.pull_main(["--list_version", "--model_name", NAME, "--registry", local.url]) == 0
    versions = capsys.readouterr().out.splitlines()
    assert versions[1].startswith("2 ") and "val accuracy 50.0%" in versions[2] and "{" not in "".join(versions)
    assert cli.pull_main(["--model_name", NAME, "--version", "1", "--dir", str(tmp_path / "d"),
                          "--registry", local.url, "-q"]) == 0
    assert (tmp_path / "d" / NAME / "1" / "model.keras").is_file()


def test_push_cli_refuses_existing_version_and_non_models(local, tmp_path, tiny_model, capsys):
    argv = ["push", str(tiny_model), "--model_name", NAME, "--version", "1", "--registry", local.url, "-q"]
    assert cli.main(argv) == 2 and "already exists" in capsys.readouterr().err
    assert cli.main([*argv, "--overwrite", "--description", "replaced"]) == 0
    assert local.versions(NAME).details["1"]["description"] == "replaced"
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(DataError, match="is not a model file"):
        local.push(text, NAME, "3", progress=False)
    assert "3" not in local.versions(NAME)


def test_unknown_model_and_version(local, tmp_path):
    with pytest.raises(DataError, match="no model 'classification_resnet81'.*classification_resnet18"):
        local.pull("classification_resnet81", dest=tmp_path)
    with pytest.raises(DataError, match="no version '7'.*its versions: 2, 1"):
        local.pull(NAME, "7", dest=tmp_path)
    with pytest.raises(DataError, match="no version with weights.*tlt pretrain"):
        local.pull("detectnet_v2_vgg16", dest=tmp_path)


def test_malformed_index_and_manifest(local, tmp_path):
    root = Path(local.url)
    good = (root / "index.json").read_text()
    (root / "index.json").write_text("{not json")
    with pytest.raises(DataError, match="index.json: is not valid JSON"):
        local.models()
    (root / "index.json").write_text('{"models": []}')
    with pytest.raises(DataError, match="malformed registry index"):
        local.versions(NAME)
    (root / "index.json").write_text(good)
    manifest = root / NAME / "2" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files"][0]["sha256"] = "abc"
    manifest.write_text(json.dumps(data))
    with pytest.raises(DataError, match="malformed manifest.*sha256"):
        local.pull(NAME, "2", dest=tmp_path)
    manifest.unlink()
    with pytest.raises(DataError, match="missing although the index lists"):
        local.pull(NAME, "2", dest=tmp_path)


def test_tampered_files_are_detected_and_refetched(local, tmp_path, capsys):
    path = local.pull(NAME, "2", dest=tmp_path, progress=False)
    path.write_bytes(b"tampered" + path.read_bytes()[8:])
    with pytest.warns(UserWarning, match="fetching it again"):
        again = local.pull(NAME, "2", dest=tmp_path, progress=False)
    assert sha256_file(again) == sha256_file(path)
    stored = Path(local.url) / NAME / "1" / "model.keras"
    stored.write_bytes(stored.read_bytes()[:-1] + b"x")
    with pytest.raises(DataError, match="corrupt or tampered in the registry"):
        local.pull(NAME, "1", dest=tmp_path / "other", progress=False)
    assert not (tmp_path / "other" / NAME / "1" / "model.keras").exists()
    assert not [p for p in (tmp_path / "other" / NAME / "1").iterdir() if p.name.startswith(".tmp-")]


def test_a_version_pushed_again_is_pulled_again_without_a_corruption_warning(local, tmp_path, capsys):
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tasks.classification.head import build_classifier

    first = local.pull(NAME, "1", dest=tmp_path / "pulled", progress=False)
    other = save_model(build_classifier("resnet", 10, (32, 32, 3), 2), tmp_path / "other.keras",
                       info={"task": "classification", "class_names": ["x", "y"]})
    local.push(other, NAME, "1", overwrite=True, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = local.pull(NAME, "1", dest=tmp_path / "pulled", progress=False)
    assert again == first and sha256_file(again) == sha256_file(other)
    assert not [w for w in caught if "corrupt" in str(w.message)]


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of 1 MB (a real full disk: ENOSPC), where this machine lets the tests mount one."""
    import subprocess

    mount = tmp_path / "small_disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN) to fill a disk")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_a_clear_error_and_leaves_nothing_behind(local, small_disk, capsys):
    with pytest.raises(OutputError, match=r"model\.keras: no space left to write .*free some space"):
        local.pull(NAME, "2", dest=small_disk, progress=False)
    assert [p.name for p in (small_disk / NAME / "2").iterdir()] == []
    assert cli.pull_main(["--model_name", NAME, "--dir", str(small_disk), "--registry", local.url, "-q"]) == 2
    assert "no space left to write" in capsys.readouterr().err


def test_concurrent_pulls_into_one_folder(local, tmp_path, tiny_model):
    results, errors = [], []

    def pull():
        try:
            results.append(local.pull(NAME, "2", dest=tmp_path / "shared", progress=False))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert sha256_file(results[0]) == sha256_file(tiny_model)
    assert not [p for p in results[0].parent.iterdir() if p.name.startswith(".tmp-")]


def test_registry_reference_resolves_into_the_cache(local, tmp_path, monkeypatch, tiny_model):
    from jupyter_tlt.spec import load_experiment_spec
    from jupyter_tlt.training.settings import pretrained_path

    monkeypatch.setenv("TLT_REGISTRY", local.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    local_file = resolve_reference(f"registry:{NAME}@1", progress=False)
    assert local_file.startswith(str(tmp_path / "cache")) and sha256_file(local_file) == sha256_file(tiny_model)
    spec = load_experiment_spec(f'model_config {{ arch: "resnet" n_layers: 10 pretrained_model_file: '
                                f'"registry:{NAME}" }}')
    assert pretrained_path(spec).endswith(f"{NAME}/2/model.keras")
    with pytest.raises(DataError, match="no version '9'"):
        resolve_reference(f"registry:{NAME}@9")
    with pytest.raises(DataError, match="no model 'nope'"):
        resolve_reference("registry:nope@1")


def test_unreachable_url():
    with pytest.raises(TltError, match="cannot be reached"):
        Registry(f"http://127.0.0.1:{_free_port()}/reg").models()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _static_server(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_static_http_registry_is_read_only(local, tmp_path, tiny_model, capsys):
    with _static_server(Path(local.url)) as url:
        registry = Registry(url)
        assert list(registry.versions(NAME)) == ["2", "1"]
        path = registry.pull(NAME, dest=tmp_path / "http", progress=False)
        assert sha256_file(path) == sha256_file(tiny_model)
        with pytest.raises(OutputError, match="read-only"):
            registry.push(tiny_model, NAME, "3", progress=False)
        assert cli.main(["pull", "--list_models", "--registry", url]) == 0
        assert NAME in capsys.readouterr().out


@pytest.fixture
def s3_url(monkeypatch):
    pytest.importorskip("moto.server")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
        monkeypatch.setenv(name, value)
    import boto3

    boto3.client("s3").create_bucket(Bucket="models")
    try:
        yield "s3://models/tlt"
    finally:
        server.stop()


def test_s3_registry_round_trip(s3_url, tmp_path, tiny_model, capsys):
    registry = Registry(s3_url)
    registry.push(tiny_model, NAME, "1", description="on s3", progress=False)
    assert cli.main(["push", str(tiny_model), "-m", NAME, "-v", "1", "--registry", s3_url, "-q"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["pull", "--list_version", "-m", NAME, "--registry", s3_url]) == 0
    assert "on s3" in capsys.readouterr().out
    path = Registry(s3_url).pull(NAME, "1", dest=tmp_path / "s3", progress=False)
    assert sha256_file(path) == sha256_file(tiny_model)


def test_web_server_without_an_index_is_not_a_registry(tmp_path):
    with _static_server(tmp_path) as url, pytest.raises(DataError, match="is not a registry"):
        Registry(url).models()


def test_pretrain_pushes_then_a_spec_fine_tunes_from_the_reference(tmp_path, monkeypatch):
    """tlt pretrain (1 epoch, 32x32) -> registry version with provenance -> registry:NAME@1 in a spec trains."""
    from train_fixtures import classification_folders

    from jupyter_tlt.train import train

    train_dir, val_dir = classification_folders(tmp_path / "data", n=24)
    spec = tmp_path / "spec.cfg"
    spec.write_text(f"""model_config {{ arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }}
train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}"
  batch_size_per_gpu: 8 n_epochs: 1 learning_rate: 0.01 }}""")
    url = str(tmp_path / "reg")
    assert cli.main(["pretrain", "classification", "-e", str(spec), "-r", str(tmp_path / "run"), "-m", NAME,
                     "-v", "1", "--registry", url, "-q"]) == 0
    manifest = Registry(url).manifest(NAME, "1")
    assert manifest["provenance"]["datasets"] == [str(train_dir), str(val_dir)]
    assert "accuracy" in manifest["metrics"] and manifest["task"] == "classification"
    monkeypatch.setenv("TLT_REGISTRY", url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec.write_text(spec.read_text().replace("n_epochs: 1", "n_epochs: 1 pretrained_model_path: "
                                             f'"registry:{NAME}@1"'))
    result = train(str(spec), tmp_path / "fine", task="classification", progress=False)
    assert str(tmp_path / "cache") in result.transfer
