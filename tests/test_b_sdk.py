"""The SDK's standard tap tests against the sandbox, plus what that suite cannot catch."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_b.tap import TapAnalyticsB
from tests.helpers import (
    TapRun,
    assert_activated_after_records,
    assert_final_state,
    assert_records_validate,
    assert_unique_keys,
    run_tap,
)

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
    keys = assert_unique_keys(full_sync)
    assert all(key == ["id"] for key in keys.values()), keys


def test_every_record_validates_against_its_schema(full_sync):
    schemas = assert_records_validate(full_sync)
    assert set(schemas) == set(SANDBOX.apis["b"].counts())


def test_undeclared_fields_travel_in_extra(full_sync):
    for stream in SANDBOX.apis["b"].counts():
        for record in full_sync.records(stream):
            assert set(record) <= {"id", "createdAt", "updatedAt", "extra"}
            assert record["extra"], (stream, record["id"])


def test_final_state_has_every_stream_and_no_partial_progress(full_sync):
    assert_final_state(full_sync, SANDBOX.apis["b"].counts())


def test_activate_version_follows_each_streams_last_record(full_sync):
    activated = {m["stream"] for m in full_sync.of_type("ACTIVATE_VERSION")}
    assert activated == set(SANDBOX.apis["b"].counts())
    assert_activated_after_records(full_sync, activated)


def test_one_token_request_per_run(full_sync):
    assert SANDBOX.stats.get("b POST /auth/token") == 1
