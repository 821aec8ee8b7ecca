"""API e's streams: four offset/limit lists under `data`, keyed by `id`."""

from __future__ import annotations

from singer_sdk import StreamSchema

from tap_analytics_common import DocumentSchemas, OffsetStream
from tap_analytics_e import schemas

SCHEMAS = DocumentSchemas(schemas)


class EStream(OffsetStream):
    """A list at `/v1/<name>`, paged by `offset` and `limit` (the `page_size` setting)."""

    schema = StreamSchema(SCHEMAS)
    records_path = "data"
    primary_keys = ("id",)


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
