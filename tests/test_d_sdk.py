"""The SDK's standard tap tests for tap-analytics-d, plus what they cannot catch in 0.54."""

from __future__ import annotations

import pytest
from singer_sdk.testing import get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_d.streams import parse_timestamp
from tap_analytics_d.tap import TapAnalyticsD
from tests.helpers import (
    assert_activated_after_records,
    assert_final_state,
    assert_records_validate,
    assert_unique_keys,
    run_tap,
)

SANDBOX = Sandbox(port=0, apis=["d"]).start()
CONFIG = SANDBOX.tap_config("d")
FULL_TABLE = ("connections", "workspaces")

TestTapAnalyticsD = get_tap_test_class(TapAnalyticsD, config=CONFIG)


@pytest.fixture(scope="module")
def full_sync():
    run = run_tap("tap-analytics-d", CONFIG)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_every_record_of_the_sandbox_arrives_once(full_sync):
    assert full_sync.counts() == SANDBOX.apis["d"].counts()
    assert_unique_keys(full_sync, nonempty=True)


def test_every_record_validates_against_its_schema(full_sync):
    assert_records_validate(full_sync)


def test_the_final_state_bookmarks_the_newest_job(full_sync):
    final = assert_final_state(full_sync, SANDBOX.apis["d"].counts())
    newest = max(parse_timestamp(job["lastUpdatedAt"]) for job in SANDBOX.apis["d"].control("jobs", {}))
    assert final["jobs"]["replication_key"] == "lastUpdatedAt"
    assert parse_timestamp(final["jobs"]["replication_key_value"]) == newest
    for stream in FULL_TABLE:
        assert "replication_key_value" not in final[stream]


def test_activate_version_only_for_full_table_streams_after_their_records(full_sync):
    assert [m for m in full_sync.of_type("ACTIVATE_VERSION") if m["stream"] == "jobs"] == []
    assert_activated_after_records(full_sync, FULL_TABLE, nonempty=True)


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
