"""End to end: Meltano runs tap-analytics-b into PostgreSQL and DuckDB; standalone with a catalog."""

from __future__ import annotations

import json

import pytest

from tests.helpers import (
    assert_second_load_upserts,
    control,
    duckdb_counts,
    meltano_load,
    pg_counts,
)

TAP = "tap-analytics-b"
SCHEMA = "tap_analytics_b"


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_into_postgres(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    expected = sandbox.apis["b"].counts()
    assert_second_load_upserts(pg, SCHEMA, TAP, meltano_env(sandbox, "b"), expected, missing_as_zero=True)

    # Fields the schema does not declare reach PostgreSQL under `extra` (jsonb), nested ones too.
    source = sandbox.apis["b"].record("files", 0)
    extra = pg.execute(f"select extra from {SCHEMA}.files where id = %s", (source["id"],)).fetchone()[0]
    assert extra == {k: v for k, v in source.items() if k not in ("id", "createdAt", "updatedAt")}
    workspace = sandbox.apis["b"].record("workspaces", 3)
    got = pg.execute(
        f"select extra from {SCHEMA}.workspaces where id = %s",
        (workspace["id"],),
    ).fetchone()[0]
    assert got["extra"] == workspace["extra"]  # the API's own `extra` field, kept inside ours
    assert got["region"] == workspace["region"]


@pytest.mark.postgres
@pytest.mark.meltano
def test_rows_gone_at_the_source_are_marked_deleted(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    env = meltano_env(sandbox, "b")
    before = sandbox.apis["b"].counts()
    meltano_load(TAP, "target-postgres", env)

    after = control(sandbox.url, "b/set_counts", {"files": before["files"] - 5, "teams": 0})
    meltano_load(TAP, "target-postgres", env)

    assert pg_counts(pg, SCHEMA, before, missing_as_zero=True) == before  # soft deletes: rows stay
    assert pg_counts(pg, SCHEMA, before, live_only=True, missing_as_zero=True) == after


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_into_duckdb(sandbox, meltano_env):
    import duckdb

    env = meltano_env(sandbox, "b")
    expected = sandbox.apis["b"].counts()
    meltano_load(TAP, "target-duckdb", env)
    meltano_load(TAP, "target-duckdb", env)

    got = duckdb_counts(env["TARGET_DUCKDB_FILEPATH"], SCHEMA, expected, missing_as_zero=True)
    assert got == expected
    source = sandbox.apis["b"].record("files", 0)
    with duckdb.connect(env["TARGET_DUCKDB_FILEPATH"], read_only=True) as con:
        row = con.execute(f"select extra from {SCHEMA}.files where id = ?", [source["id"]]).fetchone()
    assert row is not None
    assert json.loads(row[0])["mimeType"] == source["mimeType"]
