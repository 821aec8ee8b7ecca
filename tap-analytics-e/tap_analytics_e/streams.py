"""API e's streams: four offset/limit lists under `data`, keyed by `id`."""

from __future__ import annotations

import typing as t

from singer_sdk import StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_analytics_common import AnalyticsStream, DocumentSchemas, OffsetPaginator
from tap_analytics_e import schemas

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

SCHEMAS = DocumentSchemas(schemas)


class EStream(AnalyticsStream):
    """A list at `/v1/<name>`, paged by `offset` and `limit` (the `page_size` setting)."""

    schema = StreamSchema(SCHEMAS)
    records_path = "data"
    primary_keys = ("id",)
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    """Nothing to conform: the API's JSON strings and the `extra` object, as the schemas
    declare. Walking `extra` for each record is measurable at 100,000 records; the tests
    validate every record against its schema instead."""

    @property
    def page_size(self) -> int:
        """Records asked for per page; the server may cap it."""
        return int(self.config["page_size"])

    def get_new_paginator(self) -> OffsetPaginator:
        """Offsets advance by the records received; stop on empty, short or total."""
        return OffsetPaginator(records_path=self.records_path, limit=self.page_size)

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, t.Any]:
        """`offset` and `limit` for one page."""
        return {"offset": next_page_token or 0, "limit": self.page_size}


class BlocksStream(EStream):
    name = "blocks"
    path = "/v1/blocks"


class DatabasesStream(EStream):
    name = "databases"
    path = "/v1/databases"


class PagesStream(EStream):
    name = "pages"
    path = "/v1/pages"


class UsersStream(EStream):
    name = "users"
    path = "/v1/users"


STREAMS: tuple[type[EStream], ...] = (BlocksStream, DatabasesStream, PagesStream, UsersStream)
