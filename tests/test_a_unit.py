"""tap-analytics-a against requests-mock: paths, parents, keys, state and schemas."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import pytest

from tap_analytics_a.tap import TapAnalyticsA
from tap_analytics_common import ApiError
from tests.fixtures.inprocess import FakeTime, prepare, records, sync
from tests.helpers import documented_fields

API = "https://api.example.com"
TOKEN = "https://accounts.example.com/oauth/v2/token"
CONFIG = {"client_id": "cid", "client_secret": "shh-secret", "refresh_token": "rt"}
CHILDREN = {"views": "views", "trash": "views", "users": "users", "folders": "folders"}


def mock_api(requests_mock, workspaces: list[str], extra_fields: bool = False) -> None:
    requests_mock.post(TOKEN, json={"access_token": "tok", "expires_in": 3600})
    user = {"emailId": "ann@example.org", "role": None, "status": True}
    if extra_fields:
        user["favouriteColour"] = "vermilion ✓"
    requests_mock.get(f"{API}/v1/users", json={"data": {"users": [user]}})
    requests_mock.get(
        f"{API}/v1/workspaces",
        json={"data": {"ownedWorkspaces": [{"workspaceId": w, "workspaceName": None} for w in workspaces]}},
    )
    requests_mock.get(f"{API}/v1/orgs", json={"data": {"orgs": []}})
    requests_mock.get(f"{API}/v1/dashboards", json={"data": {"ownedViews": []}})
    for ws in workspaces:
        for kind, key in CHILDREN.items():
            row = {"users": {"emailId": "ann@example.org"}, "folders": {"folderId": f"{ws}-f"}}.get(
                kind, {"viewId": f"{ws}-{kind}"}
            )
            requests_mock.get(f"{API}/v1/workspaces/{requote(ws)}/{kind}", json={"data": {key: [row]}})


def requote(ws: str) -> str:
    from urllib.parse import quote

    return quote(ws, safe="")


def run(capsys, **config):
    tap = prepare(TapAnalyticsA(config=CONFIG | config), FakeTime())
    return sync(tap, capsys)


def test_defaults_are_the_documents_hosts():
    props = TapAnalyticsA.config_jsonschema["properties"]
    assert props["base_url"]["default"] == API
    assert props["token_url"]["default"] == TOKEN
    assert urlsplit(TOKEN).hostname != urlsplit(API).hostname


def test_child_paths_are_filled_from_each_workspace_id(requests_mock, capsys):
    workspaces = ["ws-1", "ws 2/ü"]
    mock_api(requests_mock, workspaces)
    run(capsys)
    paths = {r.path for r in requests_mock.request_history}
    for ws in workspaces:
        for kind in CHILDREN:
            assert f"/v1/workspaces/{requote(ws).lower()}/{kind}".lower() in {p.lower() for p in paths}


def test_every_child_record_carries_its_workspace_id(requests_mock, capsys):
    mock_api(requests_mock, ["ws-1", "ws-2"])
    out = run(capsys)
    for stream in ("views", "trash", "workspace_users", "folders"):
        rows = records(out, stream)
        assert sorted(r["workspaceId"] for r in rows) == ["ws-1", "ws-2"], stream


def test_the_same_user_in_two_workspaces_is_two_distinct_keys(requests_mock, capsys):
    mock_api(requests_mock, ["ws-1", "ws-2"])
    out = run(capsys)
    schema = next(m for m in out if m["type"] == "SCHEMA" and m["stream"] == "workspace_users")
    assert schema["key_properties"] == ["workspaceId", "emailId"]
    keys = {(r["workspaceId"], r["emailId"]) for r in records(out, "workspace_users")}
    assert len(keys) == 2


def test_workspaces_are_fetched_once_per_run(requests_mock, capsys):
    mock_api(requests_mock, ["ws-1", "ws-2", "ws-3"])
    run(capsys)
    listed = [r for r in requests_mock.request_history if r.path == "/v1/workspaces"]
    assert len(listed) == 1


def test_one_token_request_per_run(requests_mock, capsys):
    mock_api(requests_mock, ["ws-1", "ws-2", "ws-3"])
    run(capsys)
    assert sum(r.url == TOKEN for r in requests_mock.request_history) == 1


def max_state_size(out: list[dict]) -> int:
    return max(len(json.dumps(m["value"])) for m in out if m["type"] == "STATE")


def test_state_does_not_grow_with_the_number_of_workspaces(requests_mock, capsys):
    mock_api(requests_mock, [f"ws-{i}" for i in range(3)])
    few = max_state_size(run(capsys))
    requests_mock.reset_mock()
    mock_api(requests_mock, [f"ws-{i}" for i in range(40)])
    many_out = run(capsys)
    assert max_state_size(many_out) == few
    assert len(many_out) < 40 * 4 * 3  # not one STATE per partition repeated


def test_undeclared_fields_are_kept_in_extra(requests_mock, capsys):
    mock_api(requests_mock, ["ws-1"], extra_fields=True)
    (user,) = records(run(capsys), "users")
    assert user["extra"] == {"favouriteColour": "vermilion ✓"}
    assert "favouriteColour" not in user


def test_a_vanished_workspace_is_skipped_with_a_warning(requests_mock, capsys, caplog):
    mock_api(requests_mock, ["ws-1", "ws-2"])
    requests_mock.get(f"{API}/v1/workspaces/ws-1/views", status_code=404)
    with caplog.at_level(logging.WARNING):
        out = run(capsys)
    assert [r["workspaceId"] for r in records(out, "views")] == ["ws-2"]
    assert len(records(out, "trash")) == 2
    assert any("ws-1" in m and "404" in m for m in caplog.messages)


def test_other_client_errors_on_a_child_still_fail(requests_mock, capsys):
    mock_api(requests_mock, ["ws-1"])
    requests_mock.get(f"{API}/v1/workspaces/ws-1/folders", status_code=403)
    with pytest.raises(ApiError, match="403"):
        run(capsys)


@pytest.mark.parametrize(
    ("title", "stream"),
    [
        ("Users", "users"),
        ("Workspaces", "workspaces"),
        ("Organizations", "organizations"),
        ("Views", "views"),
        ("Dashboards", "dashboards"),
        ("Trash", "trash"),
        ("Workspace Users", "workspace_users"),
        ("Folders", "folders"),
    ],
)
def test_schemas_match_the_documented_fields(title, stream):
    fields = documented_fields("tap-analytics-a")[title]
    tap = TapAnalyticsA(config=CONFIG)
    props = tap.streams[stream].schema["properties"]
    expected_extra = {"extra"} | (
        {"workspaceId"} if stream in ("views", "trash", "workspace_users", "folders") else set()
    )
    assert set(props) - set(fields) == expected_extra
    for name, kind in fields.items():
        base, _, nullable = kind.partition(" or ")
        types = props[name]["type"]
        types = [types] if isinstance(types, str) else types
        assert base.strip() in types, (name, types)
        assert ("null" in types) == bool(nullable), (name, types)
        assert "format" not in props[name]  # the document gives no formats
