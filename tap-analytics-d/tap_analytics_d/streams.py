"""API d's streams: jobs by offset and incremental on lastUpdatedAt; the rest by cursor."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import StreamSchema
from typing_extensions import override

from tap_analytics_common import (
    AnalyticsStream,
    CursorStream,
    DocumentSchemas,
    OffsetStream,
    ResponseError,
)
from tap_analytics_d import schemas

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

SCHEMAS = DocumentSchemas(schemas)


def parse_timestamp(value: object) -> dt.datetime:
    """An ISO 8601 date-time as an aware datetime (naive means UTC).

    Bookmarks are compared as instants: as text, `…00Z`, `…00.5Z` and `+02:00` sort wrong.
    """
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class DStream(AnalyticsStream):
    """A stream of API d: records under `data`."""

    schema = StreamSchema(SCHEMAS)
    records_path = "data"


class CursorListStream(CursorStream, DStream):
    """The body's top-level `next`: a token sent back as `?next=`, or the next page's URL."""


class JobsStream(OffsetStream, DStream):
    """Incremental on lastUpdatedAt, filtered here: the API has no filter and no order.

    Because the order is not guaranteed, the SDK keeps the largest value seen as a
    progress marker and moves the bookmark only when the stream completes, so an
    interrupted run restarts from the last completed run's bookmark.
    """

    name = "jobs"
    path = "/v1/jobs"
    primary_keys = ("jobId",)
    replication_key = "lastUpdatedAt"

    @property
    def is_sorted(self) -> bool:
        """The document promises no order: no mid-run bookmark may pass an unread job."""
        return False

    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Only jobs updated at or after the bookmark (or start_date on a first run)."""
        since = self.get_starting_timestamp(context)
        kept = read = 0
        for record in super().get_records(context):
            read += 1
            if since is None or self._updated_at(record) >= since:
                kept += 1
                yield record
        if since is not None:
            self.logger.info(
                "Stream %s: %d of %d jobs updated at or after %s", self.name, kept, read, since.isoformat()
            )

    @override
    def bookmark_record(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Hand the SDK one canonical UTC form of lastUpdatedAt for the bookmark.

        singer-sdk 0.54 keeps the larger replication value by comparing text, and the
        API's `…00Z`, `…00.5Z` and `+02:00` forms do not sort as time does; the
        canonical form (UTC, microseconds) does. The record itself keeps the API's text.
        """
        canonical = self._updated_at(record).astimezone(dt.timezone.utc)
        return {self.replication_key: canonical.isoformat(timespec="microseconds")}

    def _updated_at(self, record: dict[str, t.Any]) -> dt.datetime:
        value = record.get(self.replication_key)
        try:
            return parse_timestamp(value)
        except ValueError:
            msg = (
                f"stream {self.name}: job {record.get('jobId')!r} has lastUpdatedAt {value!r}, "
                "not an ISO 8601 date-time, so it cannot be compared with the bookmark"
            )
            raise ResponseError(msg) from None


class ConnectionsStream(CursorListStream):
    name = "connections"
    path = "/v1/connections"
    primary_keys = ("connectionId",)


class WorkspacesStream(CursorListStream):
    name = "workspaces"
    path = "/v1/workspaces"
    primary_keys = ("workspaceId",)


STREAMS: tuple[type[DStream], ...] = (JobsStream, ConnectionsStream, WorkspacesStream)
