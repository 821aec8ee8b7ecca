"""End to end: Meltano runs tap-analytics-b into PostgreSQL and DuckDB; standalone with a catalog."""

from __future__ import annotations

import json

import pytest

from tests.helpers import catalog_with, control, meltano, run_tap

SCHEMA = "tap_analytics_b"


def pg_counts(pg, streams, where: str = "true") -> dict[str, int]:
    """Rows per stream table; a stream that never had a record may have no table (0 rows)."""
    counts = {}
    for stream in streams:
        exists = pg.execute("select to_regclass(%s)", (f"{SCHEMA}.{stream}",)).fetchone()[0]
        query = f"select count(*) from {SCHEMA}.{stream} where {where}"
        counts[stream] = pg.execute(query).fetchone()[0] if exists else 0
    return counts


def run_ok(*args: str, env: dict[str, str]) -> None:
    result = meltano(*args, env=env)
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture
def fresh_schema(pg):
    pg.execute(f"drop schema if exists {SCHEMA} cascade")
    return pg


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_into_postgres(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema
    env = meltano_env(sandbox, "b")
    expected = sandbox.apis["b"].counts()

    run_ok("run", "tap-analytics-b", "target-postgres", env=env)
    assert pg_counts(pg, expected) == expected

    # A second full sync upserts on `id`: the same rows, none doubled.
    run_ok("run", "tap-analytics-b", "target-postgres", env=env)
    assert pg_counts(pg, expected) == expected

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
    pg = fresh_schema
    env = meltano_env(sandbox, "b")
    before = sandbox.apis["b"].counts()
    run_ok("run", "tap-analytics-b", "target-postgres", env=env)

    after = control(sandbox.url, "b/set_counts", {"files": before["files"] - 5, "teams": 0})
    run_ok("run", "tap-analytics-b", "target-postgres", env=env)

    assert pg_counts(pg, before) == before  # soft deletes: rows stay
    assert pg_counts(pg, before, "_sdc_deleted_at is null") == after


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_into_duckdb(sandbox, meltano_env):
    import duckdb

    env = meltano_env(sandbox, "b")
    expected = sandbox.apis["b"].counts()
    run_ok("run", "tap-analytics-b", "target-duckdb", env=env)
    run_ok("run", "tap-analytics-b", "target-duckdb", env=env)

    con = duckdb.connect(env["TARGET_DUCKDB_FILEPATH"], read_only=True)
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]
        ).fetchall()
    }
    got = {
        stream: con.execute(f'select count(*) from {SCHEMA}."{stream}"').fetchone()[0]
        if stream in tables
        else 0
        for stream in expected
    }
    assert got == expected
    source = sandbox.apis["b"].record("files", 0)
    row = con.execute(f"select extra from {SCHEMA}.files where id = ?", [source["id"]]).fetchone()
    assert row is not None
    assert json.loads(row[0])["mimeType"] == source["mimeType"]


def test_discover_then_catalog_with_a_deselected_stream(sandbox):
    config = sandbox.tap_config("b")
    discovered = run_tap("tap-analytics-b", config, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    assert {s["tap_stream_id"] for s in catalog["streams"]} == set(sandbox.apis["b"].counts())

    run = run_tap("tap-analytics-b", config, catalog=catalog_with(catalog, ["files"]))

    assert run.returncode == 0, run.stderr[-2000:]
    assert [m for m in run.messages if m.get("stream") == "files"] == []
    assert "files" not in json.dumps(run.of_type("STATE"))
    assert "b GET /files" not in sandbox.stats
    expected = {k: v for k, v in sandbox.apis["b"].counts().items() if v and k != "files"}
    assert run.counts() == expected
