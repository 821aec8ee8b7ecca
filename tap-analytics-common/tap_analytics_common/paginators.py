"""Pagination, the one place it lives: each paginator builds its next request and reads each page.

The shape follows dlt's `rest_client/paginators.py`: a paginator owns how the next
request is made (`next_request`) and how a response moves it on (`update_state`).
It also says which requests may be sent before the next page is answered
(`requests_ahead`), so the engine can fetch page-number and offset pages side by
side. The stop rules never rely on luck:

- an empty page, a has-more field or a total ends a counting stream;
- a short page ends it only when the limit asked for is at most the documented page
  size (a server may silently cap a larger limit);
- a null, absent or empty cursor ends a cursor stream; an empty page that still
  carries a cursor does not; a cursor seen before is an error, not an endless loop.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from tap_analytics_common.body import dig, json_body
from tap_analytics_common.errors import PaginationError

if t.TYPE_CHECKING:
    import requests

TOTAL_FIELDS = ("total", "total_count", "totalCount")
HAS_MORE_FIELDS = ("has_more", "hasMore")


@dataclass(frozen=True)
class PageRequest:
    """What one page request adds to the stream's URL: query parameters, or an absolute URL."""

    params: dict[str, t.Any] = field(default_factory=dict)
    url: str | None = None
    """An absolute URL the API gave for the next page: followed as is, query included."""


class Paging:
    """One partition's pagination state. The base is a single page: one request per list.

    (Named `…Paging`, not `…Paginator`, because singer-sdk's paginators are not these.)
    """

    def __init__(self) -> None:
        self.has_next_page = True
        self.pages_read = 0

    def next_request(self) -> PageRequest:
        """The request for the page after the last one read (the first page before any)."""
        return PageRequest()

    def update_state(self, response: requests.Response, records: list[dict[str, t.Any]]) -> None:
        """Advance past a page just read, in order; clear `has_next_page` at the end."""
        self.pages_read += 1
        self.has_next_page = False

    def requests_ahead(self, count: int) -> list[PageRequest]:
        """Up to `count` requests that follow `next_request` and may be sent before it is answered."""
        return []


class CountingPaging(Paging):
    """Page-number and offset pagination: the same stop rules, different positions.

    Pages may be requested ahead once the first page showed that the server honours
    the limit (a full page). A server that caps the limit makes the partition go one
    page at a time, and the engine checks every page fetched ahead against the
    request a sequential run would have made.
    """

    def __init__(self, *, limit: int, limit_param: str = "limit", documented_page_size: int = 100) -> None:
        super().__init__()
        self.limit = limit
        self.limit_param = limit_param
        self.documented_page_size = documented_page_size
        self.records_seen = 0
        self.total: int | None = None
        self.honoured = False
        """The server returned full pages of `limit` records: pages can be predicted."""

    def position(self, pages_ahead: int) -> dict[str, t.Any]:
        """Query parameters of the page `pages_ahead` after the next one, assuming full pages."""
        raise NotImplementedError

    def next_request(self) -> PageRequest:
        """The next page at the position reached so far."""
        return PageRequest(self.position(0) | {self.limit_param: self.limit})

    def update_state(self, response: requests.Response, records: list[dict[str, t.Any]]) -> None:
        """Count the page and apply the stop rules."""
        count = len(records)
        self.pages_read += 1
        self.records_seen += count
        self.honoured = count == self.limit and (self.pages_read == 1 or self.honoured)
        self.has_next_page = self._more(json_body(response), count)

    def _more(self, body: t.Any, count: int) -> bool:
        if count == 0:
            return False
        for name in HAS_MORE_FIELDS:
            if isinstance(body.get(name), bool):
                return bool(body[name])
        for name in TOTAL_FIELDS:
            total = body.get(name)
            if isinstance(total, int) and not isinstance(total, bool):
                self.total = total
                return self.records_seen < total
        return not (self.limit <= self.documented_page_size and count < self.limit)

    def requests_ahead(self, count: int) -> list[PageRequest]:
        """Full pages after the next one, while the server honours the limit (and the total allows)."""
        if not (self.honoured and self.has_next_page):
            return []
        if self.total is not None:
            left = self.total - self.records_seen
            count = min(count, max(0, -(-left // self.limit) - 1))
        return [PageRequest(self.position(i) | {self.limit_param: self.limit}) for i in range(1, count + 1)]


class PageNumberPaging(CountingPaging):
    """`page` from 1 upward."""

    def __init__(self, *, page_param: str = "page", **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.page_param = page_param

    def position(self, pages_ahead: int) -> dict[str, t.Any]:
        """The page number."""
        return {self.page_param: self.pages_read + 1 + pages_ahead}


class OffsetPaging(CountingPaging):
    """`offset` from 0, advanced by the records received (not by the limit asked for)."""

    def __init__(self, *, offset_param: str = "offset", **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.offset_param = offset_param

    def position(self, pages_ahead: int) -> dict[str, t.Any]:
        """The offset just past the records read, plus full pages ahead."""
        return {self.offset_param: self.records_seen + pages_ahead * self.limit}


class CursorPaging(Paging):
    """A cursor in the body at `cursor_path`, sent back as `?<cursor_param>=`, or followed as a URL.

    Each page depends on the one before, so nothing is requested ahead.
    """

    def __init__(self, *, cursor_path: str, cursor_param: str) -> None:
        super().__init__()
        self.cursor_path = cursor_path
        self.cursor_param = cursor_param
        self.cursor: str | None = None
        self._seen: set[str] = set()

    def next_request(self) -> PageRequest:
        """No query on the first page; then the cursor, or the URL it is."""
        if self.cursor is None:
            return PageRequest()
        if self.cursor.startswith(("http://", "https://")):
            return PageRequest(url=self.cursor)
        return PageRequest({self.cursor_param: self.cursor})

    def update_state(self, response: requests.Response, records: list[dict[str, t.Any]]) -> None:
        """Take the page's cursor; none means the end, a repeated one is an error."""
        self.pages_read += 1
        value = dig(json_body(response), self.cursor_path)
        if value is None or value == "":
            self.has_next_page = False
            return
        token = str(value)
        if token in self._seen:
            msg = f"the API sent the cursor {token[:60]!r} a second time; stopping to avoid a loop"
            raise PaginationError(msg)
        self._seen.add(token)
        self.cursor = token
