"""tap-analytics-e: the SDK's standard tap tests, plus what they cannot catch in singer-sdk 0.54."""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.testing import get_tap_test_class

from analytics_sandbox import Sandbox
from analytics_sandbox.apis.e import ApiE
from tap_analytics_common import EXTRA_PROPERTY
from tap_analytics_e.tap import TapAnalyticsE
from tests.helpers import (
    TapRun,
    assert_activated_after_records,
    assert_final_state,
    assert_records_validate,
    assert_unique_keys,
    run_tap,
)

SANDBOX = Sandbox(port=0).start()
CONFIG = SANDBOX.tap_config("e")

TestTapAnalyticsE = get_tap_test_class(TapAnalyticsE, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> t.Iterator[None]:
    yield
    SANDBOX.stop()


@pytest.fixture(scope="module")
def full_sync() -> TapRun:
    """One complete standalone run, shared by the checks below."""
    run = run_tap("tap-analytics-e", CONFIG)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_every_sandbox_record_arrives_once(full_sync):
    expected = SANDBOX.apis["e"].counts()
    assert full_sync.counts() == expected
    assert_unique_keys(full_sync)


def test_records_equal_the_apis_with_undeclared_fields_under_extra(full_sync):
    api = SANDBOX.apis["e"]
    assert isinstance(api, ApiE)
    for stream in api.counts():
        for index in (0, api.counts()[stream] - 1):
            source = api.record(stream, index)
            (got,) = [r for r in full_sync.records(stream) if r["id"] == source["id"]]
            declared = {k: source[k] for k in ("id", "createdAt", "updatedAt")}
            rest = {k: v for k, v in source.items() if k not in declared}
            assert got == declared | {EXTRA_PROPERTY: rest}


def test_every_record_validates_against_its_schema(full_sync):
    schemas = assert_records_validate(full_sync)
    assert set(schemas) == set(SANDBOX.apis["e"].counts())


def test_schema_messages_name_the_key(full_sync):
    for message in full_sync.of_type("SCHEMA"):
        assert message["key_properties"] == ["id"]
        assert message["schema"]["properties"]["id"]["type"] == "string"


def test_final_state_holds_every_stream_without_partitions(full_sync):
    assert_final_state(full_sync, SANDBOX.apis["e"].counts())


def test_activate_version_once_per_stream_after_its_records(full_sync):
    assert_activated_after_records(full_sync, SANDBOX.apis["e"].counts(), nonempty=True)
