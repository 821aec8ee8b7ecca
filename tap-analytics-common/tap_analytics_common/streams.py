"""The stream every tap-analytics stream derives from."""

from __future__ import annotations

import functools
import logging
import typing as t
from collections import deque
from urllib.parse import quote

import singer_sdk.singerlib as singer
from singer_sdk import RESTStream
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.metrics import get_metrics_logger

from tap_analytics_common.body import select_records
from tap_analytics_common.client import url_path
from tap_analytics_common.contract import Contract
from tap_analytics_common.errors import ApiError, TapError
from tap_analytics_common.fanout import Prefetcher, partition_key
from tap_analytics_common.pagination import CursorPaginator
from tap_analytics_common.schemas import EXTRA_PROPERTY

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator, Mapping

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.metrics import Counter
    from singer_sdk.pagination import BaseAPIPaginator

    from tap_analytics_common.client import ApiClient
    from tap_analytics_common.tap import AnalyticsTap


class AnalyticsStream(RESTStream[t.Any]):
    """A full-table (or incremental) REST stream with the suite's shared rules.

    Subclasses set `path`, `records_path`, `primary_keys`, and for child streams
    `parent_key` and `path_params`; the tap supplies the one ApiClient of the run.
    """

    records_path: t.ClassVar[str] = "data"
    parent_key: t.ClassVar[str | None] = None
    """Context key copied into every record (the parent's id)."""
    path_params: t.ClassVar[Mapping[str, str]] = {}
    """Path placeholder -> context key, e.g. {"workspace": "workspaceId"}."""
    child_context_fields: t.ClassVar[Mapping[str, str]] = {}
    """Child context key -> this stream's record field, for parent streams."""
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE

    def __init__(self, tap: AnalyticsTap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.analytics_tap = tap
        self.records_read = 0
        self._declared = frozenset(self.schema["properties"])
        self._started = False
        self._pending_version: int | None = None
        self._schema_sent = False
        self._everything_selected: bool | None = None
        self._logger = tap.logger
        if self.parent_key or self.parent_stream_type:
            # One state entry for the stream, not one per parent repeated in every STATE.
            self.state_partitioning_keys = []

    # -- requests -----------------------------------------------------------------

    @property
    def client(self) -> ApiClient:
        """The tap run's one client (auth, retries, concurrency bound)."""
        return self.analytics_tap.client

    @property
    def url_base(self) -> str:
        """The `base_url` setting."""
        return str(self.config["base_url"]).rstrip("/")

    def get_url(self, context: Context | None) -> str:
        """The endpoint URL with path placeholders filled from the context."""
        path = self.path or ""
        if self.path_params:
            values = {
                name: quote(str((context or {})[key]), safe="") for name, key in self.path_params.items()
            }
            path = path.format_map(values)
        return self.url_base + path

    def get_new_paginator(self) -> BaseAPIPaginator[t.Any] | None:
        """No pagination unless the tap's stream says otherwise."""
        return None

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """Query parameters for one page; APIs add their paging parameters."""
        return {}

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """Records at the document's data selector that carry their primary key (the contract)."""
        return self.contract.keep_keyed(select_records(response, self.records_path), url_path(response.url))

    @functools.cached_property
    def contract(self) -> Contract:
        """The stream's schema contract, compiled once (see contract.py)."""
        return Contract(
            self.name,
            self.schema,
            key_fields=[key for key in self.primary_keys or () if key != self.parent_key],
            schema_contract=self.config.get("schema_contract") or "evolve",
            records_without_key=self.config.get("records_without_key") or "fail",
        )

    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Records of one partition; a parent also starts fetching its children's ahead."""
        children = [
            child
            for child in self.child_streams
            if isinstance(child, AnalyticsStream) and (child.selected or child.has_selected_descendents)
        ]
        workers = self.client.max_in_flight
        if not children or workers <= 1:
            yield from self.request_records(context)
            return
        prefetch = Prefetcher(workers)
        self.analytics_tap.prefetch = prefetch
        ahead: deque[dict[str, t.Any]] = deque()
        try:
            for record in self.request_records(context):
                child_context = self.get_child_context(record, context)
                for child in children:
                    prefetch.submit(
                        partition_key(child.name, child_context),
                        functools.partial(child.fetch_all, child_context),
                    )
                ahead.append(record)
                if len(ahead) > 2 * workers:
                    yield ahead.popleft()
            while ahead:
                yield ahead.popleft()
        finally:
            self.analytics_tap.prefetch = None
            prefetch.close()

    def request_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Page through the endpoint under the suite's stop rules and repeat guard."""
        if not self._started:
            self._started = True
            self.logger.info("Stream %s: started", self.name)
        prefetch = self.analytics_tap.prefetch
        fetched = prefetch.take(partition_key(self.name, context)) if prefetch else None
        for record in fetched.result() if fetched else self.fetch_partition(context):
            self.records_read += 1
            yield record

    def fetch_all(self, context: Context | None) -> list[dict[str, t.Any]]:
        """One partition's records as a list (what a prefetch thread runs)."""
        return list(self.fetch_partition(context))

    def fetch_partition(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """All records of one partition; touches no SDK state, so threads may run it."""
        try:
            yield from self._pages(context)
        except TapError as exc:
            if str(exc).startswith("stream "):
                raise
            raise type(exc)(f"stream {self.name}: {exc}") from None

    def _pages(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        with self.get_http_request_counter() as requests_made:  # the SDK's request metrics
            requests_made.with_context(context)
            yield from self._records_of_pages(context, requests_made)

    def _records_of_pages(
        self, context: Context | None, requests_made: Counter
    ) -> Iterator[dict[str, t.Any]]:
        paginator = self.get_new_paginator()
        token: t.Any = paginator.current_value if paginator else None
        previous: list[dict[str, t.Any]] | None = None
        warm = self.analytics_tap.take_first_page(self.name) if context is None else None
        while True:
            response = warm.result() if warm else self._get_page(context, paginator, token)
            warm = None
            if response is None:
                return
            requests_made.increment()
            self._write_request_duration_log(
                endpoint=self.path or "", response=response, context=context, extra_tags=None
            )
            records = list(self.parse_response(response))
            if records and records == previous:
                self.logger.warning(
                    "Stream %s: %s returned the previous page again; ending the stream there",
                    self.name,
                    self.path,
                )
                return
            previous = [dict(record) for record in records]  # consumers modify the records
            yield from records
            if paginator is None:
                return
            paginator.advance(response)
            if paginator.finished:
                return
            token = paginator.current_value

    def first_page(self) -> requests.Response | None:
        """The first page of an unpartitioned stream (fetched ahead by the tap)."""
        paginator = self.get_new_paginator()
        return self._get_page(None, paginator, paginator.current_value if paginator else None)

    def _get_page(
        self, context: Context | None, paginator: BaseAPIPaginator[t.Any] | None, token: t.Any
    ) -> requests.Response | None:
        next_url = paginator.next_url if isinstance(paginator, CursorPaginator) else None
        url = next_url or self.get_url(context)
        params = {} if next_url else self.get_url_params(context, token)
        try:
            return self.client.request("GET", url, what=f"stream {self.name}", params=params)
        except ApiError as exc:
            if exc.status == 404 and self.parent_key and context:
                self.logger.warning(
                    "Stream %s: %s %s is gone (404); skipped",
                    self.name,
                    self.parent_key,
                    context.get(self.parent_key),
                )
                return None
            raise

    # -- records ----------------------------------------------------------------

    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        """Keep undeclared fields under `extra`, copy in the parent key, hold to the contract."""
        undeclared = [key for key in row if key not in self._declared or key == EXTRA_PROPERTY]
        if undeclared:
            row[EXTRA_PROPERTY] = {key: row.pop(key) for key in undeclared}
            self.contract.note_undeclared(undeclared)
        if self.parent_key and context is not None:
            row[self.parent_key] = context[self.parent_key]
        return self.contract.conform(row)

    def get_child_context(self, record: dict[str, t.Any], context: Context | None) -> dict[str, t.Any]:
        """The parent's id for its child streams."""
        return {key: record[field] for key, field in self.child_context_fields.items()}

    # -- Singer output --------------------------------------------------------------

    @property
    def emit_activate_version_messages(self) -> bool:
        """Full-table streams mark rows deleted at the source, unless turned off."""
        return bool(self.config.get("emit_activate_version_messages", True))

    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> Generator[singer.RecordMessage, None, None]:
        """The SDK's record path, minus its per-record walk of the selection mask.

        singer-sdk 0.54 checks every property (nested ones of `extra` included)
        against the catalog for each record: a third of a tap's time. That walk
        only matters when something is deselected, which we know once per stream.
        """
        if self._everything_selected is None:
            self._everything_selected = all(self.mask.values())
        if not self._everything_selected:
            pop_deselected_record_properties(record, self.schema, self.mask)
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
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def _write_schema_message(self) -> None:
        """Once per run: the SDK repeats SCHEMA for every parent partition of a child."""
        if not self._schema_sent:
            self._schema_sent = True
            super()._write_schema_message()

    def _write_activate_version_message(self, full_table_version: int) -> None:
        """Hold ACTIVATE_VERSION back until the stream has been read in full.

        The SDK sends it first, so a run that fails half-way would have the target
        mark every row not yet re-read as deleted; sent last, it marks only rows the
        source no longer has. Once per stream, not once per parent partition.
        """
        self._pending_version = full_table_version

    def finalize_state_progress_markers(self, state: dict[str, t.Any] | None = None) -> None:
        """At the end of the stream (children included): activate its version, log its count."""
        super().finalize_state_progress_markers(state)
        if not state and self.selected:
            if self._pending_version is not None:
                super()._write_activate_version_message(self._pending_version)
                self._pending_version = None
            self.logger.info("Stream %s: finished, %d records read", self.name, self.records_read)
            self.contract.report(self.logger, get_metrics_logger())

    @property
    def logger(self) -> logging.Logger:
        """The tap's logger (one place to filter and format), looked up once."""
        return self._logger
