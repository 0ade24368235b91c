"""JSON as the sidebar API sends it: NaN and infinities (JSON has neither) become null.

    >>> encode({"loss": float("nan"), "epoch": 3})
    '{"loss": null, "epoch": 3}'
"""

from __future__ import annotations

import json
from typing import Any


def encode(data: Any) -> str:
    """JSON that browsers accept: NaN and infinities become null."""
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(data), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
