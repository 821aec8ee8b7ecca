"""Errors a user can act on, and the one-line form they are reported in."""

from __future__ import annotations

import re

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",]+")


class TapError(Exception):
    """A failure the user can act on: reported as one line, without a traceback."""


class ConfigError(TapError):
    """A setting is missing or invalid."""


class AuthError(TapError):
    """The API or its token endpoint rejected the credentials."""


class ApiError(TapError):
    """The API answered with an error status, or retries ran out."""

    def __init__(self, message: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        """The start of the error response's body, for callers that read its error code."""


class ResponseError(TapError):
    """A response body could not be read as the API documents it."""


class PaginationError(TapError):
    """The API's pagination broke its own rules (for example a repeating cursor)."""


def redact(text: str, secrets: list[str]) -> str:
    """Remove secret values and bearer tokens from text meant for logs."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def one_line(exc: BaseException) -> str:
    """Squash an exception into one line that names its kind when the text does not."""
    text = " ".join(str(exc).split())
    if isinstance(exc, TapError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
