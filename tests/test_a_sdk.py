"""The SDK's standard tap tests for tap-analytics-a, plus what they cannot catch in 0.54."""

from __future__ import annotations

import collections

import jsonschema
from singer_sdk.testing import get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_a.tap import TapAnalyticsA
from tests.helpers import run_tap

SANDBOX = Sandbox(port=0).start()
CONFIG = SANDBOX.tap_config("a")

TestTapAnalyticsA = get_tap_test_class(TapAnalyticsA, config=CONFIG)


def full_sync():
    run = run_tap("tap-analytics-a", CONFIG)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_no_duplicate_primary_keys():
    run = full_sync()
    keys = {m["stream"]: m["key_properties"] for m in run.of_type("SCHEMA")}
    for stream, key in keys.items():
        seen = collections.Counter(tuple(r[k] for k in key) for r in run.records(stream))
        assert seen, stream
        assert max(seen.values()) == 1, (stream, seen.most_common(1))


def test_every_record_validates_against_its_schema():
    run = full_sync()
    schemas = {m["stream"]: m["schema"] for m in run.of_type("SCHEMA")}
    for message in run.of_type("RECORD"):
        jsonschema.validate(message["record"], schemas[message["stream"]])
        assert set(message["record"]) <= set(schemas[message["stream"]]["properties"])


def test_final_state_has_every_stream_and_no_partitions():
    run = full_sync()
    final = run.of_type("STATE")[-1]["value"]
    assert set(final["bookmarks"]) == set(SANDBOX.apis["a"].counts())
    for bookmark in final["bookmarks"].values():
        assert "partitions" not in bookmark
        assert "progress_markers" not in bookmark


def test_activate_version_follows_the_stream_records():
    run = full_sync()
    for stream in SANDBOX.apis["a"].counts():
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        assert kinds.count("ACTIVATE_VERSION") == 1, stream
        assert kinds.index("ACTIVATE_VERSION") > max(
            (i for i, k in enumerate(kinds) if k == "RECORD"), default=-1
        )
        versions = {m["version"] for m in run.messages if m.get("stream") == stream and "version" in m}
        assert len(versions) == 1, stream
