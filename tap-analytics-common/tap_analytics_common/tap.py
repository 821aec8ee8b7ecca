"""The tap base: one client per run, shared settings, and errors as one line."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
import typing as t
from functools import cached_property

from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_analytics_common.auth import OAuth2Authenticator
from tap_analytics_common.client import ApiClient, RefreshingAuth
from tap_analytics_common.config_checks import warn_cleartext, warn_unknown_settings
from tap_analytics_common.engine import Engine
from tap_analytics_common.errors import ConfigError, one_line, redact
from tap_analytics_common.interrupt import Interrupted, TargetGone, check
from tap_analytics_common.output import BufferedWriter, flush
from tap_analytics_common.retry import RetryPolicy
from tap_analytics_common.sdk import SdkTap
from tap_analytics_common.streams import AnalyticsStream
from tap_analytics_common.token_file import RefreshTokenFile

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    import click

_NOISE = (
    "An unhandled error occurred while syncing",  # our one line says it
    "Beginning sync of",  # once per partition; we log once per stream
)


class _QuietSdkLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_NOISE)


_SECRETS: list[str] = []
"""Secret setting values of this process's run, scrubbed from the final error line."""


class AnalyticsTap(SdkTap):
    """What the five taps share; a tap adds its settings, streams and authenticator."""

    message_writer_class = BufferedWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._engine: Engine | None = None
        super().__init__(*args, **kwargs)
        _SECRETS.extend(self.secret_values(self.config))
        known = copy.deepcopy(self.config_jsonschema)
        self.append_builtin_config(known)
        warn_unknown_settings(self.config, known.get("properties", {}), self.logger)
        warn_cleartext(self.config, self.logger)

    def make_auth(self) -> RefreshingAuth | None:
        """The tap's authenticator; None for an API without auth."""
        return None

    def oauth2(self, grant_type: t.Literal["refresh_token", "client_credentials"]) -> OAuth2Authenticator:
        """An OAuth2 authenticator from the shared settings."""
        token_file = self.config.get("refresh_token_file")
        return OAuth2Authenticator(
            token_url=self.config["token_url"],
            client_id=self.config["client_id"],
            client_secret=self.config["client_secret"],
            grant_type=grant_type,
            refresh_token=self.config.get("refresh_token"),
            token_file=RefreshTokenFile(token_file) if token_file else None,
        )

    @cached_property
    def client(self) -> ApiClient:
        """The run's one client: every stream and thread shares it and its token."""
        auth = self.make_auth()
        client = ApiClient(
            auth=auth,
            policy=RetryPolicy(
                max_retries=int(self.config.get("max_retries", 3)),
                backoff_factor=float(self.config.get("backoff_factor", 2)),
            ),
            timeout=float(self.config.get("request_timeout", 300)),
            user_agent=self.config.get("user_agent") or f"{self.name}/{self.plugin_version}",
            max_in_flight=int(self.config.get("max_concurrent_requests", 4)),
            max_requests_per_minute=self.config.get("max_requests_per_minute"),
            logger=self.logger,
            allowed_origins=[u for u in (self.config.get("base_url"), self.config.get("token_url")) if u],
        )
        if isinstance(auth, OAuth2Authenticator):
            auth.client = client
        return client

    @property
    def engine(self) -> Engine:
        """The run's request engine (made on first use outside a full sync, e.g. a dry run)."""
        if self._engine is None:
            self._engine = Engine(workers=self.client.max_in_flight, on_wait=_between_pages)
        return self._engine

    @override
    def begin_sync(self) -> None:
        """Start reading every selected partition ahead of the SDK."""
        self._engine = Engine(workers=self.client.max_in_flight, on_wait=_between_pages)
        self._engine.start(self._top_level_partitions())

    @override
    def after_sync(self, *, failed: bool) -> None:
        """End the engine: after a failure nothing new starts and waits are cut short."""
        if failed:
            self.client.stop()
        self.engine.close()
        self._engine = None
        flush()

    def _top_level_partitions(self) -> list[tuple[AnalyticsStream, list[Mapping[str, t.Any] | None]]]:
        """What the SDK will sync, in its order: selected top-level streams and their partitions."""
        return [
            (stream, list(stream.partitions or ()) or [None])
            for stream in self.streams.values()
            if isinstance(stream, AnalyticsStream)
            and (stream.selected or stream.has_selected_descendents)
            and stream.parent_stream_type is None
        ]

    @classmethod
    def secret_values(cls, config: t.Mapping[str, t.Any]) -> list[str]:
        """Values of settings declared secret, to keep them out of messages."""
        props = cls.config_jsonschema.get("properties", {})
        return [str(config[k]) for k, v in props.items() if v.get("secret") and config.get(k)]

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Run, turning the SDK's multi-line config errors into one of ours."""
        try:
            super().invoke(*args, **kwargs)
        except ConfigValidationError as exc:
            problems = "; ".join(exc.errors) or str(exc)
            raise ConfigError(f"invalid settings: {problems}") from None

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with any failure reported as one line and exit code 1."""
        command = super().get_singer_command()
        run = command.main
        logging.getLogger().addFilter(_QuietSdkLines())
        for handler in logging.getLogger().handlers:
            handler.addFilter(_QuietSdkLines())

        def main(*args: t.Any, **kwargs: t.Any) -> t.Any:
            try:
                return run(*args, **kwargs)
            except Interrupted as exc:
                cls.logger.error("%s: stopped after the last whole message; the run is incomplete", exc)
                _leave(exc.exit_code)
            except TargetGone:
                cls.logger.error("the target stopped reading")
                _leave(1)
            except Exception as exc:  # noqa: BLE001 - every failure becomes one line
                cls.logger.error("%s", redact(one_line(exc), _SECRETS))
                sys.exit(1)

        command.main = main  # type: ignore[method-assign]
        return command


def _between_pages() -> None:
    """While the SDK waits for a page: hand the target what is buffered; stop on a signal."""
    flush()
    check()


def _leave(code: int) -> t.NoReturn:
    """Exit now, without waiting for threads still in a request, and without writing to stdout."""
    sys.stderr.flush()
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
    os._exit(code)
