"""tap-analytics-c against requests-mock: bearer auth, cursor rules, parents, partitions, schemas."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tap_analytics_c.tap import TapAnalyticsC
from tap_analytics_common import AuthError, ConfigError, PaginationError
from tests.fixtures.inprocess import FakeTime, prepare, records, sync
from tests.helpers import api_reference, catalog_with

API = "https://api.example.com"
TOKEN = "static-token-4711"
CONFIG = {"access_token": TOKEN, "space_ids": ["sp-1", "sp-2"]}
SPACE_STREAMS = ("insights_traffic", "content")

TITLES = {
    "users": "Users",
    "organizations": "Organizations",
    "insights_traffic": "Insights Traffic",
    "content": "Content",
    "org_members": "Organization Members",
}


def documented() -> dict[str, tuple[list[str], str]]:
    """Per stream, the fields and the resource's types from the API reference's Fields section."""
    text = api_reference("tap-analytics-c").read_text().split("\n## Fields\n", 1)[1]
    streams = {title: stream for stream, title in TITLES.items()}
    found = {}
    for block in re.split(r"\n### ", text)[1:]:
        lines = block.splitlines()
        fields = next(line for line in lines if line.startswith("- **Fields**:"))
        types = next(line for line in lines if line.startswith("- **Types**:"))
        found[streams[lines[0].strip()]] = (re.findall(r"`(\w+)`", fields), types.split(":", 1)[1].strip())
    return found


DOCUMENTED = documented()
PARENT_KEYS = {"insights_traffic": "space_id", "content": "space_id", "org_members": "organization"}


def pages(requests_mock, url: str, bodies: dict[str | None, dict]) -> None:
    """Serve `bodies[cursor]` at `url`, the first page under None (cursors are lower case)."""

    def answer(request, context):
        cursor = request.qs.get("page", [None])[0]
        if cursor not in bodies:
            context.status_code = 400
            return {"error": f"unknown cursor {cursor}"}
        return bodies[cursor]

    requests_mock.get(url, json=answer)


def mock_api(requests_mock, *, orgs=(), members=None, spaces=(), users=None) -> None:
    """A one-page answer at every endpoint; tests replace the ones they look at."""
    pages(requests_mock, f"{API}/v1/user", {None: {"data": users if users is not None else []}})
    pages(requests_mock, f"{API}/v1/orgs", {None: {"items": [{"id": o} for o in orgs]}})
    for org in orgs:
        rows = (members or {}).get(org, [])
        pages(requests_mock, f"{API}/v1/orgs/{quote(org, safe='')}/members", {None: {"items": rows}})
    for space in spaces:
        pages(requests_mock, f"{API}/v1/spaces/{space}/insights/traffic", {None: {"views": []}})
        pages(requests_mock, f"{API}/v1/spaces/{space}/content", {None: {"pages": []}})


def make_tap(catalog=None, **config) -> TapAnalyticsC:
    merged = {k: v for k, v in (CONFIG | config).items() if v is not None}
    return prepare(TapAnalyticsC(config=merged, catalog=catalog), FakeTime())  # type: ignore[return-value]


def only(*streams: str, **config) -> TapAnalyticsC:
    """A tap with just `streams` selected."""
    all_streams = TapAnalyticsC(config=CONFIG).streams
    catalog = TapAnalyticsC(config=CONFIG).catalog_dict
    return make_tap(catalog=catalog_with(catalog, deselect=set(all_streams) - set(streams)), **config)


def gets(requests_mock, path: str | None = None) -> list:
    return [r for r in requests_mock.request_history if path is None or r.path == path.lower()]


# -- settings and auth ---------------------------------------------------------------


def test_settings_follow_the_design():
    props = TapAnalyticsC.config_jsonschema["properties"]
    assert props["base_url"]["default"] == API
    assert props["access_token"].get("secret") is True
    assert "array" in props["space_ids"]["type"]
    assert props["space_ids"]["items"]["type"] in ("string", ["string"])
    assert "page_size" not in props  # the document names no page-size parameter
    assert "access_token" in TapAnalyticsC.config_jsonschema["required"]
    assert "space_ids" not in TapAnalyticsC.config_jsonschema.get("required", [])


def test_every_request_carries_the_static_bearer_token(requests_mock, capsys):
    mock_api(requests_mock, orgs=["o1"], spaces=["sp-1", "sp-2"], users=[{"id": "u1"}])
    sync(make_tap(), capsys)
    assert len(gets(requests_mock)) == 1 + 1 + 1 + 2 * 2
    for request in gets(requests_mock):
        assert request.method == "GET"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_rejected_token_fails_at_once_without_a_refresh(requests_mock, capsys):
    requests_mock.get(f"{API}/v1/user", status_code=401, json={"error": "invalid_token"})
    with pytest.raises(AuthError, match="access_token") as raised:
        sync(only("users"), capsys)
    assert TOKEN not in str(raised.value)
    assert len(gets(requests_mock)) == 1


# -- the cursor rules ----------------------------------------------------------------


def test_the_first_page_has_no_query_and_the_cursor_goes_back_as_page(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/user",
        {
            None: {"data": [{"id": "u1"}], "next": {"page": "c-1"}},
            "c-1": {"data": [{"id": "u2"}], "next": None},
        },
    )
    out = sync(only("users"), capsys)
    assert [r["id"] for r in records(out, "users")] == ["u1", "u2"]
    assert [r.qs for r in gets(requests_mock)] == [{}, {"page": ["c-1"]}]


def test_null_next_ends_the_stream(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/orgs",
        {
            None: {"items": [{"id": "o1"}], "next": {"page": "c-1"}},
            "c-1": {"items": [{"id": "o2"}], "next": None},
        },
    )
    out = sync(only("organizations"), capsys)
    assert [r["id"] for r in records(out, "organizations")] == ["o1", "o2"]
    assert len(gets(requests_mock)) == 2


def test_absent_next_ends_the_stream(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/orgs",
        {
            None: {"items": [{"id": "o1"}], "next": {"page": "c-1"}},
            "c-1": {"items": [{"id": "o2"}]},
        },
    )
    out = sync(only("organizations"), capsys)
    assert [r["id"] for r in records(out, "organizations")] == ["o1", "o2"]
    assert len(gets(requests_mock)) == 2


def test_a_next_object_without_a_page_ends_the_stream(requests_mock, capsys):
    pages(requests_mock, f"{API}/v1/orgs", {None: {"items": [{"id": "o1"}], "next": {"page": None}}})
    out = sync(only("organizations"), capsys)
    assert len(records(out, "organizations")) == 1
    assert len(gets(requests_mock)) == 1


def test_an_empty_page_that_still_carries_a_cursor_is_not_the_end(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/user",
        {
            None: {"data": [{"id": "u1"}], "next": {"page": "c-1"}},
            "c-1": {"data": [], "next": {"page": "c-2"}},
            "c-2": {"data": [], "next": {"page": "c-3"}},
            "c-3": {"data": [{"id": "u2"}], "next": None},
        },
    )
    out = sync(only("users"), capsys)
    assert [r["id"] for r in records(out, "users")] == ["u1", "u2"]
    assert len(gets(requests_mock)) == 4


def test_an_empty_last_page_ends_the_stream(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/user",
        {None: {"data": [{"id": "u1"}], "next": {"page": "c-1"}}, "c-1": {"data": []}},
    )
    out = sync(only("users"), capsys)
    assert [r["id"] for r in records(out, "users")] == ["u1"]
    assert len(gets(requests_mock)) == 2


def test_a_repeated_cursor_is_an_error_not_a_loop(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/user",
        {
            None: {"data": [{"id": "u1"}], "next": {"page": "c-1"}},
            "c-1": {"data": [{"id": "u2"}], "next": {"page": "c-1"}},
        },
    )
    with pytest.raises(PaginationError, match="c-1"):
        sync(only("users"), capsys)
    assert len(gets(requests_mock)) == 2


def test_an_absolute_next_url_is_followed_as_is(requests_mock, capsys):
    pages(
        requests_mock,
        f"{API}/v1/user",
        {
            None: {"data": [{"id": "u1"}], "next": {"page": f"{API}/v1/user?page=c-1"}},
            "c-1": {"data": [{"id": "u2"}]},
        },
    )
    out = sync(only("users"), capsys)
    assert len(records(out, "users")) == 2
    assert gets(requests_mock)[1].qs == {"page": ["c-1"]}


# -- records ------------------------------------------------------------------------


def test_users_data_may_be_a_list_or_one_object(requests_mock, capsys):
    pages(requests_mock, f"{API}/v1/user", {None: {"data": {"id": "me", "displayName": "Zoë"}}})
    out = sync(only("users"), capsys)
    assert [r["id"] for r in records(out, "users")] == ["me"]


def test_content_records_are_the_top_level_pages_with_nested_pages_inside(requests_mock, capsys):
    nested = [{"id": "p1-a", "title": "Child", "pages": [{"id": "p1-a-i", "pages": []}]}]
    pages(
        requests_mock,
        f"{API}/v1/spaces/sp-1/content",
        {None: {"pages": [{"id": "p1", "type": "group", "pages": nested}, {"id": "p2", "pages": []}]}},
    )
    out = sync(only("content", space_ids=["sp-1"]), capsys)
    rows = records(out, "content")
    assert [r["id"] for r in rows] == ["p1", "p2"]
    assert rows[0]["pages"] == nested
    assert all(r["space_id"] == "sp-1" for r in rows)


def test_undeclared_fields_are_kept_in_extra(requests_mock, capsys):
    pages(requests_mock, f"{API}/v1/user", {None: {"data": [{"id": "u1", "locale": "fr", "extra": 1}]}})
    (user,) = records(sync(only("users"), capsys), "users")
    assert user["extra"] == {"locale": "fr", "extra": 1}
    assert "locale" not in user


# -- organizations and their members -------------------------------------------------------


def test_members_are_read_per_organization_id_and_carry_it(requests_mock, capsys):
    orgs = ["org-1", "org 2/ü"]
    member = {"id": "m1", "role": "admin", "user": {"id": "m1"}}
    mock_api(requests_mock, orgs=orgs, members={o: [member] for o in orgs})
    out = sync(only("organizations", "org_members"), capsys)
    assert len(gets(requests_mock, "/v1/orgs")) == 1  # the parent is read once
    for org in orgs:
        assert len(gets(requests_mock, f"/v1/orgs/{quote(org, safe='')}/members")) == 1
    rows = records(out, "org_members")
    assert sorted(r["organization"] for r in rows) == sorted(orgs)
    schema = next(m for m in out if m["type"] == "SCHEMA" and m["stream"] == "org_members")
    assert schema["key_properties"] == ["organization", "id"]
    assert len({(r["organization"], r["id"]) for r in rows}) == 2  # one person, two keys


def test_members_are_paged_by_cursor_too(requests_mock, capsys):
    mock_api(requests_mock, orgs=["o1"])
    pages(
        requests_mock,
        f"{API}/v1/orgs/o1/members",
        {
            None: {"items": [{"id": "m1"}], "next": {"page": "m-1"}},
            "m-1": {"items": [], "next": {"page": "m-2"}},
            "m-2": {"items": [{"id": "m2"}], "next": None},
        },
    )
    out = sync(only("org_members"), capsys)
    assert [r["id"] for r in records(out, "org_members")] == ["m1", "m2"]
    assert records(out, "organizations") == []  # read for its ids, not emitted


def test_state_stays_small_whatever_the_number_of_parents(requests_mock, capsys):
    def biggest_state(n: int) -> int:
        requests_mock.reset_mock()
        orgs = [f"o{i}" for i in range(n)]
        spaces = [f"sp-{i}" for i in range(n)]
        mock_api(requests_mock, orgs=orgs, spaces=spaces, members={o: [{"id": "m"}] for o in orgs})
        out = sync(make_tap(space_ids=spaces), capsys)
        return max(len(json.dumps(m["value"])) for m in out if m["type"] == "STATE")

    assert biggest_state(3) == biggest_state(30)


# -- spaces ---------------------------------------------------------------------------


def test_space_streams_run_once_per_configured_space(requests_mock, capsys):
    mock_api(requests_mock, spaces=["sp-1", "sp-2"])
    for space in ("sp-1", "sp-2"):
        pages(
            requests_mock,
            f"{API}/v1/spaces/{space}/insights/traffic",
            {None: {"views": [{"timestamp": "2024-01-01T00:00:00Z", "count": 3}]}},
        )
    out = sync(only(*SPACE_STREAMS, space_ids=["sp-1", "sp-2", "sp-1"]), capsys)
    rows = records(out, "insights_traffic")
    assert sorted(r["space_id"] for r in rows) == ["sp-1", "sp-2"]  # the repeated id is read once
    assert len({(r["space_id"], r["timestamp"]) for r in rows}) == 2  # same day, two keys
    for space in ("sp-1", "sp-2"):
        assert len(gets(requests_mock, f"/v1/spaces/{space}/insights/traffic")) == 1
        assert len(gets(requests_mock, f"/v1/spaces/{space}/content")) == 1


@pytest.mark.parametrize("space_ids", [None, []])
@pytest.mark.parametrize("selected", [("insights_traffic",), ("content",), ("users", "content")])
def test_space_streams_without_space_ids_fail_before_any_request(requests_mock, capsys, space_ids, selected):
    mock_api(requests_mock, orgs=["o1"], users=[{"id": "u1"}])
    tap = only(*selected, space_ids=space_ids)
    with pytest.raises(ConfigError, match="space_ids"):
        sync(tap, capsys)
    assert gets(requests_mock) == []


def test_without_space_ids_the_other_streams_still_sync(requests_mock, capsys):
    mock_api(requests_mock, orgs=["o1"], members={"o1": [{"id": "m1"}]}, users=[{"id": "u1"}])
    out = sync(only("users", "organizations", "org_members", space_ids=None), capsys)
    assert {m["stream"] for m in out if m["type"] == "RECORD"} == {"users", "organizations", "org_members"}


def test_discovery_needs_no_space_ids():
    catalog = TapAnalyticsC(config={"access_token": TOKEN}).catalog_dict
    assert {s["tap_stream_id"] for s in catalog["streams"]} == set(TITLES)


# -- schemas -----------------------------------------------------------------------------

JSON_TYPES = {
    "String": "string",
    "Object": "object",
    "Array": "array",
    "Boolean": "boolean",
    "Number": "number",
}


def test_the_reference_documents_every_stream():
    assert set(DOCUMENTED) == set(TITLES)
    assert all(fields and types for fields, types in DOCUMENTED.values())


@pytest.mark.parametrize("stream", list(DOCUMENTED))
def test_schemas_declare_the_documented_fields(stream):
    fields, types = DOCUMENTED[stream]
    allowed = {JSON_TYPES[name] for name in types.split(", ") if name in JSON_TYPES} | {"null"}
    tap = TapAnalyticsC(config=CONFIG)
    schema = tap.streams[stream].schema
    props = schema["properties"]
    parent = {PARENT_KEYS[stream]} if stream in PARENT_KEYS else set()
    assert set(props) == set(fields) | {"extra"} | parent
    key = set(tap.streams[stream].primary_keys or [])
    assert key <= set(schema["required"])
    for name, prop in props.items():
        kinds = [prop["type"]] if isinstance(prop["type"], str) else prop["type"]
        assert ("null" in kinds) == (name not in key | parent), (stream, name, kinds)
        assert "format" not in prop  # the document gives no formats
        if name in fields:
            # organizations' `urls` is plainly an object, though the document lists no Object there
            plain = {"object"} if name == "urls" else set()
            assert set(kinds) <= allowed | plain, (stream, name, kinds)
