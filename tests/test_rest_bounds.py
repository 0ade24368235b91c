"""Issue 14, item 7: every input of the sidebar's REST API is bounded and answered 400 up front.

Real jupyter_server on loopback (the fixtures of test_server.py). Each probe of the issue gets 400
with a short message, and neither the answer nor the server log holds the input whole.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from test_registry import NAME, local, tiny_model  # noqa: F401  (fixtures: a registry with versions 1 and 2)
from test_server import API, error_of, experiments, jp_server_config  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SHORT = 600  # characters: a message that names the input without echoing it


@pytest.fixture
def log_lines(caplog):
    """Every line logged while the test runs (the server's access and error logs included)."""
    caplog.set_level(logging.DEBUG)
    for name in ("tornado.access", "tornado.general", "tornado.application", "ServerApp"):
        logging.getLogger(name).propagate = True
    return lambda: [record.getMessage() for record in caplog.records]


def _assert_not_echoed(message: str, log_lines, marker: str) -> None:
    assert len(message) < SHORT, message[:SHORT]
    for line in log_lines():
        assert marker * 300 not in line and len(line) < 4000, line[:300]


async def test_a_5000_character_experiment_id_is_400(jp_fetch, experiments, log_lines):  # noqa: F811
    code, message = await error_of(jp_fetch, "experiments/runs/" + "q" * 5000)
    assert code == 400 and "longer than" in message
    _assert_not_echoed(message, log_lines, "q")
    code, message = await error_of(jp_fetch, "experiments/" + "q" * 300 + "/x")  # one name over NAME_MAX
    assert code == 400 and "255 bytes" in message


async def test_a_body_nested_100000_deep_is_400(jp_fetch, jp_root_dir, log_lines):
    bodies = {"[" * 100_000 + "]" * 100_000: "more than",  # 200 kB: refused for its size first
              "[" * 30_000 + "]" * 30_000: "nested more than 8 deep",  # within the size bound: for its depth
              '{"name": ' + "{" * 5000 + "}" * 5000 + "}": "nested more than 8 deep"}
    for body, says in bodies.items():
        code, message = await error_of(jp_fetch, "registry/pull", method="POST", body=body)
        assert code == 400 and says in message, message
        _assert_not_echoed(message, log_lines, "[")
    assert not (Path(jp_root_dir) / "pretrained").exists()


async def test_a_100kb_dest_and_a_5000_character_dest_are_400(jp_fetch, jp_root_dir, log_lines):
    code, message = await error_of(jp_fetch, "registry/pull", method="POST",
                                   body=json.dumps({"name": NAME, "dest": "d" * 100_000}))
    assert code == 400 and "bytes, more than" in message
    code, message = await error_of(jp_fetch, "registry/pull", method="POST",
                                   body=json.dumps({"name": NAME, "dest": "d" * 5000}))
    assert code == 400 and '"dest"' in message and "longer than" in message
    _assert_not_echoed(message, log_lines, "d")
    assert not any(Path(jp_root_dir).iterdir())


async def test_a_30mb_model_name_is_400_and_never_echoed(jp_fetch, jp_root_dir, log_lines):
    code, message = await error_of(jp_fetch, "registry/pull", method="POST",
                                   body=json.dumps({"name": "n" * 30_000_000}))
    assert code == 400
    _assert_not_echoed(message, log_lines, "n")
    code, message = await error_of(jp_fetch, "registry/pull", method="POST",
                                   body=json.dumps({"name": "n" * 20_000}))
    assert code == 400 and "model name" in message and "20000 characters" in message
    _assert_not_echoed(message, log_lines, "n")
    code, message = await error_of(jp_fetch, "registry/models/" + "n" * 5000 + "/versions")
    assert code == 400 and "5000 characters" in message
    _assert_not_echoed(message, log_lines, "n")


@pytest.mark.parametrize("body", [
    {"name": "m --version 1 --dir d\n!touch PWNED #"},
    {"name": NAME, "version": "1\n!touch PWNED"},
    {"name": NAME, "version": "x" * 5000},
    {"name": "$(id)"},
])
async def test_hostile_names_and_versions_are_400(jp_fetch, jp_root_dir, body):
    code, message = await error_of(jp_fetch, "registry/pull", method="POST", body=json.dumps(body))
    assert code == 400 and "refused" in message and "\n" not in message and len(message) < SHORT
    assert not (Path(jp_root_dir) / "pretrained").exists()


async def test_a_long_job_id_is_400(jp_fetch, log_lines):
    code, message = await error_of(jp_fetch, "jobs/" + "j" * 5000)
    assert code == 400 and "job id" in message
    _assert_not_echoed(message, log_lines, "j")


async def test_hostile_index_entries_are_not_listed(jp_fetch, local):  # noqa: F811
    index_path = Path(local.url) / "index.json"
    index = json.loads(index_path.read_text())
    index["models"]["m --version 1 --dir d\n!touch PWNED #"] = {"versions": {"1": {"size": 1}}}
    index["models"][NAME]["versions"]["1\n!touch PWNED"] = {"size": 1}
    index_path.write_text(json.dumps(index))
    with pytest.warns(UserWarning, match="skipped"):
        listing = json.loads((await jp_fetch(API, "registry/models")).body)
        versions = json.loads((await jp_fetch(API, "registry/models", NAME, "versions")).body)
    assert "PWNED" not in json.dumps(listing) and "PWNED" not in json.dumps(versions)
    assert [v["version"] for v in versions["versions"]] == ["2", "1"]
