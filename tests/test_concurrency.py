"""Concurrency keeps every guarantee: tap-analytics-a with requests in flight side by side."""

from __future__ import annotations

import collections

import pytest

from analytics_sandbox import Sandbox
from analytics_sandbox.faults import Fault
from tests.helpers import assert_clean_failure, run_tap


@pytest.fixture
def big_sandbox():
    box = Sandbox(port=0, scale=3, latency_ms=20, apis=["a"]).start()
    yield box
    box.stop()


def comparable(run) -> list[tuple]:
    """The Singer output without the per-message clock."""
    out: list[tuple[object, ...]] = []
    for m in run.messages:
        if m["type"] == "RECORD":
            out.append(("RECORD", m["stream"], tuple(sorted(m["record"].items(), key=str))))
        elif m["type"] == "SCHEMA":
            out.append(("SCHEMA", m["stream"]))
        elif m["type"] == "ACTIVATE_VERSION":
            out.append(("ACTIVATE_VERSION", m["stream"]))
        else:
            out.append((m["type"], repr(m.get("value"))))
    return out


def tap(box, **extra):
    return run_tap("tap-analytics-a", box.tap_config("a") | {"backoff_factor": 0} | extra)


def test_concurrent_output_is_the_sequential_output(big_sandbox):
    sequential = tap(big_sandbox, max_concurrent_requests=1)
    assert big_sandbox.max_in_flight == 1
    big_sandbox.max_in_flight = 0
    concurrent = tap(big_sandbox, max_concurrent_requests=8)
    assert sequential.returncode == concurrent.returncode == 0, concurrent.stderr[-2000:]
    assert comparable(concurrent) == comparable(sequential)
    assert concurrent.of_type("STATE")[-1] == sequential.of_type("STATE")[-1]
    assert 1 < big_sandbox.max_in_flight <= 8


@pytest.mark.parametrize("limit", [2, 5])
def test_requests_in_flight_never_exceed_the_setting(big_sandbox, limit):
    run = tap(big_sandbox, max_concurrent_requests=limit)
    assert run.returncode == 0, run.stderr[-2000:]
    assert big_sandbox.max_in_flight == limit


def test_every_child_record_once_with_its_parent_and_in_singer_order(big_sandbox):
    run = tap(big_sandbox, max_concurrent_requests=8)
    expected = big_sandbox.apis["a"].counts()
    assert run.counts() == {k: v for k, v in expected.items() if v}
    keys = {m["stream"]: m["key_properties"] for m in run.of_type("SCHEMA")}
    for stream, key in keys.items():
        seen = collections.Counter(tuple(r[k] for k in key) for r in run.records(stream))
        assert max(seen.values()) == 1, stream
    workspaces = {r["workspaceId"] for r in run.records("workspaces")}
    for stream in ("views", "trash", "workspace_users", "folders"):
        assert {r["workspaceId"] for r in run.records(stream)} <= workspaces
    first_schema: dict[str, int] = {}
    for index, m in enumerate(run.messages):
        if m["type"] == "SCHEMA":
            first_schema.setdefault(m["stream"], index)
        elif m["type"] in ("RECORD", "ACTIVATE_VERSION"):
            assert first_schema.get(m["stream"], index + 1) < index, m


def test_429s_pause_every_thread_and_lose_nothing(big_sandbox):
    ids = big_sandbox.apis["a"].control("workspace_ids", {})
    for ws in ids[2:6]:
        big_sandbox.faults.add(Fault(api="a", path=f"{ws}/views$", status=429, retry_after="1"))
    run = tap(big_sandbox, max_concurrent_requests=8)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.counts() == {k: v for k, v in big_sandbox.apis["a"].counts().items() if v}
    served = sorted(big_sandbox.served, key=lambda s: s.started)
    first_429 = next(s for s in served if s.status == 429)
    # Once the first 429 is answered, no thread starts a request until Retry-After has passed
    # (apart from requests already on their way when it arrived).
    quiet = [s for s in served if first_429.ended + 0.1 < s.started < first_429.ended + 0.9]
    assert quiet == [], quiet[:3]


def test_one_token_refresh_when_every_thread_sees_the_token_expire(big_sandbox):
    ids = big_sandbox.apis["a"].control("workspace_ids", {})
    big_sandbox.faults.add(Fault(api="a", path=f"{ids[5]}/folders$", kind="expire"))
    run = tap(big_sandbox, max_concurrent_requests=8)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.counts() == {k: v for k, v in big_sandbox.apis["a"].counts().items() if v}
    assert big_sandbox.stats["a POST /oauth/v2/token"] == 2  # the first token and one refresh
    assert big_sandbox.auth["a"].token_requests == 2


def test_a_token_revoked_mid_run_fails_once_with_no_duplicates(big_sandbox):
    ids = big_sandbox.apis["a"].control("workspace_ids", {})
    big_sandbox.faults.add(Fault(api="a", path=f"{ids[10]}/views$", kind="revoke"))
    cfg = big_sandbox.tap_config("a") | {"max_concurrent_requests": 8}
    run = run_tap("tap-analytics-a", cfg)
    assert_clean_failure(run, mentions="rejected", secrets=[cfg["client_secret"], cfg["refresh_token"]])
    assert big_sandbox.stats["a POST /oauth/v2/token"] == 2  # the first token and one refused refresh
    for stream in ("views", "trash", "workspace_users", "folders"):
        keys = [(r["workspaceId"], str(r)) for r in run.records(stream)]
        assert len(keys) == len(set(keys)), stream
