"""Checks of the settings as given: typos, unparseable environment values, cleartext URLs."""

from __future__ import annotations

import difflib
import os
import typing as t

from tap_analytics_common.errors import ConfigError
from tap_analytics_common.origins import cleartext_settings

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping


def _types(schema: Mapping[str, t.Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {str(k) for option in schema.get("anyOf", []) for k in _types(option)}


def check_environment(config_jsonschema: Mapping[str, t.Any], prefix: str) -> None:
    """Integer settings from the environment must parse; name the setting and the variable.

    singer-sdk calls int() on them and lets its ValueError out as a traceback.
    """
    for key, schema in config_jsonschema.get("properties", {}).items():
        variable = prefix + key.upper().replace("-", "_")
        value = os.environ.get(variable)
        if value is None or "integer" not in _types(schema):
            continue
        try:
            int(value)
        except ValueError:
            msg = (
                f"setting {key}: environment variable {variable}={value[:40]!r} is not an "
                "integer; set a whole number"
            )
            raise ConfigError(msg) from None


def warn_unknown_settings(
    config: Mapping[str, t.Any], known: t.Collection[str], logger: logging.Logger
) -> None:
    """A setting no tap reads is a typo more often than not: say so, with the closest name."""
    for key in sorted(set(config) - set(known)):
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        logger.warning("unknown setting %s is ignored%s", key, hint)


def warn_cleartext(config: Mapping[str, t.Any], logger: logging.Logger) -> None:
    """Once per run: secrets over plain http to a host that is not this machine."""
    urls = {key: config.get(key) for key in ("base_url", "token_url")}
    for setting in cleartext_settings(urls):
        logger.warning(
            "%s uses http:// to a host that is not loopback: tokens and secrets go in the "
            "clear; use https://",
            setting,
        )
