"""API b's streams: eight flat lists under `entries`, paged by `page` and `limit`."""

from __future__ import annotations

import typing as t

from singer_sdk import StreamSchema

from tap_analytics_b import schemas
from tap_analytics_common import AnalyticsStream, DocumentSchemas, PageNumberPaginator

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

SCHEMAS = DocumentSchemas(schemas)


class BStream(AnalyticsStream):
    """A list of API b: `page` from 1, `limit` from the `page_size` setting.

    The document does not say how the last page is signalled; the common paginator's
    stop rules and the repeat guard of `fetch_partition` cover every way an API may.
    """

    schema = StreamSchema(SCHEMAS)
    records_path = "entries"
    primary_keys = ("id",)

    @property
    def page_size(self) -> int:
        """The `page_size` setting (its minimum of 1 is checked with the settings)."""
        return int(self.config.get("page_size", 100))

    def get_new_paginator(self) -> PageNumberPaginator:
        """Page numbers from 1, stopping on the common rules."""
        return PageNumberPaginator(records_path=self.records_path, limit=self.page_size)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """`page` and `limit`, as the document's page_number paginator sends them."""
        return {"page": next_page_token or 1, "limit": self.page_size}


class FilesStream(BStream):
    name = "files"
    path = "/files"


class ConnectionsStream(BStream):
    name = "connections"
    path = "/connections"


class DatasetsStream(BStream):
    name = "datasets"
    path = "/datasets"


class MembersStream(BStream):
    name = "members"
    path = "/members"


class TeamsStream(BStream):
    name = "teams"
    path = "/teams"


class TemplatesStream(BStream):
    name = "templates"
    path = "/templates"


class WorkspacesStream(BStream):
    name = "workspaces"
    path = "/workspaces"


class WorkbooksStream(BStream):
    name = "workbooks"
    path = "/workbooks"


STREAMS: tuple[type[BStream], ...] = (
    FilesStream,
    ConnectionsStream,
    DatasetsStream,
    MembersStream,
    TeamsStream,
    TemplatesStream,
    WorkspacesStream,
    WorkbooksStream,
)
