"""The SDK's standard tap tests against the sandbox, plus what that suite cannot catch."""

from __future__ import annotations

import collections

import jsonschema
import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_b.tap import TapAnalyticsB
from tests.helpers import TapRun, run_tap

SANDBOX = Sandbox(port=0, apis=["b"]).start()
CONFIG = SANDBOX.tap_config("b")
EMPTY_STREAMS = [name for name, n in SANDBOX.apis["b"].counts().items() if n == 0]

TestTapAnalyticsB = get_tap_test_class(
    TapAnalyticsB,
    config=CONFIG,
    suite_config=SuiteConfig(ignore_no_records_for_streams=EMPTY_STREAMS),
)


def teardown_module() -> None:
    SANDBOX.stop()


@pytest.fixture(scope="module")
def full_sync() -> TapRun:
    SANDBOX.stats.clear()
    run = run_tap("tap-analytics-b", CONFIG)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_counts_match_the_sandbox(full_sync):
    expected = SANDBOX.apis["b"].counts()
    assert full_sync.counts() == {name: n for name, n in expected.items() if n}
    assert EMPTY_STREAMS, "the sandbox should have an empty stream to exercise"


def test_no_duplicate_primary_keys(full_sync):
    for stream in SANDBOX.apis["b"].counts():
        keys = collections.Counter(r["id"] for r in full_sync.records(stream))
        assert [k for k, n in keys.items() if n > 1] == [], stream


def test_every_record_validates_against_its_schema(full_sync):
    schemas = {m["stream"]: m["schema"] for m in full_sync.of_type("SCHEMA")}
    assert set(schemas) == set(SANDBOX.apis["b"].counts())
    validators = {name: jsonschema.Draft7Validator(schema) for name, schema in schemas.items()}
    for message in full_sync.of_type("RECORD"):
        errors = list(validators[message["stream"]].iter_errors(message["record"]))
        assert errors == [], (message["stream"], message["record"]["id"], errors[0].message)


def test_undeclared_fields_travel_in_extra(full_sync):
    for stream in SANDBOX.apis["b"].counts():
        for record in full_sync.records(stream):
            assert set(record) <= {"id", "createdAt", "updatedAt", "extra"}
            assert record["extra"], (stream, record["id"])


def test_final_state_has_every_stream_and_no_partial_progress(full_sync):
    bookmarks = full_sync.of_type("STATE")[-1]["value"]["bookmarks"]
    assert set(bookmarks) == set(SANDBOX.apis["b"].counts())
    for name, bookmark in bookmarks.items():
        assert "progress_markers" not in bookmark, name
        assert "partitions" not in bookmark, name


def test_activate_version_follows_each_streams_last_record(full_sync):
    last_record: dict[str, int] = {}
    activations: dict[str, list[int]] = collections.defaultdict(list)
    for index, message in enumerate(full_sync.messages):
        if message["type"] == "RECORD":
            last_record[message["stream"]] = index
        elif message["type"] == "ACTIVATE_VERSION":
            activations[message["stream"]].append(index)
    assert set(activations) == set(SANDBOX.apis["b"].counts())
    for stream, at in activations.items():
        assert len(at) == 1, stream
        assert at[0] > last_record.get(stream, -1), stream


def test_one_token_request_per_run(full_sync):
    assert SANDBOX.stats.get("b POST /auth/token") == 1
