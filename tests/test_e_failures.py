"""tap-analytics-e failure cases through the sandbox: one clear line, or every record exactly once."""

from __future__ import annotations

import typing as t

import pytest

from analytics_sandbox import Sandbox
from tests.helpers import TapRun, assert_clean_failure, assert_exactly_once, control, run_tap

TAP = "tap-analytics-e"


def config_for(sandbox: Sandbox, **overrides: t.Any) -> dict[str, t.Any]:
    """One request at a time, so faults hit the pages a sequential run asks for, in order
    (faults under reading ahead: test_engine.py)."""
    return sandbox.tap_config("e") | {"backoff_factor": 0, "max_concurrent_requests": 1} | overrides


def secrets_of(sandbox: Sandbox) -> list[str]:
    return [sandbox.tap_config("e")["client_secret"]]


def fault(sandbox: Sandbox, **spec: t.Any) -> None:
    control(sandbox.url, "faults", {"api": "e"} | spec)


def assert_every_record_once(run: TapRun, sandbox: Sandbox) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert_exactly_once(run, sandbox.apis["e"].counts())


# -- errors a user can act on ----------------------------------------------------------


def test_token_endpoint_down(sandbox):
    fault(sandbox, path="^/oauth/token$", status=503, times=-1)
    run = run_tap(TAP, config_for(sandbox, max_retries=1))
    assert_clean_failure(run, mentions="token endpoint", secrets=secrets_of(sandbox))


# -- transient faults: every record arrives exactly once ---------------------------------


def test_429_with_retry_after_is_waited_out(sandbox):
    fault(sandbox, path="^/v1/blocks$", status=429, retry_after="1", after=1, times=1)
    run = run_tap(TAP, config_for(sandbox))
    assert_every_record_once(run, sandbox)
    assert any("429" in line and "retry 1" in line for line in run.stderr.splitlines())


def test_429_with_an_http_date_retry_after(sandbox):
    fault(sandbox, path="^/v1/users$", status=429, retry_after="date", retry_after_seconds=1)
    assert_every_record_once(run_tap(TAP, config_for(sandbox)), sandbox)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_that_clear_after_two_tries(sandbox, status):
    fault(sandbox, path="^/v1/pages$", status=status, after=1, times=2)
    run = run_tap(TAP, config_for(sandbox))
    assert_every_record_once(run, sandbox)
    assert control(sandbox.url, "stats", method="GET")["e GET /v1/pages"] == 3 + 2


def test_dropped_connection_is_retried(sandbox):
    fault(sandbox, path="^/v1/blocks$", kind="drop", after=2)
    assert_every_record_once(run_tap(TAP, config_for(sandbox)), sandbox)


def test_transient_token_endpoint_failure(sandbox):
    fault(sandbox, path="^/oauth/token$", status=503)
    assert_every_record_once(run_tap(TAP, config_for(sandbox)), sandbox)
