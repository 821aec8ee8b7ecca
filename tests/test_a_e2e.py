"""tap-analytics-a end to end: Meltano into PostgreSQL and DuckDB, and standalone with catalogs."""

from __future__ import annotations

import pytest

from tap_analytics_a.tap import TapAnalyticsA
from tests.helpers import (
    assert_second_load_upserts,
    duckdb_counts,
    meltano_load,
    pg_counts,
)

TAP = "tap-analytics-a"
SCHEMA = "tap_analytics_a"
pytestmark = [pytest.mark.postgres, pytest.mark.meltano]


def test_meltano_run_loads_every_row_and_a_second_run_upserts(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    expected = sandbox.apis["a"].counts()
    assert_second_load_upserts(pg, SCHEMA, TAP, meltano_env(sandbox, "a"), expected)
    assert pg_counts(pg, SCHEMA, expected, live_only=True) == expected


def test_a_deleted_workspace_is_marked_deleted_with_its_children(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    api = sandbox.apis["a"]
    env = meltano_env(sandbox, "a")
    meltano_load(TAP, "target-postgres", env)
    victim = next(ws for ws in api.control("workspace_ids", {}) if any(api.children[ws].values()))
    gone = api.control("delete_workspace", {"workspaceId": victim})["children"]
    meltano_load(TAP, "target-postgres", env)
    deleted = pg.execute(
        f'select "workspaceId" from {SCHEMA}.workspaces where _sdc_deleted_at is not null'
    ).fetchall()
    assert deleted == [(victim,)]
    for stream, kind in (
        ("views", "views"),
        ("trash", "trash"),
        ("workspace_users", "users"),
        ("folders", "folders"),
    ):
        rows = pg.execute(
            f'select _sdc_deleted_at is not null, count(*) from {SCHEMA}."{stream}" '
            f'where "workspaceId" = %s group by 1',
            (victim,),
        ).fetchall()
        assert dict(rows).get(True, 0) == len(gone[kind]), stream
        assert dict(rows).get(False, 0) == 0, stream
    assert pg_counts(pg, SCHEMA, api.counts(), live_only=True) == api.counts()


def test_fields_beyond_the_document_arrive_in_postgres(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    declared = set(TapAnalyticsA(config=sandbox.tap_config("a")).streams["users"].schema["properties"])
    undeclared = {k for user in sandbox.apis["a"].users for k in user} - declared
    assert undeclared, "the sandbox should send a field the document does not list"
    meltano_load(TAP, "target-postgres", meltano_env(sandbox, "a"))
    for field in undeclared:
        missing = pg.execute(
            f"select count(*) from {SCHEMA}.users where not (extra ? %s)", (field,)
        ).fetchone()[0]
        assert missing == 0, field


def test_the_embedded_default_loader_gets_the_same_counts(sandbox, meltano_env):
    env = meltano_env(sandbox, "a")
    meltano_load(TAP, "target-duckdb", env)
    expected = sandbox.apis["a"].counts()
    assert duckdb_counts(env["TARGET_DUCKDB_FILEPATH"], SCHEMA, expected) == expected
