"""tap-analytics-b's complete sync against the sandbox: what only this API has (open schemas, an empty list).

The checks every tap shares (counts, keys, schemas, state, ACTIVATE_VERSION, the SDK's suite) are in
test_contract.py.
"""

from __future__ import annotations

import pytest

from analytics_sandbox import Sandbox
from tests.helpers import TapRun, run_tap

SANDBOX = Sandbox(port=0, apis=["b"]).start()
CONFIG = SANDBOX.tap_config("b")
EMPTY_STREAMS = [name for name, n in SANDBOX.apis["b"].counts().items() if n == 0]


def teardown_module() -> None:
    SANDBOX.stop()


@pytest.fixture(scope="module")
def full_sync() -> TapRun:
    SANDBOX.stats.clear()
    run = run_tap("tap-analytics-b", CONFIG)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_an_empty_list_gives_a_schema_and_no_records(full_sync):
    assert EMPTY_STREAMS, "the sandbox should have an empty stream to exercise"
    for stream in EMPTY_STREAMS:
        assert stream in {m["stream"] for m in full_sync.of_type("SCHEMA")}
        assert full_sync.records(stream) == []


def test_undeclared_fields_travel_in_extra(full_sync):
    for stream in SANDBOX.apis["b"].counts():
        for record in full_sync.records(stream):
            assert set(record) <= {"id", "createdAt", "updatedAt", "extra"}
            assert record["extra"], (stream, record["id"])


def test_one_token_request_per_run(full_sync):
    assert SANDBOX.stats.get("b POST /auth/token") == 1
