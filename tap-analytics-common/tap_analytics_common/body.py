"""Reading response bodies once, and picking records out of them."""

from __future__ import annotations

import typing as t

import msgspec

from tap_analytics_common.client import url_path
from tap_analytics_common.errors import ResponseError

if t.TYPE_CHECKING:
    import requests

_decoder = msgspec.json.Decoder()


def json_body(response: requests.Response) -> t.Any:
    """The decoded body, parsed once per response (paginators and streams share it)."""
    cached = response.__dict__.get("_tap_body", _decoder)
    if cached is not _decoder:
        return cached
    try:
        body = _decoder.decode(response.content)
    except (msgspec.DecodeError, UnicodeDecodeError):
        msg = (
            f"{url_path(response.url)} answered {response.status_code} with a body that "
            f"is not valid JSON ({len(response.content)} bytes)"
        )
        raise ResponseError(msg) from None
    response.__dict__["_tap_body"] = body
    return body


def dig(body: t.Any, path: str) -> t.Any:
    """The value at a dotted path (`data.users`), or None where any step is missing."""
    value = body
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def select_records(response: requests.Response, path: str) -> list[dict[str, t.Any]]:
    """Records at `path`: a list gives its items, a single object one record, null none."""
    body = json_body(response)
    if not isinstance(body, dict):
        msg = f"{url_path(response.url)} answered a JSON {type(body).__name__}, not an object"
        raise ResponseError(msg)
    found = dig(body, path)
    if found is None:
        return []
    if isinstance(found, dict):
        return [found]
    if isinstance(found, list) and all(isinstance(item, dict) for item in found):
        return found
    msg = f"{url_path(response.url)}: '{path}' holds {type(found).__name__}, not records"
    raise ResponseError(msg)
