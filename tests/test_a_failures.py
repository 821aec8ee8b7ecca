"""tap-analytics-a's failures a user can act on, driven through the sandbox."""

from __future__ import annotations

from analytics_sandbox.faults import Fault
from tests.helpers import assert_clean_failure, assert_exactly_once, run_tap

FAST = {"max_retries": 2, "backoff_factor": 0}


def config(sandbox, **extra):
    return sandbox.tap_config("a") | FAST | extra


def secrets(cfg) -> list[str]:
    return [cfg["client_secret"], cfg["refresh_token"]]


def test_token_revoked_mid_run_keeps_what_was_read(sandbox):
    workspace = sandbox.apis["a"].control("workspace_ids", {})[3]
    sandbox.faults.add(Fault(api="a", path=f"/v1/workspaces/{workspace}/views", kind="revoke"))
    cfg = config(sandbox)
    run = run_tap("tap-analytics-a", cfg)
    assert_clean_failure(run, mentions="rejected", secrets=secrets(cfg))
    assert len(run.records()) > 0  # everything read before the revocation was written


def test_transient_faults_lose_and_duplicate_nothing(sandbox):
    workspace = sandbox.apis["a"].control("workspace_ids", {})[1]
    sandbox.faults.add(Fault(api="a", path="^/v1/users$", status=429, times=2, retry_after="1"))
    sandbox.faults.add(Fault(api="a", path="^/v1/workspaces$", status=503, times=1))
    sandbox.faults.add(Fault(api="a", path=f"{workspace}/users$", status=502, times=2))
    sandbox.faults.add(Fault(api="a", path="/trash$", kind="drop", times=1))
    sandbox.faults.add(Fault(api="a", path="/folders$", kind="expire", times=1))
    sandbox.faults.add(Fault(api="a", path="^/oauth", status=500, times=1))
    run = run_tap("tap-analytics-a", config(sandbox, max_retries=3))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_exactly_once(run, {k: v for k, v in sandbox.apis["a"].counts().items() if v})
    assert "Traceback" not in run.stderr


def test_rotated_refresh_tokens_survive_between_runs_through_the_token_file(sandbox, tmp_path):
    """The API rotates refresh tokens and refuses the old one: the file carries the new one."""
    sandbox.auth["a"].settings.rotate_refresh_tokens = True
    token_file = tmp_path / "a-token.json"
    cfg = config(sandbox, refresh_token_file=str(token_file))
    expected = {k: v for k, v in sandbox.apis["a"].counts().items() if v}
    for _ in range(3):
        run = run_tap("tap-analytics-a", cfg)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.counts() == expected
    assert sandbox.stats["a POST /oauth/v2/token"] == 3
    assert cfg["refresh_token"] not in token_file.read_text()


def test_without_the_token_file_a_rotated_token_is_lost_and_says_so(sandbox):
    sandbox.auth["a"].settings.rotate_refresh_tokens = True
    cfg = config(sandbox)
    assert run_tap("tap-analytics-a", cfg).returncode == 0
    run = run_tap("tap-analytics-a", cfg)  # the configured token was rotated away
    assert_clean_failure(run, mentions="invalid_grant", secrets=secrets(cfg))
