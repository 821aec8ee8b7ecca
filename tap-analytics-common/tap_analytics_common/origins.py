"""Where credentials may go: only to the origins of the configured URLs.

An absolute `next` URL comes from the API's answer. A compromised or misconfigured
API could point it elsewhere and collect the run's bearer token, so every request
is checked before anything is sent.
"""

from __future__ import annotations

import ipaddress
import typing as t
from urllib.parse import urlsplit

from tap_analytics_common.errors import TapError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class ForeignHostError(TapError):
    """A URL from the API points at a host the run has no business sending credentials to."""


def origin(url: str) -> str:
    """scheme://host:port, lower-cased, with the scheme's default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return f"{scheme}://{host}:{port}"


def check_origin(url: str, allowed: t.Collection[str], what: str) -> None:
    """Raise before sending when `url` is not on an allowed origin (nothing is sent)."""
    if origin(url) in allowed:
        return
    parts = urlsplit(url)
    msg = (
        f"{what}: the API pointed at {parts.scheme}://{parts.netloc}, which is not the host of "
        "base_url; nothing was sent there (credentials go only to base_url's scheme, host and port)"
    )
    raise ForeignHostError(msg)


def is_loopback(host: str) -> bool:
    """localhost or a loopback address: plain http never leaves the machine."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cleartext_settings(urls: t.Mapping[str, str | None]) -> list[str]:
    """The settings among `urls` that send secrets in the clear (http:// to another host)."""
    found = []
    for setting, url in urls.items():
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme.lower() == "http" and not is_loopback(parts.hostname or ""):
            found.append(setting)
    return found
