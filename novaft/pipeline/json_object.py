"""Parse a document that must be one JSON object, with errors worded by the caller (file, setting, archive)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


def json_object(
    raw: bytes | str,
    *,
    not_json: Callable[[str], Exception],
    not_object: Callable[[str], Exception],
) -> dict[str, Any]:
    """The parsed object. ``not_json`` gets the parser's message; ``not_object`` the name of the type found instead."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise not_json(str(error)) from None
    if not isinstance(parsed, dict):
        raise not_object(type(parsed).__name__)
    return parsed
