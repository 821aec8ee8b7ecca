"""tap-analytics-e against requests-mock: paths, params, stop rules, the grant, timeouts, schemas."""

from __future__ import annotations

import io
import json
import logging
import typing as t
from contextlib import redirect_stdout
from urllib.parse import parse_qs

import jsonschema
import pytest
import requests

from tap_analytics_common import EXTRA_PROPERTY, ApiError
from tap_analytics_e.streams import EStream
from tap_analytics_e.tap import TapAnalyticsE

BASE = "https://api.example.com"
TOKEN_URL = f"{BASE}/oauth/token"
STREAMS = ("blocks", "databases", "pages", "users")
CONFIG = {
    "client_id": "cid",
    "client_secret": "s3cret-value",
    "backoff_factor": 0,
    "max_concurrent_requests": 1,
}
"""Sequential: no first pages fetched ahead on threads that could outlive a test's mocks."""


def make_tap(**config: t.Any) -> TapAnalyticsE:
    return TapAnalyticsE(config=CONFIG | config, parse_env_config=False)


def rows(start: int, stop: int) -> list[dict[str, t.Any]]:
    return [
        {"id": f"r{i}", "createdAt": None, "updatedAt": "2024-01-01T00:00:00Z"} for i in range(start, stop)
    ]


def page(start: int, stop: int, **fields: t.Any) -> dict[str, t.Any]:
    return {"json": {"data": rows(start, stop), **fields}}


@pytest.fixture
def api(requests_mock):
    requests_mock.post(TOKEN_URL, json={"access_token": "tok-1", "expires_in": 3600})
    return requests_mock


def read(tap: TapAnalyticsE, stream: str = "blocks") -> list[dict[str, t.Any]]:
    """The records as the SDK would emit them (post_process included)."""
    target = tap.streams[stream]
    out = []
    for row in target.get_records(None):
        assert isinstance(row, dict)
        processed = target.post_process(row, None)
        assert processed is not None
        out.append(processed)
    return out


def data_requests(api, stream: str = "blocks") -> list[t.Any]:
    return [r for r in api.request_history if r.path.endswith(f"/v1/{stream}")]


def offsets(api, stream: str = "blocks") -> list[tuple[int, int]]:
    return [(int(r.qs["offset"][0]), int(r.qs["limit"][0])) for r in data_requests(api, stream)]


# -- paths, params, defaults -------------------------------------------------------


def test_defaults_are_the_documents():
    tap = make_tap()
    assert tap.config["base_url"] == "https://api.example.com"
    assert tap.config["token_url"] == "https://api.example.com/oauth/token"
    assert tap.config["page_size"] == 100
    assert sorted(tap.streams) == sorted(STREAMS)
    for name, stream in tap.streams.items():
        assert stream.primary_keys == ("id",)
        assert isinstance(stream, EStream)
        assert stream.path == f"/v1/{name}"


@pytest.mark.parametrize("stream", STREAMS)
def test_each_stream_reads_its_path_with_offset_and_limit(api, stream):
    api.get(f"{BASE}/v1/{stream}", [page(0, 100), page(100, 130)])
    records = read(make_tap(), stream)
    assert [r["id"] for r in records] == [f"r{i}" for i in range(130)]
    assert offsets(api, stream) == [(0, 100), (100, 100)]
    assert all(r.headers["Authorization"] == "Bearer tok-1" for r in data_requests(api, stream))


def test_base_url_and_page_size_settings(api):
    api.get("http://sandbox.test/e/v1/users", [page(0, 25), page(25, 30)])
    tap = make_tap(base_url="http://sandbox.test/e/", page_size=25)
    assert len(read(tap, "users")) == 30
    assert offsets(api, "users") == [(0, 25), (25, 25)]


# -- stop rules ---------------------------------------------------------------------


def test_stops_on_an_empty_page(api):
    api.get(f"{BASE}/v1/blocks", [page(0, 100), page(100, 200), page(0, 0)])
    assert len(read(make_tap())) == 200
    assert offsets(api) == [(0, 100), (100, 100), (200, 100)]


def test_stops_on_a_short_page_when_the_limit_is_the_documents(api):
    api.get(f"{BASE}/v1/blocks", [page(0, 100), page(100, 140), page(0, 0)])
    assert len(read(make_tap())) == 140
    assert offsets(api) == [(0, 100), (100, 100)]


def test_stops_on_total_without_asking_for_an_empty_page(api):
    # page_size 150 disables the short-page rule: only `total` can end this early.
    api.get(
        f"{BASE}/v1/blocks", [page(0, 100, total=250), page(100, 200, total=250), page(200, 250, total=250)]
    )
    assert len(read(make_tap(page_size=150))) == 250
    assert offsets(api) == [(0, 150), (100, 150), (200, 150)]


def test_a_limit_above_100_capped_by_the_server_is_not_taken_for_the_end(api):
    api.get(f"{BASE}/v1/blocks", [page(0, 100), page(100, 200), page(200, 250), page(0, 0)])
    records = read(make_tap(page_size=500))
    assert [r["id"] for r in records] == [f"r{i}" for i in range(250)]
    # Offsets follow the records received, not the limit asked for.
    assert offsets(api) == [(0, 500), (100, 500), (200, 500), (250, 500)]


def test_a_repeated_page_ends_the_stream_with_a_warning_and_no_duplicates(api, caplog):
    api.get(f"{BASE}/v1/blocks", [page(0, 100), page(100, 200), page(100, 200), page(200, 300)])
    with caplog.at_level(logging.WARNING):
        records = read(make_tap())
    ids = [r["id"] for r in records]
    assert ids == [f"r{i}" for i in range(200)]
    assert len(data_requests(api)) == 3
    assert any("previous page again" in m for m in caplog.messages)


def test_an_empty_first_page_is_an_empty_stream(api):
    api.get(f"{BASE}/v1/databases", json={"data": []})
    assert read(make_tap(), "databases") == []
    assert len(data_requests(api, "databases")) == 1


# -- auth ------------------------------------------------------------------------


def test_client_credentials_grant_is_form_encoded_and_requested_once_per_run(api):
    for stream in STREAMS:
        api.get(f"{BASE}/v1/{stream}", [page(0, 3)])
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # the msgspec writer wants .buffer
    with redirect_stdout(out):
        make_tap(max_concurrent_requests=4).sync_all()  # streams' first pages fetched at once
    out.flush()
    records = [json.loads(line) for line in out.buffer.getvalue().decode().splitlines()]
    assert sum(m["type"] == "RECORD" for m in records) == 3 * len(STREAMS)
    tokens = [r for r in api.request_history if r.url == TOKEN_URL]
    assert len(tokens) == 1
    assert tokens[0].method == "POST"
    assert tokens[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(tokens[0].text) == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["s3cret-value"],
    }


def test_custom_token_url(api):
    api.post("https://auth.example.net/token", json={"access_token": "tok-2"})
    api.get(f"{BASE}/v1/users", json={"data": rows(0, 1)})
    read(make_tap(token_url="https://auth.example.net/token"), "users")
    assert data_requests(api, "users")[0].headers["Authorization"] == "Bearer tok-2"


def test_a_rejected_token_is_refreshed_once(api):
    api.post(TOKEN_URL, [{"json": {"access_token": "old"}}, {"json": {"access_token": "new"}}])
    api.get(f"{BASE}/v1/users", [{"status_code": 401}, page(0, 5)])
    assert len(read(make_tap(), "users")) == 5
    assert [r.headers["Authorization"] for r in data_requests(api, "users")] == ["Bearer old", "Bearer new"]


# -- timeouts ---------------------------------------------------------------------


def test_request_timeout_reaches_requests(api):
    api.get(f"{BASE}/v1/blocks", json={"data": rows(0, 2)})
    read(make_tap(request_timeout=7))
    assert {r.timeout for r in api.request_history} == {7}


def test_a_timeout_is_retried_like_a_5xx(api):
    api.get(
        f"{BASE}/v1/blocks",
        [{"exc": requests.exceptions.ReadTimeout}, {"exc": requests.exceptions.ConnectTimeout}, page(0, 10)],
    )
    assert len(read(make_tap(request_timeout=1))) == 10
    assert len(data_requests(api)) == 3


def test_a_request_that_keeps_timing_out_fails_naming_the_timeout(api):
    api.get(f"{BASE}/v1/blocks", exc=requests.exceptions.ReadTimeout)
    with pytest.raises(ApiError, match="timed out") as caught:
        read(make_tap(request_timeout=1, max_retries=2))
    assert "stream blocks" in str(caught.value)
    assert len(data_requests(api)) == 3


# -- schemas and `extra` -------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMS)
def test_schema_declares_the_neutral_fields_and_extra(stream):
    schema = make_tap().streams[stream].schema
    assert set(schema["properties"]) == {"id", "createdAt", "updatedAt", EXTRA_PROPERTY}
    assert schema["properties"]["id"]["type"] == "string"
    assert "id" in schema["required"]
    for field in ("createdAt", "updatedAt"):
        # The document says nothing of their format: a nullable string is the honest type.
        assert schema["properties"][field] == {"type": ["string", "null"]}
    assert "object" in schema["properties"][EXTRA_PROPERTY]["type"]


def test_undeclared_fields_are_kept_under_extra(api):
    big = 2**53 + 1
    record = {
        "id": "p1",
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": None,
        "archived": False,
        "parent": {"database_id": "d1"},
        "tags": ["Ünïcode ✓", "北区"],
        "icon": None,
        "viewCount": big,
    }
    api.get(f"{BASE}/v1/pages", json={"data": [record]})
    tap = make_tap()
    (got,) = read(tap, "pages")
    assert got == {
        "id": "p1",
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": None,
        EXTRA_PROPERTY: {k: v for k, v in record.items() if k not in ("id", "createdAt", "updatedAt")},
    }
    assert got[EXTRA_PROPERTY]["viewCount"] == big
    jsonschema.validate(got, tap.streams["pages"].schema)
