"""The streams every tap-analytics stream derives from: one base, and one per way of paging."""

from __future__ import annotations

import functools
import typing as t
from urllib.parse import quote

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.metrics import get_metrics_logger
from typing_extensions import override

from tap_analytics_common.body import select_records
from tap_analytics_common.client import url_path
from tap_analytics_common.contract import Contract
from tap_analytics_common.errors import ApiError, TapError
from tap_analytics_common.paginators import (
    CursorPaging,
    OffsetPaging,
    PageNumberPaging,
    Paging,
)
from tap_analytics_common.schemas import EXTRA_PROPERTY
from tap_analytics_common.sdk import SdkStream

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Iterator, Mapping

    import requests
    from singer_sdk.helpers.types import Context

    from tap_analytics_common.client import ApiClient
    from tap_analytics_common.engine import Engine
    from tap_analytics_common.paginators import PageRequest
    from tap_analytics_common.tap import AnalyticsTap


class AnalyticsStream(SdkStream):
    """A full-table (or incremental) REST stream with the suite's shared rules.

    Subclasses set `path`, `records_path`, `primary_keys`, and for child streams
    `parent_key` and `path_params`. Every request goes through the tap run's one
    request engine and client, which replace the SDK's request loop. So these
    RESTStream hooks are not called: `request_records`, `get_new_paginator`,
    `get_next_page_token`, `prepare_request`, `prepare_request_payload`,
    `validate_response`, `request_decorator` and the `backoff_*` hooks, `authenticator`,
    `http_headers` and `records_jsonpath`. Their jobs are `make_paginator`,
    `fetch_page`, `get_url_params` (extra query parameters), `records_path`, the
    settings `max_retries`/`backoff_factor`/`user_agent`, and the tap's `make_auth`.
    `get_url`, `parse_response`, `post_process` and `get_child_context` are honoured.
    """

    records_path: t.ClassVar[str] = "data"
    parent_key: t.ClassVar[str | None] = None
    """Context key copied into every record (the parent's id)."""
    path_params: t.ClassVar[Mapping[str, str]] = {}
    """Path placeholder -> context key, e.g. {"workspace": "workspaceId"}."""
    child_context_fields: t.ClassVar[Mapping[str, str]] = {}
    """Child context key -> this stream's record field, for parent streams."""
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    """The schema contract already holds every record to its SCHEMA (contract.py); the SDK's
    conformance on top cost a third of the consumer thread, and at its recursive level it
    drops nested fields the document does not name."""

    def __init__(self, tap: AnalyticsTap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.analytics_tap = tap
        self.records_read = 0
        self._declared = frozenset(self.schema["properties"]) - {EXTRA_PROPERTY}
        """Fields kept as they are; the rest, and the API's own `extra`, go into `extra`."""
        self._started = False
        self._logger = tap.logger
        if self.parent_key or self.parent_stream_type:
            # One state entry for the stream, not one per parent repeated in every STATE.
            self.state_partitioning_keys = []

    # -- requests -----------------------------------------------------------------

    @property
    def client(self) -> ApiClient:
        """The run's one client (auth, retries, bound on requests in flight, budget)."""
        return self.analytics_tap.client

    @property
    def engine(self) -> Engine:
        """The run's one request engine."""
        return self.analytics_tap.engine

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["base_url"]).rstrip("/")

    @override
    def get_url(self, context: Context | None) -> str:
        path = self.path or ""
        if self.path_params:
            values = {
                name: quote(str((context or {})[key]), safe="") for name, key in self.path_params.items()
            }
            path = path.format_map(values)
        return self.url_base + path

    def make_paginator(self) -> Paging:
        """A new paginator for one partition: one page per list unless a subclass pages."""
        return Paging()

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """Query parameters every page of a partition carries, besides the paginator's."""
        return {}

    def fetch_page(
        self, request: PageRequest, context: Mapping[str, t.Any] | None
    ) -> requests.Response | None:
        """One page (engine threads call this); None when the parent of a child is gone (404)."""
        if request.url:
            url, params = request.url, {}
        else:
            url, params = self.get_url(context), self.get_url_params(context, None) | request.params
        try:
            response = self.client.request("GET", url, what=f"stream {self.name}", params=params)
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
        self.log_request(response, context)
        return response

    @override
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

    def active_children(self) -> list[AnalyticsStream]:
        """Child streams the SDK will sync for each record of this one."""
        return [
            child
            for child in self.child_streams
            if isinstance(child, AnalyticsStream) and (child.selected or child.has_selected_descendents)
        ]

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Records of one partition, in order, from pages the engine fetched ahead."""
        if not self._started:
            self._started = True
            self.logger.info("Stream %s: started", self.name)
        try:
            for record in self.engine.records(self, context):
                self.records_read += 1
                yield record
        except TapError as exc:
            if str(exc).startswith("stream "):
                raise
            raise type(exc)(f"stream {self.name}: {exc}") from None

    # -- records ----------------------------------------------------------------

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        """Keep undeclared fields under `extra`, copy in the parent key, hold to the contract."""
        undeclared = row.keys() - self._declared  # set operations: this runs for every record
        if undeclared:
            names = sorted(undeclared)  # the same order in every run, whatever the API's
            row[EXTRA_PROPERTY] = {key: row.pop(key) for key in names}
            self.contract.note_undeclared(names)
        if self.parent_key and context is not None:
            row[self.parent_key] = context[self.parent_key]
        return self.contract.conform(row)

    @override
    def get_child_context(self, record: dict[str, t.Any], context: Context | None) -> dict[str, t.Any]:
        """The parent's id for its child streams."""
        return {key: record[field] for key, field in self.child_context_fields.items()}

    @override
    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> Iterable[dict[str, t.Any] | None]:
        """None for a stream without children: the SDK then skips its per-record child sync."""
        return (self.get_child_context(record, context),) if self.child_streams else ()

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Full-table streams mark rows deleted at the source, unless turned off."""
        return bool(self.config.get("emit_activate_version_messages", True))

    @override
    def stream_finished(self) -> None:
        self.logger.info("Stream %s: finished, %d records read", self.name, self.records_read)
        self.contract.report(self.logger, get_metrics_logger())

    @property
    @override
    def logger(self) -> logging.Logger:
        """The tap's logger (one place to filter and format), looked up once."""
        return self._logger


class _LimitedStream(AnalyticsStream):
    """A stream that asks for `page_size` records per page (the setting; documents: 100)."""

    limit_param: t.ClassVar[str] = "limit"
    documented_page_size: t.ClassVar[int] = 100

    @property
    def page_size(self) -> int:
        """Records asked for per page; a server may cap it, which the stop rules allow for."""
        return int(self.config.get("page_size", self.documented_page_size))

    def _limits(self) -> dict[str, t.Any]:
        return {
            "limit": self.page_size,
            "limit_param": self.limit_param,
            "documented_page_size": self.documented_page_size,
        }


class PageNumberStream(_LimitedStream):
    """`page` from 1 and `limit`."""

    page_param: t.ClassVar[str] = "page"

    @override
    def make_paginator(self) -> PageNumberPaging:
        return PageNumberPaging(page_param=self.page_param, **self._limits())


class OffsetStream(_LimitedStream):
    """`offset` from 0 (advanced by the records received) and `limit`."""

    offset_param: t.ClassVar[str] = "offset"

    @override
    def make_paginator(self) -> OffsetPaging:
        return OffsetPaging(offset_param=self.offset_param, **self._limits())


class CursorStream(AnalyticsStream):
    """A cursor in the body at `cursor_path`, sent back as `?<cursor_param>=`.

    A cursor that is an absolute URL is followed as is; no page-size parameter is
    sent (the documents name none for their cursor APIs).
    """

    cursor_path: t.ClassVar[str] = "next"
    cursor_param: t.ClassVar[str] = "next"

    @override
    def make_paginator(self) -> CursorPaging:
        return CursorPaging(cursor_path=self.cursor_path, cursor_param=self.cursor_param)
