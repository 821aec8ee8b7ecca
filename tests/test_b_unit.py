"""tap-analytics-b against requests-mock: settings, paths, schemas, the auth grant, each stop rule."""

from __future__ import annotations

import logging
import typing as t
from urllib.parse import parse_qs

import pytest
import requests_mock as rm
from singer_sdk.exceptions import ConfigValidationError

from tap_analytics_b.streams import STREAMS, BStream
from tap_analytics_b.tap import TapAnalyticsB
from tap_analytics_common import EXTRA_PROPERTY
from tests.helpers import documented_paths

BASE = "https://api.example.com/v2"
TOKEN_URL = f"{BASE}/auth/token"
# One request at a time: these tests pin the requests a sequential run makes (reading ahead
# is tested in test_engine.py).
CONFIG = {
    "client_id": "cid",
    "client_secret": "csecret-123",
    "refresh_token": "rtoken-456",
    "max_concurrent_requests": 1,
}
DOCUMENT_RESOURCES = [path.lstrip("/") for path in documented_paths("tap-analytics-b")]
"""The resources of the API reference (tap-analytics-b/API.md), in its order."""


def make_tap(**settings: t.Any) -> TapAnalyticsB:
    tap = TapAnalyticsB(config=CONFIG | settings, parse_env_config=False)
    tap.client.sleep = lambda seconds: None  # retries without real waiting
    return tap


def entries(start: int, n: int, **fields: t.Any) -> dict[str, t.Any]:
    """A page body with `n` records numbered from `start`."""
    rows = [{"id": f"r{i}", "createdAt": None, "updatedAt": None} for i in range(start, start + n)]
    return {"entries": rows, **fields}


class Pages:
    """Serves `bodies[page - 1]` for `?page=`; past the list an empty page, so a broken rule cannot loop."""

    def __init__(self, mock: rm.Mocker, path: str, bodies: list[dict[str, t.Any]]) -> None:
        self.bodies = bodies
        self.adapter = mock.get(f"{BASE}{path}", json=self.answer)

    def answer(self, request: t.Any, context: t.Any) -> dict[str, t.Any]:
        number = int(request.qs["page"][0])
        return self.bodies[number - 1] if number <= len(self.bodies) else {"entries": []}

    @property
    def pages(self) -> list[int]:
        return [int(r.qs["page"][0]) for r in self.adapter.request_history]

    @property
    def limits(self) -> set[int]:
        return {int(r.qs["limit"][0]) for r in self.adapter.request_history}


@pytest.fixture
def api() -> t.Iterator[rm.Mocker]:
    with rm.Mocker() as mock:
        mock.post(TOKEN_URL, json={"access_token": "at-1", "expires_in": 3600})
        yield mock


def read(tap: TapAnalyticsB, stream: str = "files") -> list[dict[str, t.Any]]:
    return list(t.cast("BStream", tap.streams[stream]).get_records(None))


def ids(records: list[dict[str, t.Any]]) -> list[str]:
    return [r["id"] for r in records]


# -- settings, streams, schemas -------------------------------------------------


def test_defaults_are_the_documents():
    props = TapAnalyticsB.config_jsonschema["properties"]
    assert props["base_url"]["default"] == "https://api.example.com/v2"
    assert props["token_url"]["default"] == "https://api.example.com/v2/auth/token"
    assert props["page_size"]["default"] == 100
    assert props["max_retries"]["default"] == 3
    assert props["backoff_factor"]["default"] == 2
    for secret in ("client_secret", "refresh_token"):
        assert props[secret].get("secret") is True
    assert {"client_id", "client_secret", "refresh_token"} <= set(TapAnalyticsB.config_jsonschema["required"])
    assert "client_refresh_token" not in props  # the same setting name in every tap


def test_streams_are_the_documents_resources():
    tap = make_tap()
    assert sorted(tap.streams) == sorted(DOCUMENT_RESOURCES)
    assert len(STREAMS) == len(DOCUMENT_RESOURCES)
    for name, stream in tap.streams.items():
        assert isinstance(stream, BStream)
        assert stream.path == f"/{name}"
        assert stream.records_path == "entries"
        assert tuple(stream.primary_keys or ()) == ("id",)
        assert stream.replication_method == "FULL_TABLE"


def test_schemas_declare_the_neutral_fields_and_extra():
    tap = make_tap()
    for stream in tap.streams.values():
        schema = stream.schema
        assert set(schema["properties"]) == {"id", "createdAt", "updatedAt", EXTRA_PROPERTY}
        assert schema["properties"]["id"]["type"] == "string"
        assert "id" in schema["required"]
        for field in ("createdAt", "updatedAt"):
            # The document gives no format: plain nullable strings.
            assert schema["properties"][field] == {"type": ["string", "null"]}
        assert schema["properties"][EXTRA_PROPERTY]["type"] == ["object", "null"]


def test_undeclared_fields_are_kept_under_extra():
    tap = make_tap()
    row = {
        "id": "f1",
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": None,
        "name": "Café ☕.csv",
        "owner": {"id": "m1", "name": "Zoë"},
        "deletedAt": None,
        "extra": {"legacyId": 7},
    }
    out = tap.streams["files"].post_process(dict(row))
    assert out == {
        "id": "f1",
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": None,
        EXTRA_PROPERTY: {
            "name": "Café ☕.csv",
            "owner": {"id": "m1", "name": "Zoë"},
            "deletedAt": None,
            "extra": {"legacyId": 7},
        },
    }


@pytest.mark.parametrize("size", [0, -5])
def test_page_size_below_one_is_a_config_error(api, size):
    with pytest.raises(ConfigValidationError) as caught:
        make_tap(page_size=size)
    assert any("page_size" in error for error in caught.value.errors)


# -- requests and auth ------------------------------------------------------------


def test_first_request_paths_and_params(api):
    for name in DOCUMENT_RESOURCES:
        api.get(f"{BASE}/{name}", json=entries(0, 3))
    tap = make_tap()
    for name in DOCUMENT_RESOURCES:
        assert len(read(tap, name)) == 3
    data = [r for r in api.request_history if r.method == "GET"]
    assert [r.path for r in data] == [f"/v2/{name}" for name in DOCUMENT_RESOURCES]
    for request in data:
        assert request.qs == {"page": ["1"], "limit": ["100"]}
        assert request.headers["Authorization"] == "Bearer at-1"


def test_base_url_setting_moves_every_request(api):
    api.get("http://sandbox.test/b/files", json=entries(0, 2))
    tap = make_tap(base_url="http://sandbox.test/b/")
    assert len(read(tap)) == 2


def test_refresh_token_grant_is_form_encoded_and_done_once_per_run(api):
    for name in DOCUMENT_RESOURCES:
        api.get(f"{BASE}/{name}", json=entries(0, 1))
    tap = make_tap()
    for name in DOCUMENT_RESOURCES:
        read(tap, name)
    tokens = [r for r in api.request_history if r.method == "POST"]
    assert len(tokens) == 1
    token = tokens[0]
    assert token.url == TOKEN_URL
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token.headers  # client credentials in the body (RFC 6749)
    assert parse_qs(token.text) == {
        "grant_type": ["refresh_token"],
        "client_id": ["cid"],
        "client_secret": ["csecret-123"],
        "refresh_token": ["rtoken-456"],
    }


def test_token_url_setting_is_used(api):
    api.post("http://auth.test/token", json={"access_token": "at-2"})
    api.get(f"{BASE}/files", json=entries(0, 1))
    read(make_tap(token_url="http://auth.test/token"))
    assert api.request_history[0].url == "http://auth.test/token"
    assert api.request_history[1].headers["Authorization"] == "Bearer at-2"


def test_401_refreshes_once_and_repeats_the_request(api):
    api.post(TOKEN_URL, [{"json": {"access_token": "at-1"}}, {"json": {"access_token": "at-2"}}])
    api.get(f"{BASE}/files", [{"status_code": 401}, {"json": entries(0, 5)}])
    assert len(read(make_tap())) == 5
    data = [r for r in api.request_history if r.method == "GET"]
    assert [r.headers["Authorization"] for r in data] == ["Bearer at-1", "Bearer at-2"]


def test_429_waits_as_retry_after_says(api):
    api.get(
        f"{BASE}/files",
        [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": entries(0, 4)}],
    )
    tap = make_tap()
    waits: list[float] = []
    tap.client.sleep = waits.append
    assert len(read(tap)) == 4
    assert 7.0 in waits


# -- stop rules -------------------------------------------------------------------


def test_empty_page_ends_the_stream(api):
    pages = Pages(api, "/files", [entries(0, 100), entries(100, 100), entries(0, 0)])
    assert ids(read(make_tap())) == [f"r{i}" for i in range(200)]
    assert pages.pages == [1, 2, 3]


def test_short_page_ends_the_stream(api):
    pages = Pages(api, "/files", [entries(0, 100), entries(100, 37), entries(500, 100)])
    assert len(read(make_tap())) == 137
    assert pages.pages == [1, 2]


def test_short_page_rule_follows_page_size(api):
    pages = Pages(api, "/files", [entries(0, 10), entries(10, 10), entries(20, 4), entries(90, 10)])
    assert len(read(make_tap(page_size=10))) == 24
    assert pages.pages == [1, 2, 3]
    assert pages.limits == {10}


def test_total_ends_the_stream_without_an_extra_request(api):
    pages = Pages(api, "/files", [entries(0, 100, total=200), entries(100, 100, total=200)])
    assert len(read(make_tap())) == 200
    assert pages.pages == [1, 2]


def test_total_wins_over_a_capped_short_page(api):
    # page_size 250, the server caps at 100: only `total` can tell where the end is
    bodies = [entries(0, 100, total=237), entries(100, 100, total=237), entries(200, 37, total=237)]
    pages = Pages(api, "/files", bodies)
    assert len(read(make_tap(page_size=250))) == 237
    assert pages.pages == [1, 2, 3]


def test_has_more_false_ends_the_stream(api):
    pages = Pages(api, "/files", [entries(0, 100, has_more=True), entries(100, 100, has_more=False)])
    assert len(read(make_tap())) == 200
    assert pages.pages == [1, 2]


def test_has_more_true_continues_past_a_short_page(api):
    pages = Pages(api, "/files", [entries(0, 50, has_more=True), entries(50, 50, has_more=False)])
    assert len(read(make_tap())) == 100
    assert pages.pages == [1, 2]


def test_repeated_last_page_ends_with_a_warning_and_no_duplicates(api, caplog):
    last = entries(100, 100)
    pages = Pages(api, "/files", [entries(0, 100), last, last, last])
    with caplog.at_level(logging.WARNING):
        got = ids(read(make_tap()))
    assert got == [f"r{i}" for i in range(200)]
    assert pages.pages == [1, 2, 3]
    assert any("previous page again" in r.getMessage() for r in caplog.records)


def test_page_size_above_100_capped_by_the_server_does_not_stop_early(api):
    # The server silently returns 100 of the 250 asked for: a short page is no end here.
    pages = Pages(api, "/files", [entries(0, 100), entries(100, 100), entries(200, 37), entries(0, 0)])
    assert ids(read(make_tap(page_size=250))) == [f"r{i}" for i in range(237)]
    assert pages.pages == [1, 2, 3, 4]
    assert pages.limits == {250}


def test_page_size_above_100_capped_and_repeating_ends_on_the_repeat(api):
    last = entries(200, 37)
    pages = Pages(api, "/files", [entries(0, 100), entries(100, 100), last, last])
    assert len(read(make_tap(page_size=250))) == 237
    assert pages.pages == [1, 2, 3, 4]


def test_empty_first_page_is_an_empty_stream(api):
    pages = Pages(api, "/templates", [entries(0, 0)])
    assert read(make_tap(), "templates") == []
    assert pages.pages == [1]


def test_missing_entries_is_an_empty_page(api):
    pages = Pages(api, "/files", [entries(0, 100), {"other": 1}])
    assert len(read(make_tap())) == 100
    assert pages.pages == [1, 2]
