"""tap-analytics-d against requests-mock: auth, both paginations, incremental jobs, exact values, schemas."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tap_analytics_common import PaginationError, ResponseError
from tap_analytics_d.streams import JobsStream, parse_timestamp
from tap_analytics_d.tap import TapAnalyticsD
from tests.fixtures.inprocess import FakeTime, prepare, records, sync
from tests.helpers import documented_fields

API = "https://api.example.com"
TOKEN = "https://api.example.com/token"
# One request at a time: the mocks answer in call order, and these tests pin the requests a
# sequential run makes (reading ahead is tested in test_engine.py).
CONFIG = {"client_id": "cid", "client_secret": "shh-secret", "max_concurrent_requests": 1}
CURSOR_STREAMS = {"connections": "connectionId", "workspaces": "workspaceId"}


def job(n: int, updated: str = "2025-01-01T00:00:00Z", **extra) -> dict:
    return {"jobId": n, "lastUpdatedAt": updated, "status": "succeeded", **extra}


def mock_api(requests_mock, *, jobs: list[list[dict]] | None = None, cursor_pages=None) -> None:
    """Token, job pages by offset (each page a list) and one page per cursor stream."""
    requests_mock.post(TOKEN, json={"access_token": "tok", "expires_in": 3600})
    pages = jobs if jobs is not None else [[job(1)]]
    offsets, seen = [], 0
    for page in pages:
        offsets.append(seen)
        seen += len(page)
    responses = [{"json": {"data": page}} for page in pages] + [{"json": {"data": []}}]
    requests_mock.get(f"{API}/v1/jobs", responses)
    for stream, key in CURSOR_STREAMS.items():
        body = (cursor_pages or {}).get(stream) or [{"data": [{key: f"{stream}-1"}], "next": None}]
        requests_mock.get(f"{API}/v1/{stream}", [{"json": b} for b in body])


def run(capsys, state=None, catalog=None, **config):
    tap = TapAnalyticsD(config=CONFIG | config, state=state, catalog=catalog)
    return sync(prepare(tap, FakeTime()), capsys)


def only(stream: str) -> dict:
    """A catalog that selects one stream."""
    catalog = TapAnalyticsD(config=CONFIG).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == stream
    return catalog


def requests_to(requests_mock, path: str) -> list:
    return [r for r in requests_mock.request_history if urlsplit(r.url).path == path]


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


# -- settings and auth --------------------------------------------------------------


def test_defaults_are_the_documents():
    props = TapAnalyticsD.config_jsonschema["properties"]
    assert props["base_url"]["default"] == API
    assert props["token_url"]["default"] == TOKEN
    assert props["page_size"]["default"] == 100
    assert props["start_date"]["format"] == "date-time"
    assert "refresh_token" not in props
    assert props["client_secret"]["secret"] is True


def test_client_credentials_grant_one_token_per_run(requests_mock, capsys):
    mock_api(requests_mock)
    run(capsys)
    tokens = [r for r in requests_mock.request_history if r.url == TOKEN]
    assert len(tokens) == 1
    form = parse_qs(tokens[0].text)
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["shh-secret"],
    }
    data = [r for r in requests_mock.request_history if r.url != TOKEN]
    assert data
    assert all(r.headers["Authorization"] == "Bearer tok" for r in data)


# -- jobs: offset pagination ----------------------------------------------------------


def pages_of(*sizes: int) -> list[list[dict]]:
    first = 0
    out = []
    for size in sizes:
        out.append([job(first + i) for i in range(size)])
        first += size
    return out


def test_jobs_offset_and_limit_and_a_short_page_ends(requests_mock, capsys):
    mock_api(requests_mock, jobs=pages_of(100, 100, 37))
    out = run(capsys, catalog=only("jobs"))
    sent = [query(r) for r in requests_to(requests_mock, "/v1/jobs")]
    assert sent == [{"offset": [str(o)], "limit": ["100"]} for o in (0, 100, 200)]
    assert len(records(out, "jobs")) == 237


def test_jobs_end_on_an_empty_page(requests_mock, capsys):
    mock_api(requests_mock, jobs=pages_of(100, 100))
    out = run(capsys, catalog=only("jobs"))
    assert len(requests_to(requests_mock, "/v1/jobs")) == 3  # the third page is empty
    assert len(records(out, "jobs")) == 200


def test_jobs_end_when_the_total_is_reached(requests_mock, capsys):
    mock_api(requests_mock)
    requests_mock.get(
        f"{API}/v1/jobs",
        [{"json": {"data": page, "total": 200}} for page in pages_of(100, 100)]
        + [{"json": {"data": [job(999)], "total": 200}}],
    )
    out = run(capsys, catalog=only("jobs"))
    assert len(requests_to(requests_mock, "/v1/jobs")) == 2
    assert len(records(out, "jobs")) == 200


def test_a_limit_above_the_documented_page_size_ignores_short_pages(requests_mock, capsys):
    # The server caps limit=250 at 100: a short page is then no proof of the end.
    mock_api(requests_mock, jobs=pages_of(100, 100, 60))
    out = run(capsys, catalog=only("jobs"), page_size=250)
    sent = [query(r) for r in requests_to(requests_mock, "/v1/jobs")]
    assert [q["offset"] for q in sent] == [["0"], ["100"], ["200"], ["260"]]
    assert all(q["limit"] == ["250"] for q in sent)
    assert len(records(out, "jobs")) == 260


def test_page_size_sets_the_limit(requests_mock, capsys):
    mock_api(requests_mock, jobs=pages_of(40, 40, 3))
    out = run(capsys, catalog=only("jobs"), page_size=40)
    sent = [query(r) for r in requests_to(requests_mock, "/v1/jobs")]
    assert sent == [{"offset": [str(o)], "limit": ["40"]} for o in (0, 40, 80)]
    assert len(records(out, "jobs")) == 83


# -- connections and workspaces: the `next` cursor ---------------------------------------


@pytest.mark.parametrize("stream", list(CURSOR_STREAMS))
def test_an_opaque_next_token_is_sent_back_as_next(requests_mock, capsys, stream):
    key = CURSOR_STREAMS[stream]
    pages = [
        {"data": [{key: "a"}], "next": "tok/1+="},
        {"data": [{key: "b"}], "next": "tok-2"},
        {"data": [{key: "c"}], "next": None},
    ]
    mock_api(requests_mock, cursor_pages={stream: pages})
    out = run(capsys, catalog=only(stream))
    sent = [query(r) for r in requests_to(requests_mock, f"/v1/{stream}")]
    assert sent == [{}, {"next": ["tok/1+="]}, {"next": ["tok-2"]}]
    assert [r[key] for r in records(out, stream)] == ["a", "b", "c"]


@pytest.mark.parametrize("stream", list(CURSOR_STREAMS))
def test_an_absolute_next_url_is_followed_as_is(requests_mock, capsys, stream):
    key = CURSOR_STREAMS[stream]
    second = f"{API}/v1/{stream}?next=p2&pageSize=10"
    third = f"{API}/v1/{stream}?next=p3&pageSize=10"
    pages = [
        {"data": [{key: "a"}], "next": second},
        {"data": [{key: "b"}], "next": third},
        {"data": [{key: "c"}]},
    ]
    mock_api(requests_mock, cursor_pages={stream: pages})
    out = run(capsys, catalog=only(stream))
    urls = [r.url for r in requests_to(requests_mock, f"/v1/{stream}")]
    assert urls == [f"{API}/v1/{stream}", second, third]  # no parameter added or repeated
    assert [r[key] for r in records(out, stream)] == ["a", "b", "c"]


@pytest.mark.parametrize("end", [{"next": None}, {}, {"next": ""}], ids=["null", "absent", "empty"])
def test_the_cursor_stream_ends_when_next_is_null_absent_or_empty(requests_mock, capsys, end):
    pages = [{"data": [{"connectionId": "a"}], "next": "t1"}, {"data": [{"connectionId": "b"}], **end}]
    mock_api(requests_mock, cursor_pages={"connections": pages})
    out = run(capsys, catalog=only("connections"))
    assert len(requests_to(requests_mock, "/v1/connections")) == 2
    assert len(records(out, "connections")) == 2


def test_an_empty_page_with_a_cursor_is_not_the_end(requests_mock, capsys):
    pages = [
        {"data": [{"workspaceId": "a"}], "next": "t1"},
        {"data": [], "next": "t2"},
        {"data": [{"workspaceId": "b"}], "next": None},
    ]
    mock_api(requests_mock, cursor_pages={"workspaces": pages})
    out = run(capsys, catalog=only("workspaces"))
    assert [r["workspaceId"] for r in records(out, "workspaces")] == ["a", "b"]


def test_a_repeating_cursor_is_an_error(requests_mock, capsys):
    pages = [
        {"data": [{"connectionId": "a"}], "next": "same"},
        {"data": [{"connectionId": "b"}], "next": "same"},
    ]
    mock_api(requests_mock, cursor_pages={"connections": pages})
    with pytest.raises(PaginationError, match="connections"):
        run(capsys, catalog=only("connections"))


# -- jobs: incremental on lastUpdatedAt -------------------------------------------------

UNSORTED = [
    job(1, "2025-03-01T10:00:00Z"),
    job(2, "2025-05-01T10:00:00.500Z"),  # the newest, in another format
    job(3, "2025-01-01T00:00:00Z"),
    job(4, "2025-05-01T11:00:00+02:00"),  # 09:00Z: older than job 2 though it sorts later as text
    job(5, "2025-03-01T10:00:00Z"),
]


def bookmark(out: list[dict]) -> dict:
    return [m for m in out if m["type"] == "STATE"][-1]["value"]["bookmarks"]["jobs"]


def jobs_state(value: str) -> dict:
    return {"bookmarks": {"jobs": {"replication_key": "lastUpdatedAt", "replication_key_value": value}}}


def test_the_final_bookmark_is_the_largest_value_seen(requests_mock, capsys):
    mock_api(requests_mock, jobs=[UNSORTED])
    out = run(capsys, catalog=only("jobs"))
    assert len(records(out, "jobs")) == 5
    # Kept in one canonical UTC form, so that text order is time order across runs.
    assert bookmark(out) == {
        "replication_key": "lastUpdatedAt",
        "replication_key_value": "2025-05-01T10:00:00.500000+00:00",
    }


def test_only_jobs_updated_at_or_after_the_bookmark_are_emitted(requests_mock, capsys):
    mock_api(requests_mock, jobs=[UNSORTED])
    out = run(capsys, catalog=only("jobs"), state=jobs_state("2025-03-01T10:00:00Z"))
    # Inclusive: jobs at the bookmark itself come again (at least once, never lost).
    assert sorted(r["jobId"] for r in records(out, "jobs")) == [1, 2, 4, 5]


def test_the_bookmark_is_compared_as_an_instant_not_as_text(requests_mock, capsys):
    mock_api(requests_mock, jobs=[UNSORTED])
    out = run(capsys, catalog=only("jobs"), state=jobs_state("2025-05-01T09:30:00+00:00"))
    assert [r["jobId"] for r in records(out, "jobs")] == [2]  # job 4 is 09:00Z


def test_start_date_bounds_the_first_run(requests_mock, capsys):
    mock_api(requests_mock, jobs=[UNSORTED])
    out = run(capsys, catalog=only("jobs"), start_date="2025-02-01T00:00:00Z")
    assert sorted(r["jobId"] for r in records(out, "jobs")) == [1, 2, 4, 5]


def test_the_bookmark_wins_over_an_older_start_date(requests_mock, capsys):
    mock_api(requests_mock, jobs=[UNSORTED])
    out = run(
        capsys,
        catalog=only("jobs"),
        start_date="2024-01-01T00:00:00Z",
        state=jobs_state("2025-05-01T00:00:00Z"),
    )
    assert sorted(r["jobId"] for r in records(out, "jobs")) == [2, 4]


def test_a_run_with_nothing_new_keeps_the_bookmark(requests_mock, capsys):
    mock_api(requests_mock, jobs=[UNSORTED])
    out = run(capsys, catalog=only("jobs"), state=jobs_state("2025-06-01T00:00:00Z"))
    assert records(out, "jobs") == []
    assert bookmark(out)["replication_key_value"] == "2025-06-01T00:00:00Z"


def test_mid_run_state_never_moves_the_bookmark(requests_mock, capsys, monkeypatch):
    # Unordered: a mid-run maximum may lie past jobs not read yet, so it stays a progress marker.
    monkeypatch.setattr(JobsStream, "STATE_MSG_FREQUENCY", 2)
    mock_api(requests_mock, jobs=[UNSORTED[0:2], UNSORTED[2:4], UNSORTED[4:]])
    start = "2024-12-01T00:00:00Z"
    out = run(capsys, catalog=only("jobs"), state=jobs_state(start), page_size=2)
    states = [m["value"]["bookmarks"]["jobs"] for m in out if m["type"] == "STATE"]
    assert len(states) >= 3
    for mid in states[:-1]:
        assert mid.get("replication_key_value", start) == start
    assert any("progress_markers" in mid for mid in states[:-1])
    assert parse_timestamp(states[-1]["replication_key_value"]) == parse_timestamp(
        UNSORTED[1]["lastUpdatedAt"]
    )
    assert "progress_markers" not in states[-1]


def test_no_activate_version_for_the_incremental_stream(requests_mock, capsys):
    mock_api(requests_mock)
    out = run(capsys)
    versions = {m["stream"] for m in out if m["type"] == "ACTIVATE_VERSION"}
    assert versions == set(CURSOR_STREAMS)


def test_a_job_without_a_readable_lastupdatedat_fails_clearly(requests_mock, capsys):
    mock_api(requests_mock, jobs=[[job(1), job(7, "last tuesday")]])
    with pytest.raises(ResponseError, match=r"stream jobs: job 7 .*'last tuesday'"):
        run(capsys, catalog=only("jobs"), start_date="2024-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2025-05-01T10:00:00Z", "2025-05-01T10:00:00+00:00"),
        ("2025-05-01T10:00:00.5Z", "2025-05-01T10:00:00.500000+00:00"),
        ("2025-05-01T12:00:00+02:00", "2025-05-01T12:00:00+02:00"),
        ("2025-05-01T10:00:00", "2025-05-01T10:00:00+00:00"),
    ],
)
def test_parse_timestamp(text, iso):
    assert parse_timestamp(text).isoformat() == iso


# -- values as the API sends them ---------------------------------------------------------


def test_big_integers_and_numbers_arrive_exactly(requests_mock, capsys):
    requests_mock.post(TOKEN, json={"access_token": "tok", "expires_in": 3600})
    body = (
        '{"data": [{"jobId": 123456789012345678901, "lastUpdatedAt": "2025-01-01T00:00:00Z", '
        '"bytesSynced": 9007199254740993, "rowsSynced": 1.5, "status": null}]}'
    )
    requests_mock.get(f"{API}/v1/jobs", [{"text": body}, {"json": {"data": []}}])
    capsys.readouterr()
    tap = prepare(TapAnalyticsD(config=CONFIG, catalog=only("jobs")), FakeTime())
    tap.sync_all()
    raw = capsys.readouterr().out
    assert '"bytesSynced":9007199254740993' in raw.replace(" ", "")
    assert '"jobId":123456789012345678901' in raw.replace(" ", "")
    (record,) = records([json.loads(line) for line in raw.splitlines()], "jobs")
    assert record["bytesSynced"] == 2**53 + 1
    assert record["rowsSynced"] == 1.5
    assert record["status"] is None


def test_undeclared_fields_are_kept_in_extra(requests_mock, capsys):
    mock_api(requests_mock, jobs=[[job(1, attempts=3, detail={"ü": [1, 2]})]])
    (record,) = records(run(capsys, catalog=only("jobs")), "jobs")
    assert record["extra"] == {"attempts": 3, "detail": {"ü": [1, 2]}}


def test_nested_objects_and_arrays_pass_through_unchanged(requests_mock, capsys):
    connection = {
        "connectionId": "c1",
        "schedule": {"scheduleType": "cron", "cronExpression": "0 0 * * * ?", "basicTiming": None},
        "tags": [{"tagId": "t1", "name": "Café ☕"}, {"tagId": "t2", "name": "北区"}],
        "createdAt": 1714000000.25,
    }
    mock_api(requests_mock, cursor_pages={"connections": [{"data": [connection], "next": None}]})
    (record,) = records(run(capsys, catalog=only("connections")), "connections")
    assert {k: record[k] for k in connection} == connection


# -- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "stream"), [("Jobs", "jobs"), ("Connections", "connections"), ("Workspaces", "workspaces")]
)
def test_schemas_match_the_documented_fields(title, stream):
    fields = documented_fields("tap-analytics-d")[title]
    tap = TapAnalyticsD(config=CONFIG)
    props = tap.streams[stream].schema["properties"]
    assert set(props) - set(fields) == {"extra"}
    assert set(fields) <= set(props)
    for name, kind in fields.items():
        base, _, nullable = kind.partition(" or ")
        types = props[name]["type"]
        types = [types] if isinstance(types, str) else types
        # jobId is documented as number; its values are whole numbers, declared integer.
        assert base.strip() in types or (name == "jobId" and types == ["integer"]), (name, types)
        assert ("null" in types) == bool(nullable), (name, types)
        if name == "lastUpdatedAt":
            assert props[name]["format"] == "date-time"  # the replication key, compared as instants
        else:
            assert "format" not in props[name], name


def test_keys_and_replication_metadata():
    tap = TapAnalyticsD(config=CONFIG)
    keys = {name: tuple(s.primary_keys or ()) for name, s in tap.streams.items()}
    assert keys == {"jobs": ("jobId",), "connections": ("connectionId",), "workspaces": ("workspaceId",)}
    assert tap.streams["jobs"].replication_key == "lastUpdatedAt"
    assert tap.streams["jobs"].is_sorted is False
    assert tap.streams["connections"].replication_key is None
    for name, key in keys.items():
        assert tap.streams[name].schema["required"] == list(key)[:1] + (
            ["lastUpdatedAt"] if name == "jobs" else []
        )
