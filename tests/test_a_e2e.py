"""tap-analytics-a end to end: Meltano into PostgreSQL and DuckDB, and standalone with catalogs."""

from __future__ import annotations

import duckdb
import pytest

from tap_analytics_a.tap import TapAnalyticsA
from tests.helpers import catalog_with, meltano, run_tap

SCHEMA = "tap_analytics_a"
pytestmark = [pytest.mark.postgres, pytest.mark.meltano]


def pg_counts(pg, streams, *, live_only: bool = False) -> dict[str, int]:
    where = " where _sdc_deleted_at is null" if live_only else ""
    return {s: pg.execute(f'select count(*) from {SCHEMA}."{s}"{where}').fetchone()[0] for s in streams}


def load(env) -> None:
    result = meltano("run", "tap-analytics-a", "target-postgres", env=env)
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture
def fresh_schema(pg):
    pg.execute(f"drop schema if exists {SCHEMA} cascade")
    return pg


def test_meltano_run_loads_every_row_and_a_second_run_upserts(sandbox, fresh_schema, meltano_env):
    expected = sandbox.apis["a"].counts()
    env = meltano_env(sandbox, "a")
    load(env)
    assert pg_counts(fresh_schema, expected) == expected
    load(env)
    assert pg_counts(fresh_schema, expected) == expected
    assert pg_counts(fresh_schema, expected, live_only=True) == expected


def test_a_deleted_workspace_is_marked_deleted_with_its_children(sandbox, fresh_schema, meltano_env):
    api = sandbox.apis["a"]
    env = meltano_env(sandbox, "a")
    load(env)
    victim = next(ws for ws in api.control("workspace_ids", {}) if any(api.children[ws].values()))
    gone = api.control("delete_workspace", {"workspaceId": victim})["children"]
    load(env)
    deleted = fresh_schema.execute(
        f'select "workspaceId" from {SCHEMA}.workspaces where _sdc_deleted_at is not null'
    ).fetchall()
    assert deleted == [(victim,)]
    for stream, kind in (
        ("views", "views"),
        ("trash", "trash"),
        ("workspace_users", "users"),
        ("folders", "folders"),
    ):
        rows = fresh_schema.execute(
            f'select _sdc_deleted_at is not null, count(*) from {SCHEMA}."{stream}" '
            f'where "workspaceId" = %s group by 1',
            (victim,),
        ).fetchall()
        assert dict(rows).get(True, 0) == len(gone[kind]), stream
        assert dict(rows).get(False, 0) == 0, stream
    assert pg_counts(fresh_schema, api.counts(), live_only=True) == api.counts()


def test_fields_beyond_the_document_arrive_in_postgres(sandbox, fresh_schema, meltano_env):
    declared = set(TapAnalyticsA(config=sandbox.tap_config("a")).streams["users"].schema["properties"])
    undeclared = {k for user in sandbox.apis["a"].users for k in user} - declared
    assert undeclared, "the sandbox should send a field the document does not list"
    load(meltano_env(sandbox, "a"))
    for field in undeclared:
        missing = fresh_schema.execute(
            f"select count(*) from {SCHEMA}.users where not (extra ? %s)", (field,)
        ).fetchone()[0]
        assert missing == 0, field


def test_the_embedded_default_loader_gets_the_same_counts(sandbox, meltano_env):
    env = meltano_env(sandbox, "a")
    result = meltano("run", "tap-analytics-a", "target-duckdb", env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    con = duckdb.connect(env["TARGET_DUCKDB_FILEPATH"], read_only=True)
    expected = sandbox.apis["a"].counts()
    got = {s: con.execute(f'select count(*) from {SCHEMA}."{s}"').fetchone()[0] for s in expected}
    assert got == expected


def test_discover_then_catalog_with_a_deselected_stream(sandbox):
    cfg = sandbox.tap_config("a")
    discovered = run_tap("tap-analytics-a", cfg, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    import json

    catalog = catalog_with(json.loads(discovered.stdout), deselect=["trash"])
    run = run_tap("tap-analytics-a", cfg, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [m for m in run.messages if m.get("stream") == "trash"] == []
    expected = {k: v for k, v in sandbox.apis["a"].counts().items() if v and k != "trash"}
    assert run.counts() == expected
    assert not any("/trash" in key for key in sandbox.stats)
