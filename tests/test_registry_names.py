"""Issue 14, item 1 (registry core): one validator for model names and versions, at every depth.

A shared registry folder can be edited by anyone, so its `index.json` and manifests are untrusted: an
entry whose name or version is not a plain name is skipped with a warning that shows it escaped and
cut short, and it is never listed, pulled or echoed. `push` refuses such names with the same rule.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from jupyter_tlt import cli
from jupyter_tlt.errors import DataError, quote_input
from jupyter_tlt.registry import NotInRegistry, Registry
from jupyter_tlt.registry.manifest import check_name, is_valid_name
from test_registry import NAME, local, tiny_model  # noqa: F401  (fixtures: a registry with versions 1 and 2)

HOSTILE = [
    "m --version 1 --dir d\n!touch PWNED #",
    "$(id)",
    "{__import__('os').system('touch PWNED')}",
    "a'b\"c",
    "back\\slash",
    "caf\u00e9",
    "name\n",          # `$` in a regular expression matches before a final newline: must still be refused
    "..",
    "-rf",
    "",
    "x" * 129,
]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_validator_refuses_hostile_names_with_a_short_escaped_message(value):
    assert not is_valid_name(value)
    with pytest.raises(DataError) as info:
        check_name(value, "model name")
    message = str(info.value)
    assert "\n" not in message and len(message) < 400


@pytest.mark.parametrize("value", ["detectnet_v2_resnet18", "1", "2.0-rc1", "A", "a" * 128])
def test_the_validator_accepts_plain_names(value):
    assert is_valid_name(value) and check_name(value, "version") == value


def test_a_huge_name_is_never_echoed_whole():
    huge = "n" * 30_000_000
    assert len(quote_input(huge)) < 200
    with pytest.raises(DataError) as info:
        check_name(huge, "model name")
    assert len(str(info.value)) < 400 and "30000000 characters" in str(info.value)


def _plant(registry: Registry, name: str, version: str = "1") -> None:
    """Add an entry to the index by hand, as a colleague with write access to the folder could."""
    path = Path(registry.url) / "index.json"
    index = json.loads(path.read_text())
    entry = index["models"].setdefault(name, {"task": "classification", "versions": {}})
    entry["versions"][version] = {"size": 1}
    path.write_text(json.dumps(index))


def test_an_index_entry_with_a_hostile_name_is_skipped_with_a_warning(local, tmp_path, capsys):  # noqa: F811
    hostile = HOSTILE[0]
    _plant(local, hostile)
    with pytest.warns(UserWarning) as caught:
        names = [row["name"] for row in local.models()]
    assert hostile not in names and NAME in names
    said = " ".join(str(w.message) for w in caught)
    assert "skipped" in said and "PWNED" in said and "\n" not in said  # named, escaped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as info:
            local.pull(hostile, "1", dest=tmp_path / "d", progress=False)
        assert "\n" not in str(info.value)
        assert not (tmp_path / "d").exists()
        assert cli.main(["pull", "--list_models", "--registry", local.url]) == 0
    assert "PWNED" not in capsys.readouterr().out


def test_an_index_version_with_a_hostile_name_is_skipped(local, tmp_path):  # noqa: F811
    _plant(local, NAME, version="1 --dir /tmp\n!touch PWNED")
    with pytest.warns(UserWarning, match="skipped version"):
        assert list(local.versions(NAME)) == ["2", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError):
            local.pull(NAME, "1 --dir /tmp\n!touch PWNED", dest=tmp_path / "d", progress=False)


def test_a_manifest_naming_another_model_or_an_odd_file_is_refused(local, tmp_path):  # noqa: F811
    manifest_path = Path(local.url) / NAME / "2" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "name": "other\n!touch PWNED"}))
    with pytest.raises(DataError, match="malformed manifest"):
        local.pull(NAME, "2", dest=tmp_path / "d", progress=False)
    odd = {**manifest, "model": "model\n!x.keras",
           "files": [{**manifest["files"][0], "path": "model\n!x.keras"}]}
    manifest_path.write_text(json.dumps(odd))
    with pytest.raises(DataError, match="malformed manifest"):
        local.pull(NAME, "2", dest=tmp_path / "d", progress=False)


def test_unknown_names_are_not_echoed_whole(local):  # noqa: F811
    with pytest.raises(NotInRegistry) as info:
        local.versions("no_such_model_" + "z" * 100)
    assert len(str(info.value)) < 600
    with pytest.raises(DataError) as info:
        local.versions("n" * 5_000_000)
    assert len(str(info.value)) < 400


def test_a_registry_folder_that_does_not_exist_is_an_error(tmp_path, capsys):
    missing = tmp_path / "NONEXISTENT"
    assert cli.main(["pull", "--registry", str(missing), "--list_models"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such folder" in err
    assert not missing.exists()


def test_push_creates_a_new_registry_folder(tmp_path, tiny_model):  # noqa: F811
    registry = Registry(tmp_path / "new")
    registry.push(tiny_model, NAME, "1", progress=False)
    assert list(registry.versions(NAME)) == ["1"]


def test_push_refuses_a_model_that_pull_consumers_would_refuse(tmp_path):
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tf_import import keras

    k = keras()
    inputs = k.Input((4,))
    model = k.Model(inputs, k.layers.Lambda(lambda x: x * 2, name="double")(inputs))
    path = save_model(model, tmp_path / "lambda.keras")
    registry = Registry(tmp_path / "reg")
    with pytest.raises(DataError, match="contains code"):
        registry.push(path, NAME, "1", progress=False)
    assert not (tmp_path / "reg" / NAME).exists()
    assert cli.main(["push", str(path), "--model_name", NAME, "--version", "1", "--registry",
                     str(tmp_path / "reg"), "-q"]) == 2


def test_a_new_registry_folder_is_checked_for_an_existing_version_without_error(tmp_path):
    """pretrain asks "does this version exist?" before training, of a registry folder it will create."""
    registry = Registry(tmp_path / "not_yet")
    assert not registry.has_version(NAME, "1")
    with pytest.raises(DataError, match="no such folder"):
        registry.models()
