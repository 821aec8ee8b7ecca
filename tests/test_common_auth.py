"""OAuth2 grants, early refresh, rotation and the refresh-token file."""

from __future__ import annotations

import json
import os
import stat
from urllib.parse import parse_qs

import pytest

from tap_analytics_common import AuthError, RefreshTokenFile
from tests.fixtures.inprocess import FakeTime, prepare, records, sync
from tests.fixtures.mini_tap import BASE, TOKEN_URL, base_config, mini_tap

PAGE = {"items": [{"id": "1"}]}


def form(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.text).items()}


def make(fake: FakeTime, grant: str, **config):
    tap = prepare(mini_tap("none", grant)(config=base_config(**config)), fake)
    tap.client.auth.clock = fake.clock
    return tap


def get(tap) -> None:
    tap.client.request("GET", f"{BASE}/items", what="stream items")


def test_client_credentials_grant_is_form_encoded(requests_mock):
    token = requests_mock.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})
    data = requests_mock.get(f"{BASE}/items", json=PAGE)
    get(make(FakeTime(), "client_credentials"))
    request = token.last_request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": "shh-secret",
    }
    assert data.last_request.headers["Authorization"] == "Bearer tok"


def test_refresh_token_grant_sends_the_refresh_token(requests_mock):
    token = requests_mock.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})
    requests_mock.get(f"{BASE}/items", json=PAGE)
    get(make(FakeTime(), "refresh_token"))
    assert form(token.last_request) == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "shh-secret",
        "refresh_token": "rt-0",
    }


def test_one_token_request_serves_many_requests_and_streams(requests_mock, capsys):
    token = requests_mock.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})
    requests_mock.get(f"{BASE}/items", json=PAGE)
    tap = make(FakeTime(), "client_credentials")
    for _ in range(5):
        get(tap)
    sync(tap, capsys)
    assert token.call_count == 1


def test_token_is_refreshed_shortly_before_it_expires(requests_mock):
    fake = FakeTime()
    token = requests_mock.post(
        TOKEN_URL,
        [
            {"json": {"access_token": "a", "expires_in": 600}},
            {"json": {"access_token": "b", "expires_in": 600}},
        ],
    )
    data = requests_mock.get(f"{BASE}/items", json=PAGE)
    tap = make(fake, "client_credentials")
    get(tap)
    fake.now += 530  # 70 s left: still fine
    get(tap)
    assert token.call_count == 1
    fake.now += 20  # 50 s left: inside the early-refresh margin, not expired yet
    get(tap)
    assert token.call_count == 2
    assert data.last_request.headers["Authorization"] == "Bearer b"


def test_token_requests_are_retried_like_data_requests(requests_mock):
    fake = FakeTime()
    token = requests_mock.post(
        TOKEN_URL,
        [
            {"status_code": 503},
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            {"json": {"access_token": "tok"}},
        ],
    )
    requests_mock.get(f"{BASE}/items", json=PAGE)
    get(make(fake, "client_credentials"))
    assert token.call_count == 3
    assert fake.sleeps[1] == 3.0


def test_rejected_credentials_give_one_clear_error_without_the_secret(requests_mock):
    requests_mock.post(TOKEN_URL, status_code=401, json={"error": "invalid_client"})
    with pytest.raises(AuthError) as caught:
        get(make(FakeTime(), "client_credentials"))
    assert "rejected the credentials" in str(caught.value)
    assert "shh-secret" not in str(caught.value)


def test_rotated_refresh_token_is_kept_for_the_rest_of_the_run(requests_mock):
    token = requests_mock.post(
        TOKEN_URL,
        [
            {"json": {"access_token": "a", "expires_in": 3600, "refresh_token": "rt-1"}},
            {"json": {"access_token": "b", "expires_in": 3600, "refresh_token": "rt-2"}},
        ],
    )
    requests_mock.get(f"{BASE}/items", [{"json": PAGE}, {"status_code": 401}, {"json": PAGE}])
    tap = make(FakeTime(), "refresh_token")
    get(tap)
    get(tap)
    assert [form(r)["refresh_token"] for r in token.request_history] == ["rt-0", "rt-1"]
    assert tap.client.auth.refresh_token == "rt-2"


def test_rotated_refresh_token_is_persisted_owner_only(requests_mock, tmp_path):
    path = tmp_path / "tokens" / "a.json"
    requests_mock.post(TOKEN_URL, json={"access_token": "a", "expires_in": 3600, "refresh_token": "rt-1"})
    requests_mock.get(f"{BASE}/items", json=PAGE)
    get(make(FakeTime(), "refresh_token", refresh_token_file=str(path)))
    assert json.loads(path.read_text())["refresh_token"] == "rt-1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json", "a.json.lock"]  # no temp file


def test_the_token_file_wins_on_the_next_run(requests_mock, tmp_path):
    path = tmp_path / "a.json"
    RefreshTokenFile(path).save("rt-7", configured="rt-0")
    token = requests_mock.post(TOKEN_URL, json={"access_token": "a", "expires_in": 3600})
    requests_mock.get(f"{BASE}/items", json=PAGE)
    get(make(FakeTime(), "refresh_token", refresh_token_file=str(path)))
    assert form(token.last_request)["refresh_token"] == "rt-7"


def test_a_new_configured_token_beats_the_file(requests_mock, tmp_path):
    """The user re-authorised: refresh_token changed since the file was written."""
    path = tmp_path / "a.json"
    RefreshTokenFile(path).save("rt-7", configured="rt-0")
    token = requests_mock.post(TOKEN_URL, json={"access_token": "a", "expires_in": 3600})
    requests_mock.get(f"{BASE}/items", json=PAGE)
    get(make(FakeTime(), "refresh_token", refresh_token="rt-fresh", refresh_token_file=str(path)))
    assert form(token.last_request)["refresh_token"] == "rt-fresh"


def test_an_unreadable_token_file_falls_back_to_the_setting(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("{not json")
    assert RefreshTokenFile(path).load("rt-0") == "rt-0"


def test_records_still_flow_when_the_token_expires_mid_run(requests_mock, capsys):
    requests_mock.post(
        TOKEN_URL,
        [
            {"json": {"access_token": "a", "expires_in": 3600}},
            {"json": {"access_token": "b", "expires_in": 3600}},
        ],
    )
    requests_mock.get(f"{BASE}/items", [{"status_code": 401}, {"json": PAGE}])
    assert len(records(sync(make(FakeTime(), "client_credentials"), capsys))) == 1
