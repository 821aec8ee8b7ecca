"""What a token endpoint's refusal means, in words a user can act on (RFC 6749, 5.2)."""

from __future__ import annotations

import typing as t

import msgspec

from tap_analytics_common.errors import redact

if t.TYPE_CHECKING:
    from tap_analytics_common.errors import ApiError

_DESCRIPTION_CHARS = 200


def error_fields(body: bytes) -> tuple[str | None, str | None]:
    """The `error` code and `error_description` of a token error body, when it has them."""
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None, None
    if not isinstance(decoded, dict):
        return None, None
    code, description = decoded.get("error"), decoded.get("error_description")
    return (
        code if isinstance(code, str) else None,
        description if isinstance(description, str) else None,
    )


def rejection_message(exc: ApiError, *, grant_type: str, token_source: str | None, secrets: list[str]) -> str:
    """One line: what the endpoint answered, what it means and what to do."""
    code, description = error_fields(exc.body)
    said = f" ({' '.join(redact(description, secrets).split())[:_DESCRIPTION_CHARS]})" if description else ""
    if code == "invalid_client":
        return (
            f"{exc}: the token endpoint rejected the credentials: invalid_client{said}, "
            "the client id or secret is wrong; check client_id and client_secret"
        )
    if code == "invalid_grant" and grant_type == "refresh_token":
        source = token_source or "the refresh_token setting"
        advice = "authorise again and set refresh_token"
        if source.startswith("refresh_token_file"):
            path = source.removeprefix("refresh_token_file ")
            advice += f" (a changed setting wins over the file), or delete {path}"
        return (
            f"{exc}: the token endpoint rejected the credentials: invalid_grant{said}, "
            f"the refresh token was refused; it came from {source}; {advice}"
        )
    fields = (
        "client_id, client_secret, refresh_token"
        if grant_type == "refresh_token"
        else ("client_id, client_secret")
    )
    named = f": {code}{said}" if code else said
    return f"{exc}: the token endpoint rejected the credentials ({fields}){named}"
