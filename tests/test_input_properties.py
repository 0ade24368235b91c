"""Issue 14: property-based tests (hypothesis) of the name rule and the REST API's input bounds.

Random text, bytes and nested JSON never raise anything but our error types, the answers keep
their promises (a valid name passes unchanged, a refused one is shown short and on one line), and
the recursion-free depth count agrees with the real depth of any JSON value. Over real HTTP (a
`jupyter server` on loopback), random bodies and ids are always answered 4xx with a short message.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_tlt.errors import DataError, TltError, quote_input
from jupyter_tlt.registry.manifest import check_index, check_name, is_valid_name
from jupyter_tlt.server.bounds import (MAX_JSON_DEPTH, BadRequest, check_body, check_job_id, check_path,
                                       json_depth)

RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30)


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


@SETTINGS
@given(st.text() | st.from_regex(RULE, fullmatch=True))
def test_the_name_rule_passes_exactly_its_names_and_shows_the_others_short(value):
    assert is_valid_name(value) == (RULE.fullmatch(value) is not None)
    try:
        assert check_name(value, "model name") == value
    except DataError as exc:
        message = str(exc)
        assert len(message) < 400 and "\n" not in message and "\r" not in message


@SETTINGS
@given(st.text(max_size=5000), st.integers(min_value=1, max_value=300))
def test_quoted_input_is_one_short_line(value, limit):
    shown = quote_input(value, limit)
    assert len(shown) <= 3 * limit + 40 and "\n" not in shown  # repr may escape a character to \\xNN


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_body_bytes_give_an_object_or_bad_request(raw):
    try:
        assert isinstance(check_body(raw), dict)
    except BadRequest as exc:
        assert len(str(exc)) < 600


@SETTINGS
@given(json_values)
def test_any_json_value_gives_an_object_or_bad_request_and_its_depth_is_counted_right(value):
    text = json.dumps(value)
    assert json_depth(text) == depth_of(value)
    try:
        body = check_body(text.encode())
        assert body == value and depth_of(value) <= MAX_JSON_DEPTH
    except BadRequest:
        assert not isinstance(value, dict) or depth_of(value) > MAX_JSON_DEPTH


@SETTINGS
@given(st.integers(min_value=0, max_value=20_000), st.sampled_from(["[", "{\"a\":"]))
def test_deep_nesting_never_reaches_the_parser(depth, opener):
    closer = "]" if opener == "[" else "}"
    try:
        check_body(('{"x":' + opener * depth + "1" + closer * depth + "}").encode())
    except BadRequest as exc:
        assert "nested" in str(exc) or "bytes, more than" in str(exc) or "not valid JSON" in str(exc)
    else:
        assert depth + 1 <= MAX_JSON_DEPTH


@SETTINGS
@given(st.one_of(st.text(max_size=3000), st.none(), st.integers(), st.lists(st.text(max_size=3))))
def test_any_path_value_gives_itself_or_bad_request(value):
    try:
        assert check_path(value, "dest") == value
    except BadRequest as exc:
        assert len(str(exc)) < 600


@SETTINGS
@given(st.text(max_size=3000))
def test_any_job_id_gives_itself_or_bad_request(value):  # ids come from the URL: always text
    try:
        assert check_job_id(value) == value
    except BadRequest as exc:
        assert len(str(exc)) < 600


@SETTINGS
@given(st.dictionaries(st.text(max_size=20), st.dictionaries(
    st.sampled_from(["versions", "task"]),
    st.dictionaries(st.text(max_size=20), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                    max_size=3) | st.text(max_size=5), max_size=2), max_size=4))
def test_an_index_keeps_only_valid_names(models):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            checked = check_index({"format": 1, "models": models}, "reg/index.json")
        except TltError:
            return
    for name, entry in checked["models"].items():
        assert is_valid_name(name)
        assert all(is_valid_name(v) for v in entry.get("versions", {}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `jupyter server` with the sidebar API on loopback, over an empty registry: (API URL, headers)."""
    import os
    import secrets
    import socket
    import subprocess
    import sys
    import time

    import requests

    work = tmp_path_factory.mktemp("rest-properties")
    (work / "registry").mkdir()
    (work / "root").mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "TLT_REGISTRY": str(work / "registry"), "JUPYTER_CONFIG_DIR": str(work / "config"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    log = open(work / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work / 'root'}",
                             "--ServerApp.jpserver_extensions={'jupyter_tlt': True}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    api, headers = f"http://127.0.0.1:{port}/tlt/api", {"Authorization": f"token {token}"}
    try:
        for _ in range(240):
            try:
                if requests.get(f"{api}/version", headers=headers, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (work / "server.log").read_text(errors="replace")
            time.sleep(0.5)
        else:
            pytest.fail("jupyter server did not answer within 2 minutes")
        yield api, headers
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


HTTP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def _short_json_error(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if response.headers.get("Content-Type", "").startswith("application/json"):
        assert len(response.content) < 2000 and "message" in response.json()


@HTTP
@given(st.binary(max_size=3000) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_pull_body_over_http_is_answered_4xx(server, body):
    import requests

    api, headers = server
    _short_json_error(requests.post(f"{api}/registry/pull", data=body, headers=headers, timeout=30))


@HTTP
@given(st.text(min_size=1, max_size=2000).filter(lambda t: t not in (".", "..")),  # HTTP clients drop dot segments
       st.sampled_from(["experiments/{}", "registry/models/{}/versions",
                                                             "jobs/{}"]))
def test_any_id_over_http_is_answered_4xx(server, text, route):
    from urllib.parse import quote

    import requests

    api, headers = server
    response = requests.get(f"{api}/{route.format(quote(text, safe=''))}", headers=headers, timeout=30)
    if response.status_code == 200:  # only a catalogue model's versions can be found in an empty registry
        assert route.startswith("registry") and is_valid_name(text), text
        return
    _short_json_error(response)
