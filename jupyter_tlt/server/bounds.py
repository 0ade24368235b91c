"""Bounds on every input of the sidebar's REST API, checked before any work is done (docs/sidebar-api.md).

A request outside them is answered 400 with one sentence that shows the input escaped and cut short
(`quote_input`): a 5000-character id never reaches the filesystem (ENAMETOOLONG), a body nested
100000 deep never reaches the JSON parser (RecursionError), a 30 MB name is never echoed or logged.
Model names and versions follow the registry's one rule (`registry.manifest.check_name`).

    >>> check_body(b'{"name": "detectnet_v2_resnet18"}')
    {'name': 'detectnet_v2_resnet18'}
    >>> check_path("runs/" + "x" * 5000, "experiment path")
    BadRequest: experiment path 'runs/xx...xx'... (5005 characters) is longer than 1024 characters; ...
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import TltError, quote_input

MAX_BODY_BYTES = 64 * 1024  # the API's bodies are a few short fields
MAX_JSON_DEPTH = 8          # ...in one flat object
MAX_PATH_CHARS = 1024       # a path relative to the experiments root (ids of experiments, pull's dest)
MAX_PART_BYTES = 255        # NAME_MAX of common filesystems, for each folder or file name of a path
MAX_JOB_ID_CHARS = 64       # ids are 32 hex digits
MAX_LOGGED_CHARS = 200      # of a request's URI in the server log

EXAMPLE = '{"name": "detectnet_v2_resnet18", "version": "1"}'
_BRACKETS_OUTSIDE_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')  # a string (skipped) or a bracket


class BadRequest(TltError):
    """A request outside the API's bounds or shape (answered 400)."""


def check_body(raw: bytes) -> dict:
    """The JSON object in a request body: bounded in size and depth, valid UTF-8 JSON, an object."""
    if not raw:
        raise BadRequest(f"the request body is empty; send a JSON object such as {EXAMPLE}")
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body has {len(raw)} bytes, more than the {MAX_BODY_BYTES} allowed; "
                         f"send a small JSON object such as {EXAMPLE}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"the request body is not valid JSON (not UTF-8 text); send an object such as "
                         f"{EXAMPLE}") from None
    if json_depth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise BadRequest(f"the request body is nested more than {MAX_JSON_DEPTH} deep; send a flat JSON object "
                         f"such as {EXAMPLE}")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON ({quote_input(str(exc), 120)}); send an object "
                         f"such as {EXAMPLE}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the request body is {type(body).__name__} JSON; send an object such as {EXAMPLE}")
    return body


def json_depth(text: str, limit: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON `text`, found without parsing (strings skipped).

    Linear, recursion-free and in C (one regular expression), so it can run on any input on the
    server's event loop; with `limit` it stops as soon as the depth exceeds it. Malformed text gives
    some depth and is then refused by the parser.
    """
    depth = deepest = 0
    for token in _BRACKETS_OUTSIDE_STRINGS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def check_path(value: Any, what: str) -> str:
    """`value` if it is a string short enough to be a path (its parts within NAME_MAX), else BadRequest.

    Where the path may go (not outside the root, no '..', no NUL) is `experiment_index.resolve_inside`'s
    concern; this only keeps absurd input away from the filesystem.
    """
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{what} is {quote_input(value)}; send a folder path relative to the experiments root")
    if len(value) > MAX_PATH_CHARS:
        raise BadRequest(f"{what} {quote_input(value)} is longer than {MAX_PATH_CHARS} characters; send a "
                         "shorter path relative to the experiments root")
    long_part = next((p for p in value.split("/") if len(p.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES), None)
    if long_part is not None:
        raise BadRequest(f"{what} {quote_input(value)} has a name longer than {MAX_PART_BYTES} bytes "
                         f"({quote_input(long_part, 30)}); folder and file names are at most {MAX_PART_BYTES} bytes")
    return value


def check_job_id(value: str) -> str:
    """`value` if it could be a job id (short), else BadRequest."""
    if len(value) > MAX_JOB_ID_CHARS:
        raise BadRequest(f"job id {quote_input(value, 40)} is longer than {MAX_JOB_ID_CHARS} characters; use the "
                         '"job" of a registry/pull answer')
    return value


def shown_uri(uri: str) -> str:
    """A request's URI as the server log shows it: whole when short, else cut and escaped."""
    return uri if len(uri) <= MAX_LOGGED_CHARS and uri.isprintable() else quote_input(uri, MAX_LOGGED_CHARS)
