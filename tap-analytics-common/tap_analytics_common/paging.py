"""The three ways the documents page, as stream bases: a tap picks one and names its fields."""

from __future__ import annotations

import typing as t

from tap_analytics_common.pagination import CursorPaginator, OffsetPaginator, PageNumberPaginator
from tap_analytics_common.streams import AnalyticsStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class _LimitedStream(AnalyticsStream):
    """A stream that asks for `page_size` records per page (the setting; document: 100)."""

    limit_param: t.ClassVar[str] = "limit"

    @property
    def page_size(self) -> int:
        """Records asked for per page; a server may cap it, which the stop rules allow for."""
        return int(self.config.get("page_size", 100))


class PageNumberStream(_LimitedStream):
    """`page` from 1 and `limit`."""

    page_param: t.ClassVar[str] = "page"

    def get_new_paginator(self) -> PageNumberPaginator:
        """Page numbers from 1 under the common stop rules."""
        return PageNumberPaginator(records_path=self.records_path, limit=self.page_size)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """The page number and the limit."""
        return {self.page_param: next_page_token or 1, self.limit_param: self.page_size}


class OffsetStream(_LimitedStream):
    """`offset` from 0 (advanced by the records received) and `limit`."""

    offset_param: t.ClassVar[str] = "offset"

    def get_new_paginator(self) -> OffsetPaginator:
        """Offsets under the common stop rules."""
        return OffsetPaginator(records_path=self.records_path, limit=self.page_size)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """The offset and the limit."""
        return {self.offset_param: next_page_token or 0, self.limit_param: self.page_size}


class CursorStream(AnalyticsStream):
    """A cursor in the body at `cursor_path`, sent back as `?<cursor_param>=`.

    A cursor that is an absolute URL is followed as is; no page-size parameter is
    sent (the documents name none for their cursor APIs).
    """

    cursor_path: t.ClassVar[str] = "next"
    cursor_param: t.ClassVar[str] = "next"

    def get_new_paginator(self) -> CursorPaginator:
        """Ends when the cursor is null, absent or empty; an empty page with a cursor goes on."""
        return CursorPaginator(cursor_path=self.cursor_path)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """Only the cursor, after the first page."""
        return {self.cursor_param: next_page_token} if next_page_token else {}
