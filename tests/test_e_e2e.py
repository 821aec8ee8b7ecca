"""tap-analytics-e end to end: Meltano into PostgreSQL and DuckDB, standalone with a catalog."""

from __future__ import annotations

import json
import typing as t

import pytest

from tap_analytics_common import EXTRA_PROPERTY
from tests.helpers import catalog_with, control, meltano, run_tap

SCHEMA = "tap_analytics_e"


def pg_counts(pg: t.Any, streams: t.Iterable[str], where: str = "") -> dict[str, int]:
    counts = {}
    for stream in streams:
        row = pg.execute(f'select count(*) from {SCHEMA}."{stream}" {where}').fetchone()
        counts[stream] = row[0]
    return counts


def run_ok(*args: str, env: dict[str, str]) -> None:
    proc = meltano(*args, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.fixture
def clean_pg(pg: t.Any) -> t.Any:
    pg.execute(f"drop schema if exists {SCHEMA} cascade")
    return pg


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_into_postgres(sandbox, clean_pg, meltano_env):
    env = meltano_env(sandbox, "e")
    expected = sandbox.apis["e"].counts()
    run_ok("run", "tap-analytics-e", "target-postgres", env=env)
    assert pg_counts(clean_pg, expected) == expected

    # A second full sync upserts on `id`: the same rows, no duplicates.
    run_ok("run", "tap-analytics-e", "target-postgres", env=env)
    assert pg_counts(clean_pg, expected) == expected
    for stream in expected:
        dupes = clean_pg.execute(f'select count(*) - count(distinct id) from {SCHEMA}."{stream}"').fetchone()
        assert dupes[0] == 0, stream

    # Undeclared fields arrive in the `extra` jsonb column, big integers exact.
    api = sandbox.apis["e"]
    for stream in expected:
        source = api.record(stream, 1)
        row = clean_pg.execute(
            f'select "createdAt", "updatedAt", {EXTRA_PROPERTY}::text from {SCHEMA}."{stream}" where id = %s',
            (source["id"],),
        ).fetchone()
        assert row[:2] == (source["createdAt"], source["updatedAt"])
        extra = json.loads(row[2])
        assert extra == {k: v for k, v in source.items() if k not in ("id", "createdAt", "updatedAt")}
    (sequence,) = clean_pg.execute(
        f"select ({EXTRA_PROPERTY}->'sequence')::text from {SCHEMA}.blocks where id = %s",
        (api.record("blocks", 0)["id"],),
    ).fetchone()
    assert sequence == str(api.record("blocks", 0)["sequence"])
    assert int(sequence) > 2**53

    # Rows the API no longer has are marked deleted after the next full sync (ACTIVATE_VERSION).
    control(sandbox.url, "e/set_counts", {"databases": 3})
    run_ok("run", "tap-analytics-e", "target-postgres", env=env)
    assert pg_counts(clean_pg, ["databases"]) == {"databases": expected["databases"]}
    live = pg_counts(clean_pg, ["databases"], where="where _sdc_deleted_at is null")
    assert live == {"databases": 3}


@pytest.mark.meltano
def test_meltano_run_into_duckdb(sandbox, meltano_env, tmp_path):
    import duckdb

    env = meltano_env(sandbox, "e")
    expected = sandbox.apis["e"].counts()
    run_ok("run", "tap-analytics-e", "target-duckdb", env=env)
    with duckdb.connect(env["TARGET_DUCKDB_FILEPATH"], read_only=True) as con:
        got = {
            stream: con.execute(f'select count(*) from {SCHEMA}."{stream}"').fetchone()[0]
            for stream in expected
        }
    assert got == expected


def test_discover_then_catalog_with_a_deselected_stream(sandbox):
    config = sandbox.tap_config("e")
    discovered = run_tap("tap-analytics-e", config, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    assert {s["tap_stream_id"] for s in catalog["streams"]} == set(sandbox.apis["e"].counts())
    assert control(sandbox.url, "stats", method="GET") == {}  # discovery sends no request

    run = run_tap("tap-analytics-e", config, catalog=catalog_with(catalog, ["pages"]))
    assert run.returncode == 0, run.stderr[-2000:]
    expected = {k: v for k, v in sandbox.apis["e"].counts().items() if k != "pages"}
    assert run.counts() == expected
    assert not [m for m in run.messages if m.get("stream") == "pages"]
    assert "e GET /v1/pages" not in control(sandbox.url, "stats", method="GET")
