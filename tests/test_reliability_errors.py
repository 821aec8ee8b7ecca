"""Errors that say what to do (issue 12, section 3) and credentials kept to their origin (section 5)."""

from __future__ import annotations

import logging
import threading

import pytest

from analytics_sandbox import Sandbox
from analytics_sandbox.faults import Fault
from tap_analytics_common import ApiClient, OAuth2Authenticator, RefreshTokenFile, ResponseError, RetryPolicy
from tap_analytics_common.origins import ForeignHostError, cleartext_settings
from tests.fixtures.inprocess import FakeTime
from tests.helpers import assert_clean_failure, env_config, run_tap

FAST = {"max_retries": 0, "backoff_factor": 0}


def client(fake: FakeTime, logger: logging.Logger, **kwargs) -> ApiClient:
    return ApiClient(
        auth=kwargs.pop("auth", None),
        policy=RetryPolicy(max_retries=2, backoff_factor=0),
        timeout=5,
        user_agent="test",
        sleep=fake.sleep,
        clock=fake.clock,
        logger=logger,
        **kwargs,
    )


# -- section 3: token errors ------------------------------------------------------------


def test_rejected_stored_refresh_token_names_the_file_and_what_to_do(sandbox, tmp_path):
    cfg = sandbox.tap_config("a") | FAST | {"refresh_token_file": str(tmp_path / "token.json")}
    stale = "stale-rotated-token-4711"
    RefreshTokenFile(cfg["refresh_token_file"]).save(stale, cfg["refresh_token"])
    run = run_tap("tap-analytics-a", cfg)
    line = assert_clean_failure(
        run, mentions="invalid_grant", secrets=[stale, cfg["client_secret"], cfg["refresh_token"]]
    )
    assert f"refresh_token_file {cfg['refresh_token_file']}" in line
    assert "set refresh_token" in line and f"delete {cfg['refresh_token_file']}" in line
    assert "is invalid, expired or already used" in line  # the server's error_description, scrubbed


def test_rejected_configured_refresh_token_names_the_setting(sandbox):
    cfg = sandbox.tap_config("b") | FAST | {"refresh_token": "no-such-refresh-token"}
    run = run_tap("tap-analytics-b", cfg)
    line = assert_clean_failure(run, mentions="invalid_grant", secrets=["no-such-refresh-token"])
    assert "the refresh_token setting" in line and "delete" not in line


def test_wrong_client_secret_says_invalid_client(sandbox):
    cfg = sandbox.tap_config("e") | FAST | {"client_secret": "wrong-secret-999"}
    run = run_tap("tap-analytics-e", cfg)
    line = assert_clean_failure(run, mentions="invalid_client", secrets=["wrong-secret-999"])
    assert "check client_id and client_secret" in line


def test_token_answer_without_access_token_is_requested_once(requests_mock):
    token = requests_mock.post("https://auth.test/token", json={"token_type": "Bearer"})
    requests_mock.get("https://api.test/items", json={})
    auth = OAuth2Authenticator(
        token_url="https://auth.test/token",
        client_id="cid",
        client_secret="shh",
        grant_type="client_credentials",
    )
    api = client(FakeTime(), logging.getLogger("test"), auth=auth)
    auth.client = api
    errors: list[BaseException] = []

    def first_page() -> None:
        try:
            api.request("GET", "https://api.test/items", what="stream items")
        except ResponseError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_page) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 4
    assert token.call_count == 1


# -- section 3: settings ----------------------------------------------------------------


def test_unparseable_integer_from_the_environment_names_setting_and_variable(sandbox):
    env = env_config("tap-analytics-e", sandbox.tap_config("e")) | {"TAP_ANALYTICS_E_PAGE_SIZE": "abc"}
    run = run_tap("tap-analytics-e", None, env=env)
    line = assert_clean_failure(run, mentions="page_size")
    assert "TAP_ANALYTICS_E_PAGE_SIZE" in line and "ValueError" not in line


def test_unknown_setting_is_warned_about_with_the_closest_name(sandbox):
    cfg = sandbox.tap_config("e") | {"max_concurrent_request": 2}
    run = run_tap("tap-analytics-e", cfg, "--discover")
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "unknown setting" in line]
    assert len(warnings) == 1, warnings
    assert "max_concurrent_request " in warnings[0] and "did you mean max_concurrent_requests" in warnings[0]


# -- section 3: responses ---------------------------------------------------------------


def test_stalled_body_is_a_read_timeout(sandbox):
    sandbox.faults.add(Fault(api="e", path="^/v1/users$", kind="stall", delay_ms=4000, times=-1))
    cfg = sandbox.tap_config("e") | FAST | {"request_timeout": 1}
    run = run_tap("tap-analytics-e", cfg)
    line = assert_clean_failure(run, mentions="read timed out after 1s")
    assert "/v1/users" in line


def test_capped_retry_after_logs_what_was_asked_and_used(requests_mock, caplog):
    requests_mock.get(
        "https://api.test/items",
        [{"status_code": 429, "headers": {"Retry-After": "600"}}, {"json": {}}],
    )
    fake = FakeTime()
    with caplog.at_level(logging.WARNING, logger="test-retry"):
        client(fake, logging.getLogger("test-retry")).request("GET", "https://api.test/items", what="s")
    assert fake.sleeps == [120.0]
    assert "asked to wait 600s (Retry-After); waiting 120s, the cap" in caplog.text


# -- section 5: credentials go only where they belong -----------------------------------


def test_foreign_next_url_ends_the_run_and_sends_nothing_there(sandbox):
    other = Sandbox(port=0).start()  # another host: it must see no request at all
    try:
        sandbox.apis["d"].next_form = "url"
        sandbox.apis["d"].base_url = other.base_url("d")
        cfg = sandbox.tap_config("d") | FAST
        run = run_tap("tap-analytics-d", cfg)
        foreign = other.url.removeprefix("http://")
        line = assert_clean_failure(run, mentions=foreign, secrets=[cfg["client_secret"]])
        assert "nothing was sent there" in line
        assert other.stats == {}
    finally:
        other.stop()


def test_request_to_another_origin_is_refused_before_sending(requests_mock):
    foreign = requests_mock.get("https://evil.test/steal", json={})
    same = requests_mock.get("https://api.test:443/items", json={})
    api = client(FakeTime(), logging.getLogger("test"), allowed_origins=["https://api.test/v1"])
    api.request("GET", "https://api.test:443/items", what="s")  # default port: the same origin
    for url in ("https://evil.test/steal", "http://api.test/items", "https://api.test:8443/items"):
        with pytest.raises(ForeignHostError, match="not the host of base_url"):
            api.request("GET", url, what="s")
    assert foreign.call_count == 0 and same.call_count == 1


def test_cleartext_urls_to_other_hosts_are_named():
    urls = {
        "base_url": "http://api.example.com/v1",
        "token_url": "http://127.0.0.1:9000/token",
    }
    assert cleartext_settings(urls) == ["base_url"]
    assert cleartext_settings({"base_url": "http://localhost:1/x", "token_url": "https://a.b/t"}) == []
    assert cleartext_settings({"base_url": "http://[::1]:8/x"}) == []


def test_cleartext_base_url_is_warned_about_once(sandbox):
    cfg = sandbox.tap_config("e") | {"base_url": "http://api.example.com"}
    run = run_tap("tap-analytics-e", cfg, "--discover")
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "in the clear" in line]
    assert len(warnings) == 1 and "base_url" in warnings[0], warnings
