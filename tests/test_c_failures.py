"""tap-analytics-c's failures a user can act on, driven through the sandbox."""

from __future__ import annotations

import pytest

from analytics_sandbox.faults import Fault
from tests.helpers import (
    assert_clean_failure,
    assert_exactly_once,
    catalog_with,
    control,
    discover,
    run_tap,
)

TAP = "tap-analytics-c"
FAST = {"max_retries": 2, "backoff_factor": 0}


def config(sandbox, **extra):
    return sandbox.tap_config("c") | FAST | extra


def data_requests(sandbox) -> int:
    return sum(n for key, n in sandbox.stats.items() if key.startswith("c "))


@pytest.mark.parametrize("space_ids", [None, []])
def test_missing_space_ids_fails_at_start_naming_it(sandbox, space_ids):
    cfg = config(sandbox, space_ids=space_ids)
    if space_ids is None:
        del cfg["space_ids"]
    run = run_tap(TAP, cfg)
    assert_clean_failure(run, mentions="space_ids", secrets=[cfg["access_token"]])
    assert run.records() == []
    assert data_requests(sandbox) == 0  # before any request, not after the other streams


def test_missing_space_ids_is_fine_when_both_space_streams_are_deselected(sandbox):
    cfg = config(sandbox)
    del cfg["space_ids"]
    catalog = catalog_with(discover(TAP, cfg), deselect=["insights_traffic", "content"])
    run = run_tap(TAP, cfg, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    assert set(run.counts()) == {"users", "organizations", "org_members"}


def test_a_token_revoked_mid_run_keeps_what_was_read(sandbox):
    sandbox.faults.add(Fault(api="c", path="^/v1/orgs/org-0003/members$", kind="revoke"))
    cfg = config(sandbox)
    run = run_tap(TAP, cfg)
    assert_clean_failure(run, mentions="rejected access_token", secrets=[cfg["access_token"]])
    assert len(run.records()) > 0


def test_broken_body(sandbox):
    sandbox.faults.add(Fault(api="c", path="^/v1/spaces/spc-003/content$", kind="broken_body"))
    cfg = config(sandbox)
    line = assert_clean_failure(run_tap(TAP, cfg), mentions="not valid JSON", secrets=[cfg["access_token"]])
    assert "/v1/spaces/spc-003/content" in line


@pytest.mark.parametrize("stream", ["users", "org_members", "insights_traffic"])
def test_a_repeated_cursor_is_one_clear_error(sandbox, stream):
    control(sandbox.url, "c/repeat_cursor", {"stream": stream})
    cfg = config(sandbox)
    run = run_tap(TAP, cfg, timeout=60)
    line = assert_clean_failure(run, mentions="cursor", secrets=[cfg["access_token"]])
    assert "second time" in line and stream in line
    assert data_requests(sandbox) < 100  # stopped, not looping


def test_transient_faults_lose_and_duplicate_nothing(sandbox):
    sandbox.faults.add(Fault(api="c", path="^/v1/user$", status=429, times=2, retry_after="1"))
    sandbox.faults.add(Fault(api="c", path="^/v1/user$", status=503, times=1, after=3))
    sandbox.faults.add(Fault(api="c", path="^/v1/orgs$", status=500, times=1, after=1))
    sandbox.faults.add(Fault(api="c", path="^/v1/orgs/org-0004/members$", status=502, times=2, after=1))
    sandbox.faults.add(Fault(api="c", path="/insights/traffic$", kind="drop", times=1, after=4))
    sandbox.faults.add(Fault(api="c", path="/content$", status=504, times=1, after=2))
    run = run_tap(TAP, config(sandbox, max_retries=3))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_exactly_once(run, {k: v for k, v in sandbox.apis["c"].counts().items() if v})
    assert "Traceback" not in run.stderr
    assert run.stderr.count("retry 1 of 3") >= 6
