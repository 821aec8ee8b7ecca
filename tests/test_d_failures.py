"""tap-analytics-d's failures a user can act on, driven through the sandbox."""

from __future__ import annotations

import math

import pytest

from analytics_sandbox.apis.d import CURSOR_PAGE
from analytics_sandbox.faults import Fault
from tests.helpers import (
    assert_clean_failure,
    assert_exactly_once,
    control,
    run_tap,
)

# One request at a time, so faults hit the pages a sequential run asks for, in order
# (faults under reading ahead: test_engine.py).
FAST = {"max_retries": 2, "backoff_factor": 0, "max_concurrent_requests": 1}


def config(sandbox, **extra):
    return sandbox.tap_config("d") | FAST | extra


def secrets(cfg) -> list[str]:
    return [cfg["client_secret"]]


def test_a_start_date_that_is_no_date_fails_before_any_request(sandbox):
    cfg = config(sandbox, start_date="last tuesday")
    run = run_tap("tap-analytics-d", cfg)
    assert_clean_failure(run, mentions="start_date", secrets=secrets(cfg))
    assert sandbox.stats == {}


@pytest.mark.parametrize(("path", "stream"), [("^/v1/connections$", "connections"), ("^/v1/jobs$", "jobs")])
def test_broken_body(sandbox, path, stream):
    sandbox.faults.add(Fault(api="d", path=path, kind="broken_body", after=1))
    cfg = config(sandbox)
    run = run_tap("tap-analytics-d", cfg)
    line = assert_clean_failure(run, mentions="not valid JSON", secrets=secrets(cfg))
    assert f"/v1/{stream}" in line and stream in line


@pytest.mark.parametrize("form", ["token", "url"])
def test_transient_faults_lose_and_duplicate_nothing(sandbox, form):
    control(sandbox.url, "d/next_form", {"form": form})
    sandbox.faults.add(Fault(api="d", path="^/v1/jobs$", status=429, times=2, retry_after="1", after=1))
    sandbox.faults.add(Fault(api="d", path="^/v1/jobs$", kind="drop", times=1, after=2))
    sandbox.faults.add(Fault(api="d", path="^/v1/connections$", status=503, times=1, after=2))
    sandbox.faults.add(Fault(api="d", path="^/v1/connections$", status=502, times=2, after=3))
    sandbox.faults.add(Fault(api="d", path="^/v1/workspaces$", kind="expire", times=1, after=1))
    sandbox.faults.add(Fault(api="d", path="^/token$", status=500, times=1))
    run = run_tap("tap-analytics-d", config(sandbox, max_retries=3))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_exactly_once(run, sandbox.apis["d"].counts())
    assert "Traceback" not in run.stderr
    # Every fault fired (a fault counts only the requests no earlier fault answered):
    # pages + retries, and one token more for the failed token request and the expiry.
    counts = sandbox.apis["d"].counts()
    assert sandbox.stats == {
        "d POST /token": 3,
        "d GET /v1/jobs": counts["jobs"] // 100 + 1 + 2 + 1,
        "d GET /v1/connections": math.ceil(counts["connections"] / CURSOR_PAGE) + 1 + 2,
        "d GET /v1/workspaces": math.ceil(counts["workspaces"] / CURSOR_PAGE) + 1,
    }
