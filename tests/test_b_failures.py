"""Failures a user can act on, and transient faults that must not lose or repeat a record."""

from __future__ import annotations

import pytest

from analytics_sandbox.auth import CLIENT_SECRET, REFRESH_TOKEN
from tests.helpers import assert_clean_failure, assert_exactly_once, control, run_tap

SECRETS = (CLIENT_SECRET, REFRESH_TOKEN)
FAST = {"max_retries": 1, "backoff_factor": 0}


def fault(sandbox, **spec) -> None:
    control(sandbox.url, "faults", {"api": "b", **spec})


def test_invalid_page_size(sandbox):
    run = run_tap("tap-analytics-b", sandbox.tap_config("b") | {"page_size": 0})
    assert_clean_failure(run, mentions="page_size", secrets=SECRETS)


@pytest.mark.parametrize(
    ("setting", "wrong"), [("client_secret", "wrong-secret-8h3k"), ("refresh_token", "stale-token-0x9f")]
)
def test_rejected_credentials(sandbox, setting, wrong):
    run = run_tap("tap-analytics-b", sandbox.tap_config("b") | {setting: wrong})
    line = assert_clean_failure(run, mentions="rejected the credentials", secrets=(*SECRETS, wrong))
    assert "token endpoint" in line
    assert sandbox.stats.get("b POST /auth/token") == 1  # a 4xx from the token endpoint is not retried


def test_revoked_grant_mid_run_fails_cleanly(sandbox):
    # Every access token stops working and the refresh token is withdrawn.
    control(sandbox.url, "b/revoke", {})
    run = run_tap("tap-analytics-b", sandbox.tap_config("b"))
    assert_clean_failure(run, mentions="rejected the credentials", secrets=SECRETS)


def test_wrong_base_url(sandbox):
    run = run_tap("tap-analytics-b", sandbox.tap_config("b") | {"base_url": f"{sandbox.url}/nowhere"} | FAST)
    assert_clean_failure(run, mentions="404", secrets=SECRETS)


def test_transient_faults_lose_and_repeat_nothing(sandbox):
    fault(sandbox, path="^/files$", status=429, retry_after="1", times=1, after=1)  # page 2
    fault(sandbox, path="^/members$", status=503, times=2)
    fault(sandbox, path="^/connections$", status=502, times=1, after=2)  # page 3 (the empty one)
    fault(sandbox, path="^/workbooks$", kind="drop", times=1)
    fault(sandbox, path="^/auth/token$", status=500, times=1)
    fault(sandbox, path="^/teams$", status=401, times=1)  # one refresh, then the same request again
    run = run_tap("tap-analytics-b", sandbox.tap_config("b") | {"backoff_factor": 0})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert_exactly_once(run, {name: n for name, n in sandbox.apis["b"].counts().items() if n})
    assert "retry 1 of 3 in 1.0s" in run.stderr  # the 429's Retry-After was honoured
    assert sandbox.stats["b POST /auth/token"] == 3  # the 500, the first token, the refresh
