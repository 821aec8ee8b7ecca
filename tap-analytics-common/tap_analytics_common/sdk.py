"""Every singer-sdk internal the suite overrides or calls, in one module.

These are private to singer-sdk (tested with 0.54.x, pinned to that range). Each
override is marked `@override`, so an upgrade that renames one fails in mypy, not
silently at run time. Why each exists:

- `_write_record_message`: the SDK's (through `_generate_record_messages`) walks the
  selection mask for every property of every record; we do it only when something is
  deselected (and conform types only when the stream asks for it). Each line is encoded
  straight into the output block, without a message object per record, and
  `time_extracted` is read from the clock at most every few milliseconds: together that
  was a quarter of the consumer thread's time.
- `_write_schema_message`: the SDK repeats SCHEMA for every parent partition of a child.
- `_write_activate_version_message`: the SDK sends ACTIVATE_VERSION first; we send it
  once, after the stream was read in full (a failed run then deletes nothing).
- `_increment_stream_state`: the SDK compares bookmarks as text; a stream may hand it a
  canonical value instead (`bookmark_record`).
- `Tap.sync_all` is `@final`: we wrap it to run checks and the request engine around it.
- `_setup_signal_handlers`: the SDK's handler writes STATE inside the handler and exits 0.
- `_env_var_config`: the SDK turns a bad integer in the environment into a traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import time
import typing as t

from singer_sdk import RESTStream, Tap
from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_analytics_common import interrupt, output
from tap_analytics_common.config_checks import check_environment

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.metrics import Counter

_GC_YOUNG_THRESHOLD = 100_000
"""Allocations between young-generation collections during a sync (Python's default: 700)."""


def _settle_garbage_collector() -> None:
    """Leave start-up's objects out of every later collection, and collect the young less often.

    A sync allocates a few dicts per record and holds pages ahead, so at the default
    threshold the collector ran every few records and rescanned everything start-up
    made (modules, schemas, the catalog): 5% of the run at 100,000 records. Nothing the
    records make is cyclic, so collecting less often frees the same memory. (No collection
    first: at start-up one costs more than the little garbage it would free.)
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, middle, old)


_CLOCK_REUSE = 0.005
"""Seconds one reading of the clock serves as `time_extracted` (a page's records share it)."""


class SdkStream(RESTStream[t.Any]):
    """The SDK's stream with the suite's fixes to its private record and message paths."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending_version: int | None = None
        self._schema_sent = False
        self._everything_selected: bool | None = None
        self._request_counter: Counter | None = None
        self._clock_read_at = -_CLOCK_REUSE
        self._clock = utc_now()

    # -- hooks for subclasses -------------------------------------------------------

    def bookmark_record(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """What the SDK's state sees of a record; a stream may canonicalise its replication key."""
        return record

    def stream_finished(self) -> None:
        """Called once when the stream (children included) has been read in full."""

    # -- calls into the SDK ---------------------------------------------------------

    def log_request(self, response: requests.Response, context: Context | None) -> None:
        """The SDK's request metrics (count and duration) for one response; thread-safe enough."""
        if self._request_counter is None:
            self._request_counter = self.get_http_request_counter()
        self._request_counter.increment()
        self._write_request_duration_log(
            endpoint=self.path or "", response=response, context=context, extra_tags=None
        )

    # -- overrides ------------------------------------------------------------------

    def _mapped_records(self, record: dict[str, t.Any]) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """(stream alias, record) for each stream map that keeps the record."""
        if self._everything_selected is None:
            self._everything_selected = all(self.mask.values())
        if not self._everything_selected:
            pop_deselected_record_properties(record, self.schema, self.mask)
        if self.TYPE_CONFORMANCE_LEVEL is not TypeConformanceLevel.NONE:
            record = conform_record_data_types(
                stream_name=self.name,
                record=record,
                schema=self.effective_schema,
                level=self.TYPE_CONFORMANCE_LEVEL,
                logger=self.logger,
            )
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield stream_map.stream_alias, mapped

    def _time_extracted(self) -> dt.datetime:
        """The clock, read again once `_CLOCK_REUSE` seconds have passed."""
        now = time.monotonic()
        if now - self._clock_read_at >= _CLOCK_REUSE:
            self._clock_read_at, self._clock = now, utc_now()
        return self._clock

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        extracted = self._time_extracted()
        for alias, mapped in self._mapped_records(record):
            message: dict[str, t.Any] = {"type": "RECORD", "stream": alias, "record": mapped}
            if self._stream_version is not None:
                message["version"] = self._stream_version
            message["time_extracted"] = extracted
            output.write_record(message)
        self.state_manager.is_flushed = False

    @override
    def _write_schema_message(self) -> None:
        if not self._schema_sent:
            self._schema_sent = True
            super()._write_schema_message()

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        self._pending_version = full_table_version  # sent by finalize_state_progress_markers

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: Context | None = None
    ) -> None:
        if self.replication_key:  # without one the SDK has nothing to do, after some lookups
            super()._increment_stream_state(self.bookmark_record(latest_record), context=context)

    @override
    def finalize_state_progress_markers(self, state: dict[str, t.Any] | None = None) -> None:
        super().finalize_state_progress_markers(state)
        if not state and self.selected:
            if self._pending_version is not None:
                super()._write_activate_version_message(self._pending_version)
                self._pending_version = None
            if self._request_counter is not None:
                self._request_counter.exit()
                self._request_counter = None
            self.stream_finished()


class SdkTap(Tap):
    """The SDK's tap with `sync_all` wrapped (it is final in singer-sdk), its signal handler
    replaced and its environment settings checked."""

    @override
    def _setup_signal_handlers(self) -> None:
        """Ours instead of the SDK's, which writes STATE inside the handler and exits 0."""
        interrupt.install()

    @classproperty
    @override
    def _env_var_config(cls) -> dict[str, t.Any]:  # noqa: N805
        """Settings from the environment; an unparseable integer names setting and variable."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        check_environment(schema, cls._env_var_prefix)
        return parse_environment_config(schema, cls._env_var_prefix)

    def before_sync(self) -> None:
        """Checks that need the catalog's selection, run before the first request of a sync.

        A tap raises ConfigError here, e.g. for a setting only some streams need.
        """

    def begin_sync(self) -> None:
        """Runs after the checks, before the SDK syncs the first stream."""

    def after_sync(self, *, failed: bool) -> None:
        """Runs last in a sync, also when it failed."""

    def sync_all(self) -> None:  # type: ignore[misc]  # final in singer-sdk: we only wrap it
        """The SDK's full sync, after `before_sync` and `begin_sync`, then `after_sync`."""
        self.before_sync()
        self.begin_sync()
        _settle_garbage_collector()
        failed = True
        try:
            super().sync_all()
            failed = False
        finally:
            self.after_sync(failed=failed)
