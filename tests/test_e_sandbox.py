"""tap-analytics-e standalone against the sandbox's real HTTP server: stop rules, grant, timeouts."""

from __future__ import annotations

import collections
import typing as t

import pytest

from analytics_sandbox import Sandbox
from analytics_sandbox.apis.e import MAX_LIMIT, ApiE
from tests.helpers import TapRun, assert_clean_failure, control, run_tap

TAP = "tap-analytics-e"


def run_e(sandbox: Sandbox, **config: t.Any) -> TapRun:
    """One request at a time: these tests count the requests a sequential run makes (reading
    ahead, which may ask past the end and drops those pages, is tested in test_engine.py)."""
    settings = {"backoff_factor": 0, "max_concurrent_requests": 1}
    return run_tap(TAP, sandbox.tap_config("e") | settings | config)


def stats(sandbox: Sandbox) -> dict[str, int]:
    return t.cast("dict[str, int]", control(sandbox.url, "stats", method="GET"))


def requests_to(sandbox: Sandbox, stream: str) -> int:
    return stats(sandbox).get(f"e GET /v1/{stream}", 0)


def assert_each_record_once(run: TapRun, sandbox: Sandbox) -> None:
    """Every stream delivers exactly the sandbox's records, each id once."""
    assert run.returncode == 0, run.stderr[-3000:]
    expected = sandbox.apis["e"].counts()
    assert run.counts() == {k: v for k, v in expected.items() if v}
    for stream, n in expected.items():
        ids = collections.Counter(r["id"] for r in run.records(stream))
        assert len(ids) == n
        assert max(ids.values(), default=1) == 1


def set_blocks(sandbox: Sandbox, n: int, end: str = "empty") -> None:
    assert control(sandbox.url, "e/set_counts", {"blocks": n})["blocks"] == n
    assert control(sandbox.url, "e/end", {"mode": end}) == {"end": end}


# -- stop rules, each through the server ---------------------------------------------


def test_full_sync_matches_the_sandbox(sandbox):
    assert_each_record_once(run_e(sandbox), sandbox)


def test_ends_on_an_empty_page(sandbox):
    set_blocks(sandbox, 2 * MAX_LIMIT)  # every page full: only an empty page can say "done"
    run = run_e(sandbox)
    assert_each_record_once(run, sandbox)
    assert requests_to(sandbox, "blocks") == 3


def test_ends_on_a_short_page(sandbox):
    set_blocks(sandbox, 2 * MAX_LIMIT + 50)
    run = run_e(sandbox)
    assert_each_record_once(run, sandbox)
    assert requests_to(sandbox, "blocks") == 3


def test_ends_on_total(sandbox):
    # With page_size above 100 a short page proves nothing; `total` still ends it at once.
    set_blocks(sandbox, 2 * MAX_LIMIT + 50, end="total")
    run = run_e(sandbox, page_size=150)
    assert_each_record_once(run, sandbox)
    assert requests_to(sandbox, "blocks") == 3


def test_limit_above_100_is_capped_by_the_server_and_nothing_is_lost(sandbox):
    set_blocks(sandbox, 2 * MAX_LIMIT + 50)
    run = run_e(sandbox, page_size=500)
    assert_each_record_once(run, sandbox)
    # Three capped pages, then the empty page that proves the end.
    assert requests_to(sandbox, "blocks") == 4


@pytest.mark.parametrize("page_size", [100, 150])
def test_a_repeated_last_page_ends_the_stream_with_a_warning(sandbox, page_size):
    set_blocks(sandbox, 2 * MAX_LIMIT, end="repeat")
    run = run_e(sandbox, page_size=page_size)
    assert_each_record_once(run, sandbox)
    assert requests_to(sandbox, "blocks") == 3
    warnings = [line for line in run.stderr.splitlines() if "previous page again" in line]
    assert len([line for line in warnings if "Stream blocks" in line]) == 1
    assert all("WARNING" in line for line in warnings)


# -- client credentials ----------------------------------------------------------------


def test_one_token_request_per_run(sandbox):
    run = run_e(sandbox)
    assert_each_record_once(run, sandbox)
    assert stats(sandbox)["e POST /oauth/token"] == 1


def test_an_expired_token_is_replaced_mid_run(sandbox):
    # Tokens live one second and a slow page outlives the first: the run needs another.
    control(sandbox.url, "e/auth", {"expires_in": 1})
    control(sandbox.url, "faults", {"api": "e", "path": "^/v1/pages$", "kind": "slow", "delay_ms": 1200})
    run = run_e(sandbox)
    assert_each_record_once(run, sandbox)
    assert stats(sandbox)["e POST /oauth/token"] >= 2


# -- timeouts ---------------------------------------------------------------------------


def test_a_slow_response_past_request_timeout_is_retried(sandbox):
    control(
        sandbox.url,
        "faults",
        {"api": "e", "path": "^/v1/blocks$", "kind": "slow", "delay_ms": 2500, "times": 2},
    )
    run = run_e(sandbox, request_timeout=1)
    assert_each_record_once(run, sandbox)
    retries = [line for line in run.stderr.splitlines() if "timed out" in line]
    assert len(retries) == 2
    assert all("retry" in line for line in retries)


def test_a_response_that_stays_slow_fails_clearly(sandbox):
    control(
        sandbox.url,
        "faults",
        {"api": "e", "path": "^/v1/users$", "kind": "slow", "delay_ms": 1500, "times": -1},
    )
    run = run_e(sandbox, request_timeout=1, max_retries=1)
    line = assert_clean_failure(run, mentions="timed out", secrets=[sandbox.tap_config("e")["client_secret"]])
    assert "users" in line
    assert "2 tries" in line
    assert requests_to(sandbox, "users") == 2


# -- the sandbox API itself -----------------------------------------------------------------


def test_sandbox_pages_are_lazy_deterministic_and_capped():
    huge = ApiE(counts={"blocks": 10**12})  # no list of records: a trillion costs nothing
    body = huge.handle("/v1/blocks", {"offset": str(10**12 - 3), "limit": "1000"}).body
    assert len(body["data"]) == 3
    assert len(huge.handle("/v1/blocks", {"offset": "0", "limit": "1000"}).body["data"]) == MAX_LIMIT
    first = huge.handle("/v1/blocks", {"limit": "5"}).body
    assert first == ApiE(counts={"blocks": 5}).handle("/v1/blocks", {}).body  # same seed, same data
    assert ApiE(scale=2).counts() == {k: 2 * v for k, v in ApiE().counts().items()}
    assert huge.handle("/v1/blocks", {"offset": "-1"}).status == 400
    assert huge.handle("/v1/blocks", {"limit": "x"}).status == 400
    assert huge.handle("/v1/nope", {}).status == 404


@pytest.mark.parametrize("end", ["empty", "repeat", "total"])
def test_sandbox_end_of_list_modes(end):
    api = ApiE(counts={"users": 150}, end=end)
    last = api.handle("/v1/users", {"offset": "100", "limit": "100"}).body
    past = api.handle("/v1/users", {"offset": "150", "limit": "100"}).body
    assert len(last["data"]) == 50
    if end == "empty":
        assert past == {"data": []}
    elif end == "repeat":
        assert past == last
    else:
        assert last["total"] == past["total"] == 150
        assert past["data"] == []
