"""tap-analytics-c end to end: Meltano into PostgreSQL and DuckDB, standalone with catalogs and ENV."""

from __future__ import annotations

import json

import pytest

from tests.helpers import (
    assert_second_load_upserts,
    duckdb_counts,
    env_config,
    meltano,
    meltano_load,
    pg_counts,
    run_tap,
)

TAP = "tap-analytics-c"
SCHEMA = "tap_analytics_c"


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_run_loads_every_row_and_a_second_run_upserts(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    expected = sandbox.apis["c"].counts()
    assert all(expected.values())
    assert_second_load_upserts(pg, SCHEMA, TAP, meltano_env(sandbox, "c"), expected)
    assert pg_counts(pg, SCHEMA, expected, live_only=True) == expected
    shared = sandbox.apis["c"].shared_members()
    assert shared, "the sandbox should have people in several organizations"
    for member, orgs in shared.items():
        rows = pg.execute(
            f"select organization from {SCHEMA}.org_members where id = %s order by 1", (member,)
        ).fetchall()
        assert [r[0] for r in rows] == sorted(orgs), member


@pytest.mark.postgres
@pytest.mark.meltano
def test_fields_beyond_the_document_arrive_in_postgres(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    meltano_load(TAP, "target-postgres", meltano_env(sandbox, "c"))
    # Fields the sandbox sends with every record and the document does not list.
    for stream, field in (
        ("users", "locale"),
        ("organizations", "hostname"),
        ("org_members", "invitedBy"),
        ("insights_traffic", "uniqueVisitors"),
        ("content", "description"),
    ):
        missing, total = pg.execute(
            f'select count(*) filter (where not (extra ? %s)), count(*) from {SCHEMA}."{stream}"', (field,)
        ).fetchone()
        assert total > 0 and missing == 0, (stream, field)
    # A page's own pages stay an array inside it (target-postgres: jsonb[]), whole.
    nested = pg.execute(
        f"select count(*) from {SCHEMA}.content "
        "where cardinality(pages) > 0 and pages[1] ?& array['id', 'pages']"
    ).fetchone()[0]
    assert nested > 0


@pytest.mark.postgres
@pytest.mark.meltano
def test_meltano_takes_space_ids_from_the_environment(sandbox, fresh_schema, meltano_env):
    """TAP_ANALYTICS_C_SPACE_IDS (a JSON array) overrides the dev environment's list."""
    pg = fresh_schema(SCHEMA)
    api = sandbox.apis["c"]
    chosen = [s for s in api.space_ids() if all(api.space_counts([s]).values())][:1]
    assert chosen
    env = meltano_env(sandbox, "c", space_ids=chosen)
    assert json.loads(env["TAP_ANALYTICS_C_SPACE_IDS"]) == chosen
    meltano_load(TAP, "target-postgres", env)
    expected = api.space_counts(chosen)
    assert pg_counts(pg, SCHEMA, expected) == expected
    spaces = pg.execute(f"select distinct space_id from {SCHEMA}.content").fetchall()
    assert spaces == [(chosen[0],)]


@pytest.mark.meltano
def test_meltano_run_without_space_ids_fails_naming_them(sandbox, meltano_env):
    result = meltano("run", TAP, "target-postgres", env=meltano_env(sandbox, "c", space_ids=[]))
    assert result.returncode != 0
    assert "space_ids is empty or missing" in result.stderr
    assert not any(key.startswith("c ") for key in sandbox.stats)


@pytest.mark.meltano
def test_the_embedded_default_loader_gets_the_same_counts(sandbox, meltano_env):
    env = meltano_env(sandbox, "c")
    meltano_load(TAP, "target-duckdb", env)
    expected = sandbox.apis["c"].counts()
    assert duckdb_counts(env["TARGET_DUCKDB_FILEPATH"], SCHEMA, expected) == expected


def test_standalone_space_ids_from_the_environment_as_meltano_passes_arrays(sandbox):
    """TAP_ANALYTICS_C_SPACE_IDS='["…","…"]' with --config ENV: the SDK parses the JSON array."""
    api = sandbox.apis["c"]
    chosen = [s for s in api.space_ids() if api.space_counts([s])["content"]][:2]
    assert len(chosen) == 2
    env = env_config(TAP, sandbox.tap_config("c") | {"space_ids": chosen})
    assert env["TAP_ANALYTICS_C_SPACE_IDS"] == json.dumps(chosen)
    run = run_tap(TAP, None, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    expected = api.space_counts(chosen)
    assert {s: run.counts().get(s, 0) for s in expected} == expected
    assert {r["space_id"] for r in run.records("content")} == set(chosen)
