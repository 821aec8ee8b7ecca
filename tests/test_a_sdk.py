"""The SDK's standard tap tests for tap-analytics-a, plus what they cannot catch in 0.54."""

from __future__ import annotations

from singer_sdk.testing import get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_a.tap import TapAnalyticsA
from tests.helpers import (
    assert_activated_after_records,
    assert_final_state,
    assert_records_validate,
    assert_unique_keys,
    run_tap,
)

SANDBOX = Sandbox(port=0).start()
CONFIG = SANDBOX.tap_config("a")

TestTapAnalyticsA = get_tap_test_class(TapAnalyticsA, config=CONFIG)


def full_sync():
    run = run_tap("tap-analytics-a", CONFIG)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_no_duplicate_primary_keys():
    assert_unique_keys(full_sync(), nonempty=True)


def test_every_record_validates_against_its_schema():
    assert_records_validate(full_sync())


def test_final_state_has_every_stream_and_no_partitions():
    assert_final_state(full_sync(), SANDBOX.apis["a"].counts())


def test_activate_version_follows_the_stream_records():
    run = full_sync()
    assert_activated_after_records(run, SANDBOX.apis["a"].counts())
    for stream in SANDBOX.apis["a"].counts():
        versions = {m["version"] for m in run.messages if m.get("stream") == stream and "version" in m}
        assert len(versions) == 1, stream
