"""The SDK's standard tap tests for tap-analytics-d, plus what they cannot catch in 0.54."""

from __future__ import annotations

import collections

import jsonschema
import pytest
from singer_sdk.testing import get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_d.streams import parse_timestamp
from tap_analytics_d.tap import TapAnalyticsD
from tests.helpers import run_tap

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
    keys = {m["stream"]: m["key_properties"] for m in full_sync.of_type("SCHEMA")}
    for stream, key in keys.items():
        seen = collections.Counter(tuple(r[k] for k in key) for r in full_sync.records(stream))
        assert seen, stream
        assert max(seen.values()) == 1, (stream, seen.most_common(1))


def test_every_record_validates_against_its_schema(full_sync):
    schemas = {m["stream"]: m["schema"] for m in full_sync.of_type("SCHEMA")}
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    for message in full_sync.of_type("RECORD"):
        schema = schemas[message["stream"]]
        jsonschema.validate(message["record"], schema, format_checker=checker)
        assert set(message["record"]) <= set(schema["properties"])


def test_the_final_state_bookmarks_the_newest_job(full_sync):
    final = full_sync.of_type("STATE")[-1]["value"]["bookmarks"]
    assert set(final) == set(SANDBOX.apis["d"].counts())
    newest = max(parse_timestamp(job["lastUpdatedAt"]) for job in SANDBOX.apis["d"].control("jobs", {}))
    assert final["jobs"]["replication_key"] == "lastUpdatedAt"
    assert parse_timestamp(final["jobs"]["replication_key_value"]) == newest
    for bookmark in final.values():
        assert "partitions" not in bookmark
        assert "progress_markers" not in bookmark
    for stream in FULL_TABLE:
        assert "replication_key_value" not in final[stream]


def test_activate_version_only_for_full_table_streams_after_their_records(full_sync):
    assert [m for m in full_sync.of_type("ACTIVATE_VERSION") if m["stream"] == "jobs"] == []
    for stream in FULL_TABLE:
        kinds = [m["type"] for m in full_sync.messages if m.get("stream") == stream]
        assert kinds.count("ACTIVATE_VERSION") == 1, stream
        assert kinds.index("ACTIVATE_VERSION") > max(i for i, k in enumerate(kinds) if k == "RECORD")


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
