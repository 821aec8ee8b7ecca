"""Retries, Retry-After and the 401 rule of the shared client (singer-sdk 0.54 gets these wrong)."""

from __future__ import annotations

import email.utils

import pytest
import requests

from tap_analytics_common import ApiError, AuthError
from tests.fixtures.inprocess import FakeTime, prepare, records, sync
from tests.fixtures.mini_tap import BASE, TOKEN_URL, base_config, mini_tap

PAGE = {"items": [{"id": "1", "name": "x"}, {"id": "2", "name": None}]}


@pytest.fixture
def token(requests_mock):
    return requests_mock.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})


def tap_for(fake: FakeTime, style: str = "none", **config):
    return prepare(mini_tap(style)(config=base_config(**config)), fake)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_each_retry_status_is_retried_then_succeeds(requests_mock, token, capsys, status):
    fake = FakeTime()
    requests_mock.get(f"{BASE}/items", [{"status_code": status}, {"status_code": status}, {"json": PAGE}])
    out = sync(tap_for(fake), capsys)
    assert [r["id"] for r in records(out)] == ["1", "2"]
    assert requests_mock.call_count - token.call_count == 3


def test_backoff_waits_grow_by_factor_two(requests_mock, token):
    fake = FakeTime()
    requests_mock.get(f"{BASE}/items", status_code=503)
    tap = tap_for(fake)
    with pytest.raises(ApiError, match=r"failed after 4 tries"):
        tap.client.request("GET", f"{BASE}/items", what="stream items")
    assert len(fake.sleeps) == 3
    for wait, base in zip(fake.sleeps, (2, 4, 8), strict=True):
        assert base <= wait <= base + 1


def test_exhaustion_after_four_tries_names_status_stream_and_path(requests_mock, token, capsys):
    fake = FakeTime()
    data = requests_mock.get(f"{BASE}/items?secret=q", status_code=500)
    tap = tap_for(fake)
    with pytest.raises(ApiError) as caught:
        tap.client.request("GET", f"{BASE}/items?secret=q", what="stream items")
    assert data.call_count == 4
    message = str(caught.value)
    assert "500" in message and "stream items" in message and "/items" in message
    assert "secret=q" not in message


@pytest.mark.parametrize("status", [400, 403, 404, 422, 501])
def test_other_statuses_fail_at_once(requests_mock, token, status):
    fake = FakeTime()
    data = requests_mock.get(f"{BASE}/items", status_code=status)
    with pytest.raises(ApiError, match=str(status)):
        tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert data.call_count == 1
    assert fake.sleeps == []


def test_retry_after_seconds_is_honoured(requests_mock, token):
    fake = FakeTime()
    requests_mock.get(
        f"{BASE}/items", [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": PAGE}]
    )
    tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert fake.sleeps == [7.0]


def test_retry_after_http_date_is_honoured(requests_mock, token):
    fake = FakeTime()
    import time

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    requests_mock.get(
        f"{BASE}/items", [{"status_code": 503, "headers": {"Retry-After": when}}, {"json": PAGE}]
    )
    tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert len(fake.sleeps) == 1
    assert 28 <= fake.sleeps[0] <= 30


def test_retry_after_is_capped(requests_mock, token):
    fake = FakeTime()
    requests_mock.get(
        f"{BASE}/items", [{"status_code": 429, "headers": {"Retry-After": "86400"}}, {"json": PAGE}]
    )
    tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert fake.sleeps == [120.0]


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectTimeout,
        requests.exceptions.ReadTimeout,
        requests.exceptions.ConnectionError,
    ],
)
def test_timeouts_and_dropped_connections_are_retried(requests_mock, token, exc):
    fake = FakeTime()
    requests_mock.get(f"{BASE}/items", [{"exc": exc}, {"json": PAGE}])
    response = tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert response.json() == PAGE
    assert len(fake.sleeps) == 1


def test_settings_change_retry_count_and_backoff(requests_mock, token):
    fake = FakeTime()
    data = requests_mock.get(f"{BASE}/items", status_code=502)
    with pytest.raises(ApiError):
        tap_for(fake, max_retries=1, backoff_factor=0).client.request("GET", f"{BASE}/items", what="s")
    assert data.call_count == 2
    assert fake.sleeps == [0.0]


def test_a_401_refreshes_once_and_repeats_the_request(requests_mock, capsys):
    fake = FakeTime()
    token = requests_mock.post(
        TOKEN_URL,
        [
            {"json": {"access_token": "old", "expires_in": 3600}},
            {"json": {"access_token": "new", "expires_in": 3600}},
        ],
    )
    data = requests_mock.get(f"{BASE}/items", [{"status_code": 401}, {"json": PAGE}])
    out = sync(tap_for(fake), capsys)
    assert len(records(out)) == 2
    assert token.call_count == 2
    assert [r.headers["Authorization"] for r in data.request_history] == ["Bearer old", "Bearer new"]
    assert fake.sleeps == []  # the repeat is not a retry


def test_a_second_401_for_the_same_request_fails(requests_mock):
    fake = FakeTime()
    requests_mock.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})
    data = requests_mock.get(f"{BASE}/items", status_code=401)
    with pytest.raises(AuthError, match="401"):
        tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert data.call_count == 2


def test_a_token_that_expires_again_during_the_retries_is_refreshed_again(requests_mock):
    """401, refresh, 503, then the refreshed token expires too: a second refresh, not a failure."""
    fake = FakeTime()
    requests_mock.post(
        TOKEN_URL,
        [{"json": {"access_token": f"t{n}", "expires_in": 3600}} for n in range(3)],
    )
    responses = [{"status_code": 401}, {"status_code": 503}, {"status_code": 401}, {"json": PAGE}]
    data = requests_mock.get(f"{BASE}/items", responses)
    response = tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert response.status_code == 200
    assert [r.headers["Authorization"] for r in data.request_history] == [
        "Bearer t0",
        "Bearer t1",
        "Bearer t1",
        "Bearer t2",
    ]
    assert len(fake.sleeps) == 1  # only the 503 was a retry


def test_a_repeat_sent_with_a_token_another_thread_replaced_is_sent_again(requests_mock):
    """The repeat's token is replaced (another thread refreshed) while it is on the wire."""
    fake = FakeTime()
    requests_mock.post(
        TOKEN_URL,
        [{"json": {"access_token": f"t{n}", "expires_in": 3600}} for n in range(3)],
    )
    tap = tap_for(fake)

    def refreshed_meanwhile(request, context):
        tap.client.auth.update_access_token()  # what the other thread's refresh does
        context.status_code = 401
        return {}

    responses = [{"status_code": 401}, {"json": refreshed_meanwhile}, {"json": PAGE}]
    data = requests_mock.get(f"{BASE}/items", responses)
    response = tap.client.request("GET", f"{BASE}/items", what="stream items")
    assert response.status_code == 200
    assert [r.headers["Authorization"] for r in data.request_history] == [
        "Bearer t0",
        "Bearer t1",
        "Bearer t2",
    ]


def test_a_401_does_not_use_up_retries(requests_mock, token):
    fake = FakeTime()
    responses = [{"status_code": 503}] * 3 + [{"status_code": 401}, {"json": PAGE}]
    requests_mock.get(f"{BASE}/items", responses)
    response = tap_for(fake).client.request("GET", f"{BASE}/items", what="stream items")
    assert response.status_code == 200
