"""Stop rules, the repeat guard and cursor handling of the shared paginators."""

from __future__ import annotations

import logging

import pytest

from tap_analytics_common import PaginationError
from tests.fixtures.inprocess import FakeTime, prepare, records, sync
from tests.fixtures.mini_tap import BASE, TOKEN_URL, base_config, mini_tap


@pytest.fixture(autouse=True)
def token(requests_mock):
    return requests_mock.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})


def items(start: int, count: int) -> list[dict]:
    return [{"id": str(i)} for i in range(start, start + count)]


def run(style: str, capsys, **config):
    # One request at a time: these tests pin the requests a sequential run makes (reading
    # ahead is tested in test_engine.py).
    config.setdefault("max_concurrent_requests", 1)
    tap = prepare(mini_tap(style)(config=base_config(**config)), FakeTime())
    return [r["id"] for r in records(sync(tap, capsys))]


def pages_requested(requests_mock, key: str) -> list[str]:
    return [r.qs.get(key, [None])[0] for r in requests_mock.request_history if r.method == "GET"]


def test_page_number_stops_on_a_short_page_without_an_extra_request(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items?page=1", json={"items": items(0, 100)})
    requests_mock.get(f"{BASE}/items?page=2", json={"items": items(100, 40)})
    assert len(run("page", capsys)) == 140
    assert pages_requested(requests_mock, "page") == ["1", "2"]


def test_page_number_stops_on_an_empty_page(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items?page=1", json={"items": items(0, 100)})
    requests_mock.get(f"{BASE}/items?page=2", json={"items": items(100, 100)})
    requests_mock.get(f"{BASE}/items?page=3", json={"items": []})
    assert len(run("page", capsys)) == 200
    assert pages_requested(requests_mock, "page") == ["1", "2", "3"]


def test_a_short_page_does_not_stop_when_the_limit_exceeds_the_documented_size(requests_mock, capsys):
    """A server may cap limit=500 to 100 silently: 100 < 500 is not the end."""
    requests_mock.get(f"{BASE}/items?page=1", json={"items": items(0, 100)})
    requests_mock.get(f"{BASE}/items?page=2", json={"items": items(100, 100)})
    requests_mock.get(f"{BASE}/items?page=3", json={"items": []})
    assert len(run("page", capsys, page_size=500)) == 200


def test_total_ends_the_stream(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items?page=1", json={"items": items(0, 100), "total": 200})
    requests_mock.get(f"{BASE}/items?page=2", json={"items": items(100, 100), "total": 200})
    assert len(run("page", capsys)) == 200
    assert pages_requested(requests_mock, "page") == ["1", "2"]


def test_has_more_false_ends_the_stream(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items?offset=0", json={"items": items(0, 100), "has_more": False})
    assert len(run("offset", capsys)) == 100
    assert pages_requested(requests_mock, "offset") == ["0"]


def test_has_more_true_continues_past_a_short_page(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items?offset=0", json={"items": items(0, 30), "has_more": True})
    requests_mock.get(f"{BASE}/items?offset=30", json={"items": items(30, 5), "has_more": False})
    assert len(run("offset", capsys)) == 35


def test_offset_advances_by_records_received(requests_mock, capsys):
    """A capped server returns fewer than asked: the next offset must not skip records."""
    requests_mock.get(f"{BASE}/items?offset=0", json={"items": items(0, 100)})
    requests_mock.get(f"{BASE}/items?offset=100", json={"items": items(100, 100)})
    requests_mock.get(f"{BASE}/items?offset=200", json={"items": []})
    assert run("offset", capsys, page_size=250) == [str(i) for i in range(200)]


def test_a_repeated_last_page_ends_with_a_warning_and_no_duplicates(requests_mock, capsys, caplog):
    # every later page; `colour` is undeclared, so the stream rewrites each record it yields
    requests_mock.get(f"{BASE}/items", json={"items": [r | {"colour": "red"} for r in items(100, 100)]})
    requests_mock.get(f"{BASE}/items?page=1", json={"items": items(0, 100)})  # (later mocks match first)
    with caplog.at_level(logging.WARNING):
        ids = run("page", capsys)
    assert len(ids) == len(set(ids)) == 200
    assert any("previous page again" in m for m in caplog.messages)


def test_cursor_follows_next_page_until_next_is_null(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items", json={"items": items(0, 2), "next": {"page": "c1"}})
    requests_mock.get(f"{BASE}/items?page=c1", json={"items": items(2, 2), "next": None})
    assert run("cursor", capsys) == ["0", "1", "2", "3"]


def test_cursor_stops_when_next_is_absent(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items", json={"items": items(0, 2), "next": {"page": "c1"}})
    requests_mock.get(f"{BASE}/items?page=c1", json={"items": items(2, 1)})
    assert run("cursor", capsys) == ["0", "1", "2"]


def test_an_empty_page_with_a_cursor_is_not_the_end(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items", json={"items": items(0, 2), "next": {"page": "c1"}})
    requests_mock.get(f"{BASE}/items?page=c1", json={"items": [], "next": {"page": "c2"}})
    requests_mock.get(f"{BASE}/items?page=c2", json={"items": items(2, 2), "next": None})
    assert run("cursor", capsys) == ["0", "1", "2", "3"]


def test_a_repeated_cursor_is_an_error(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items", json={"items": items(0, 2), "next": {"page": "c1"}})
    requests_mock.get(f"{BASE}/items?page=c1", json={"items": items(2, 2), "next": {"page": "c1"}})
    with pytest.raises(PaginationError, match="c1"):
        run("cursor", capsys)


def test_a_cursor_that_comes_back_later_is_an_error(requests_mock, capsys):
    requests_mock.get(f"{BASE}/items", json={"items": items(0, 1), "next": {"page": "c1"}})
    requests_mock.get(f"{BASE}/items?page=c1", json={"items": items(1, 1), "next": {"page": "c2"}})
    requests_mock.get(f"{BASE}/items?page=c2", json={"items": items(2, 1), "next": {"page": "c1"}})
    with pytest.raises(PaginationError):
        run("cursor", capsys)


def test_an_absolute_next_url_is_followed_without_duplicated_parameters(requests_mock, capsys):
    nxt = f"{BASE}/items?page=c1&limit=100"
    requests_mock.get(f"{BASE}/items", json={"items": items(0, 1), "next": {"page": nxt}})
    second = requests_mock.get(nxt, json={"items": items(1, 1), "next": None})
    assert run("cursor", capsys) == ["0", "1"]
    assert second.last_request.url == nxt
    assert second.last_request.qs == {"page": ["c1"], "limit": ["100"]}
