"""tap-analytics-e end to end: Meltano into PostgreSQL and DuckDB, standalone with a catalog."""

from __future__ import annotations

import json

import pytest

from tap_analytics_common import EXTRA_PROPERTY
from tests.helpers import (
    assert_second_load_upserts,
    control,
    duckdb_counts,
    meltano_load,
    pg_counts,
)

TAP = "tap-analytics-e"
SCHEMA = "tap_analytics_e"


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_into_postgres(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    env = meltano_env(sandbox, "e")
    expected = sandbox.apis["e"].counts()
    log = assert_second_load_upserts(pg, SCHEMA, TAP, env, expected)
    # No stream of e has a number field, so target-postgres loads it with COPY (meltano.yml).
    assert "Inserting with SQL: COPY" in log and "Inserting with SQL: INSERT" not in log
    for stream in expected:
        dupes = pg.execute(f'select count(*) - count(distinct id) from {SCHEMA}."{stream}"').fetchone()
        assert dupes[0] == 0, stream

    # Undeclared fields arrive in the `extra` jsonb column, big integers exact.
    api = sandbox.apis["e"]
    for stream in expected:
        source = api.record(stream, 1)
        row = pg.execute(
            f'select "createdAt", "updatedAt", {EXTRA_PROPERTY}::text from {SCHEMA}."{stream}" where id = %s',
            (source["id"],),
        ).fetchone()
        assert row[:2] == (source["createdAt"], source["updatedAt"])
        extra = json.loads(row[2])
        assert extra == {k: v for k, v in source.items() if k not in ("id", "createdAt", "updatedAt")}
    (sequence,) = pg.execute(
        f"select ({EXTRA_PROPERTY}->'sequence')::text from {SCHEMA}.blocks where id = %s",
        (api.record("blocks", 0)["id"],),
    ).fetchone()
    assert sequence == str(api.record("blocks", 0)["sequence"])
    assert int(sequence) > 2**53

    # Rows the API no longer has are marked deleted after the next full sync (ACTIVATE_VERSION).
    control(sandbox.url, "e/set_counts", {"databases": 3})
    meltano_load(TAP, "target-postgres", env)
    assert pg_counts(pg, SCHEMA, ["databases"]) == {"databases": expected["databases"]}
    live = pg_counts(pg, SCHEMA, ["databases"], live_only=True)
    assert live == {"databases": 3}


@pytest.mark.meltano
def test_meltano_run_into_duckdb(sandbox, meltano_env, tmp_path):
    env = meltano_env(sandbox, "e")
    expected = sandbox.apis["e"].counts()
    meltano_load(TAP, "target-duckdb", env)
    assert duckdb_counts(env["TARGET_DUCKDB_FILEPATH"], SCHEMA, expected) == expected
