"""Paginators with stop rules that do not rely on luck: an empty page, a total, a null or repeated cursor."""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator

from tap_analytics_common.body import dig, json_body, select_records
from tap_analytics_common.errors import PaginationError

if t.TYPE_CHECKING:
    import requests

TOTAL_FIELDS = ("total", "total_count", "totalCount")
HAS_MORE_FIELDS = ("has_more", "hasMore")


def _is_absolute_url(token: object) -> bool:
    return isinstance(token, str) and token.startswith(("http://", "https://"))


class CountingPaginator(BaseAPIPaginator[int]):
    """Page-number and offset pagination share these stop rules.

    A page ends the stream when it is empty, when a has-more field says so, when a
    total is reached, or when it is short while the limit we asked for is at most
    the documented page size (a server may silently cap a larger limit).
    """

    def __init__(self, start_value: int, *, records_path: str, limit: int, documented_page_size: int) -> None:
        super().__init__(start_value)
        self.records_path = records_path
        self.limit = limit
        self.documented_page_size = documented_page_size
        self.records_seen = 0
        self._last_count = 0

    def has_more(self, response: requests.Response) -> bool:
        """Apply the stop rules to the page just read."""
        count = len(select_records(response, self.records_path))
        self._last_count = count
        self.records_seen += count
        if count == 0:
            return False
        body = json_body(response)
        for field in HAS_MORE_FIELDS:
            if isinstance(body.get(field), bool):
                return bool(body[field])
        for field in TOTAL_FIELDS:
            total = body.get(field)
            if isinstance(total, int) and not isinstance(total, bool):
                return self.records_seen < total
        return not (self.limit <= self.documented_page_size and count < self.limit)


class PageNumberPaginator(CountingPaginator):
    """`page` from 1 upward."""

    def __init__(self, *, records_path: str, limit: int, documented_page_size: int = 100) -> None:
        super().__init__(1, records_path=records_path, limit=limit, documented_page_size=documented_page_size)

    def get_next(self, response: requests.Response) -> int | None:
        """The next page number."""
        return self.current_value + 1


class OffsetPaginator(CountingPaginator):
    """`offset` from 0, advanced by the records received (not the limit asked for)."""

    def __init__(self, *, records_path: str, limit: int, documented_page_size: int = 100) -> None:
        super().__init__(0, records_path=records_path, limit=limit, documented_page_size=documented_page_size)

    def get_next(self, response: requests.Response) -> int | None:
        """The offset just past the records read so far."""
        return self.records_seen


class CursorPaginator(BaseAPIPaginator[str | None]):
    """A cursor found in the body at `cursor_path`; the stream ends when it is null or absent.

    The cursor may be an opaque token (sent back as a query parameter) or an absolute
    URL (followed as is). An empty page that still carries a cursor is not the end.
    A cursor seen before is an error: following it would loop forever.
    """

    def __init__(self, *, cursor_path: str) -> None:
        super().__init__(None)
        self.cursor_path = cursor_path
        self._seen: set[str] = set()

    def cursor(self, response: requests.Response) -> str | None:
        """The cursor the page carries, None at the end."""
        value = dig(json_body(response), self.cursor_path)
        if value is None or value == "":
            return None
        return str(value)

    def has_more(self, response: requests.Response) -> bool:
        """More pages while the page carries a cursor."""
        return self.cursor(response) is not None

    def get_next(self, response: requests.Response) -> str | None:
        """The next cursor, refusing one seen before."""
        token = self.cursor(response)
        if token is not None:
            if token in self._seen:
                msg = f"the API sent the cursor {token[:60]!r} a second time; stopping to avoid a loop"
                raise PaginationError(msg)
            self._seen.add(token)
        return token

    @property
    def next_url(self) -> str | None:
        """The absolute URL to follow, when the cursor is one."""
        return self.current_value if _is_absolute_url(self.current_value) else None
