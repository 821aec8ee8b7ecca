"""API a's streams: one request per list, four children under each workspace."""

from __future__ import annotations

import typing as t

from singer_sdk import StreamSchema

from tap_analytics_a import schemas
from tap_analytics_common import AnalyticsStream, DocumentSchemas

SCHEMAS = DocumentSchemas(schemas)


class AStream(AnalyticsStream):
    """A stream of API a (no pagination: one request per list)."""

    schema = StreamSchema(SCHEMAS)


class UsersStream(AStream):
    name = "users"
    path = "/v1/users"
    records_path = "data.users"
    primary_keys = ("emailId",)


class WorkspacesStream(AStream):
    """Parent of views, trash, workspace_users and folders; read once per run."""

    name = "workspaces"
    path = "/v1/workspaces"
    records_path = "data.ownedWorkspaces"
    primary_keys = ("workspaceId",)
    child_context_fields: t.ClassVar = {"workspaceId": "workspaceId"}


class OrganizationsStream(AStream):
    name = "organizations"
    path = "/v1/orgs"
    records_path = "data.orgs"
    primary_keys = ("orgId",)


class DashboardsStream(AStream):
    name = "dashboards"
    path = "/v1/dashboards"
    records_path = "data.ownedViews"
    primary_keys = ("viewId",)


class WorkspaceChildStream(AStream):
    """A list under /v1/workspaces/{workspace}/…, filled from each workspace's id."""

    parent_stream_type = WorkspacesStream
    parent_key = "workspaceId"
    path_params: t.ClassVar = {"workspace": "workspaceId"}


class ViewsStream(WorkspaceChildStream):
    name = "views"
    path = "/v1/workspaces/{workspace}/views"
    records_path = "data.views"
    primary_keys = ("viewId",)


class TrashStream(WorkspaceChildStream):
    name = "trash"
    path = "/v1/workspaces/{workspace}/trash"
    records_path = "data.views"
    primary_keys = ("viewId",)


class WorkspaceUsersStream(WorkspaceChildStream):
    """The same person can belong to several workspaces: the key includes the workspace."""

    name = "workspace_users"
    path = "/v1/workspaces/{workspace}/users"
    records_path = "data.users"
    primary_keys = ("workspaceId", "emailId")


class FoldersStream(WorkspaceChildStream):
    name = "folders"
    path = "/v1/workspaces/{workspace}/folders"
    records_path = "data.folders"
    primary_keys = ("folderId",)


STREAMS: tuple[type[AStream], ...] = (
    UsersStream,
    WorkspacesStream,
    OrganizationsStream,
    ViewsStream,
    DashboardsStream,
    TrashStream,
    WorkspaceUsersStream,
    FoldersStream,
)
