"""tap-analytics-d's complete sync against the sandbox: the jobs bookmark, values exactly as sent.

The checks every tap shares (counts, keys, schemas, state, ACTIVATE_VERSION, the SDK's suite) are in
test_contract.py.
"""

from __future__ import annotations

import pytest

from tap_analytics_d.streams import parse_timestamp
from tests.helpers import TapRun, assert_final_state, session_sandbox, session_sync

SANDBOX = session_sandbox()
FULL_TABLE = ("connections", "workspaces")


@pytest.fixture(scope="module")
def full_sync() -> TapRun:
    return session_sync("tap-analytics-d")


def test_the_final_state_bookmarks_the_newest_job(full_sync):
    final = assert_final_state(full_sync, SANDBOX.apis["d"].counts())
    newest = max(parse_timestamp(job["lastUpdatedAt"]) for job in SANDBOX.apis["d"].control("jobs", {}))
    assert final["jobs"]["replication_key"] == "lastUpdatedAt"
    assert parse_timestamp(final["jobs"]["replication_key_value"]) == newest
    for stream in FULL_TABLE:
        assert "replication_key_value" not in final[stream]


def test_values_arrive_exactly_as_the_api_sends_them(full_sync):
    """Integers beyond 2**53 stay exact, floats stay floats, nulls stay null."""
    api = SANDBOX.apis["d"]
    by_id = {r["jobId"]: r for r in full_sync.records("jobs")}
    for job in api.control("jobs", {}):
        got = by_id[job["jobId"]]
        for field in ("lastUpdatedAt", "bytesSynced", "rowsSynced", "status", "startTime", "duration"):
            assert got[field] == job[field], field
            assert type(got[field]) is type(job[field]), field
    assert any(r["bytesSynced"] == 2**53 + 1 for r in by_id.values())
    assert '"bytesSynced":9007199254740993' in full_sync.stdout.replace(" ", "")
    created = [r["createdAt"] for r in full_sync.records("connections")]
    assert any(isinstance(v, float) for v in created)
    assert any(isinstance(v, int) for v in created)
    assert None in created
