"""API b's streams: eight flat lists under `entries`, paged by `page` and `limit`."""

from __future__ import annotations

from singer_sdk import StreamSchema

from tap_analytics_b import schemas
from tap_analytics_common import DocumentSchemas, PageNumberStream

SCHEMAS = DocumentSchemas(schemas)


class BStream(PageNumberStream):
    """A list of API b: `page` from 1, `limit` from the `page_size` setting.

    The document does not say how the last page is signalled; the common paginator's
    stop rules and the repeat guard of `fetch_partition` cover every way an API may.
    """

    schema = StreamSchema(SCHEMAS)
    records_path = "entries"
    primary_keys = ("id",)


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
