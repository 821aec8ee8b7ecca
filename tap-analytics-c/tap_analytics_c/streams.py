"""API c's streams: cursor pages; members under each organization, lists under each space."""

from __future__ import annotations

import typing as t

from singer_sdk import StreamSchema

from tap_analytics_c import schemas
from tap_analytics_common import CursorStream, DocumentSchemas

SCHEMAS = DocumentSchemas(schemas)


class CStream(CursorStream):
    """A stream of API c: the cursor at `next.page` goes back as `?page=`."""

    schema = StreamSchema(SCHEMAS)
    cursor_path = "next.page"
    cursor_param = "page"


class UsersStream(CStream):
    """`data` holds a list of users, or the one user as an object."""

    name = "users"
    path = "/v1/user"
    records_path = "data"
    primary_keys = ("id",)


class OrganizationsStream(CStream):
    """Parent of org_members; read once per run."""

    name = "organizations"
    path = "/v1/orgs"
    records_path = "items"
    primary_keys = ("id",)
    child_context_fields: t.ClassVar = {"organization": "id"}


class OrgMembersStream(CStream):
    """One person can be a member of several organizations: the key includes the organization."""

    name = "org_members"
    path = "/v1/orgs/{organization}/members"
    records_path = "items"
    primary_keys = ("organization", "id")
    parent_stream_type = OrganizationsStream
    parent_key = "organization"
    path_params: t.ClassVar = {"organization": "organization"}


class SpaceStream(CStream):
    """A list under /v1/spaces/{space_id}/…, once per id of the `space_ids` setting
    (the document names no endpoint that lists spaces)."""

    parent_key = "space_id"
    path_params: t.ClassVar = {"space_id": "space_id"}

    def space_ids(self) -> list[str]:
        """The configured spaces, each once (the tap refuses to sync none)."""
        return list(dict.fromkeys(self.config.get("space_ids") or []))

    @property
    def partitions(self) -> list[dict[str, t.Any]]:
        """One partition per space."""
        return [{"space_id": space_id} for space_id in self.space_ids()]


class InsightsTrafficStream(SpaceStream):
    """Views per time slot; records have no id, and the same slot recurs in every space."""

    name = "insights_traffic"
    path = "/v1/spaces/{space_id}/insights/traffic"
    records_path = "views"
    primary_keys = ("space_id", "timestamp")


class ContentStream(SpaceStream):
    """The top-level pages of a space; a page's own `pages` stays an array inside it."""

    name = "content"
    path = "/v1/spaces/{space_id}/content"
    records_path = "pages"
    primary_keys = ("id",)


STREAMS: tuple[type[CStream], ...] = (
    UsersStream,
    OrganizationsStream,
    InsightsTrafficStream,
    ContentStream,
    OrgMembersStream,
)
