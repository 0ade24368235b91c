"""Issue 14: property-based tests (hypothesis) of the name rule and the REST API's input bounds.

Random text, bytes and nested JSON never raise anything but our error types, the answers keep
their promises (a valid name passes unchanged, a refused one is shown short and on one line), and
the recursion-free depth count agrees with the real depth of any JSON value.
"""

from __future__ import annotations

import json
import re
import warnings

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
