"""tap-analytics-e's complete sync against the sandbox: records as the API sends them, the rest in extra.

The checks every tap shares (counts, keys, schemas, state, ACTIVATE_VERSION, the SDK's suite) are in
test_contract.py.
"""

from __future__ import annotations

import pytest

from analytics_sandbox.apis.e import ApiE
from tap_analytics_common import EXTRA_PROPERTY
from tests.helpers import TapRun, session_sandbox, session_sync

SANDBOX = session_sandbox()


@pytest.fixture(scope="module")
def full_sync() -> TapRun:
    """One complete standalone run, shared by the checks below."""
    return session_sync("tap-analytics-e")


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


def test_the_key_is_a_string(full_sync):
    for message in full_sync.of_type("SCHEMA"):
        assert message["schema"]["properties"]["id"]["type"] == "string"
