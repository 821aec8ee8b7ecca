"""tap-analytics-d end to end: Meltano into PostgreSQL and DuckDB, incremental jobs, standalone catalogs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from tap_analytics_d.streams import parse_timestamp
from tap_analytics_d.tap import TapAnalyticsD
from tests.helpers import (
    assert_second_load_upserts,
    control,
    discover,
    duckdb_counts,
    meltano,
    meltano_load,
    pg_counts,
)

TAP = "tap-analytics-d"
SCHEMA = "tap_analytics_d"
pytestmark = [pytest.mark.postgres, pytest.mark.meltano]


def test_meltano_run_loads_every_row_and_a_second_run_upserts(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    control(sandbox.url, "d/next_form", {"form": "url"})  # the token form runs in the DuckDB test
    expected = sandbox.apis["d"].counts()
    assert_second_load_upserts(pg, SCHEMA, TAP, meltano_env(sandbox, "d"), expected)
    assert pg_counts(pg, SCHEMA, expected, live_only=True) == expected


def test_changed_jobs_arrive_once_with_their_newest_values(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    api = sandbox.apis["d"]
    env = meltano_env(sandbox, "d")
    meltano_load(TAP, "target-postgres", env)
    first_mark = max(parse_timestamp(j["lastUpdatedAt"]) for j in api.control("jobs", {}))
    between = dt.datetime.now(dt.timezone.utc)
    changed = control(sandbox.url, "d/change_jobs", {"count": 6})
    added = control(sandbox.url, "d/add_jobs", {"count": 4})
    meltano_load(TAP, "target-postgres", env)  # Meltano keeps the state of the first run

    assert pg_counts(pg, SCHEMA, ["jobs"]) == {"jobs": api.counts()["jobs"]}
    duplicates = pg.execute(f'select "jobId" from {SCHEMA}.jobs group by 1 having count(*) > 1').fetchall()
    assert duplicates == []
    for job in changed + added:
        row = pg.execute(
            f'select "lastUpdatedAt", status, "rowsSynced" from {SCHEMA}.jobs where "jobId" = %s',
            (job["jobId"],),
        ).fetchone()
        # target-postgres stores date-times as UTC without a zone.
        assert row[0].replace(tzinfo=dt.timezone.utc) == parse_timestamp(job["lastUpdatedAt"])
        assert (row[1], row[2]) == (job["status"], job["rowsSynced"])
    # Only the changed and new jobs (and the one at the old bookmark) were extracted again.
    again = {
        r[0]
        for r in pg.execute(
            f'select "jobId" from {SCHEMA}.jobs where _sdc_extracted_at > %s', (between.replace(tzinfo=None),)
        ).fetchall()
    }
    at_mark = {
        j["jobId"] for j in api.control("jobs", {}) if parse_timestamp(j["lastUpdatedAt"]) == first_mark
    }
    assert {j["jobId"] for j in changed + added} <= again <= {j["jobId"] for j in changed + added} | at_mark

    state = meltano("state", "get", "dev:tap-analytics-d-to-target-postgres", env=env)
    assert state.returncode == 0, state.stderr[-2000:]
    bookmark = json.loads(state.stdout)["singer_state"]["bookmarks"]["jobs"]
    assert parse_timestamp(bookmark["replication_key_value"]) == max(
        parse_timestamp(j["lastUpdatedAt"]) for j in changed + added
    )


def test_values_are_exact_and_undeclared_fields_arrive_in_extra(sandbox, fresh_schema, meltano_env):
    pg = fresh_schema(SCHEMA)
    api = sandbox.apis["d"]
    tap = TapAnalyticsD(config=sandbox.tap_config("d"))
    log = meltano_load(TAP, "target-postgres", meltano_env(sandbox, "d"))
    # d has number fields: INSERT, since target-postgres's COPY would round them (meltano.yml).
    assert "Inserting with SQL: INSERT" in log and "Inserting with SQL: COPY" not in log

    big = [j for j in api.control("jobs", {}) if j["bytesSynced"] == 2**53 + 1]
    assert big
    stored = pg.execute(
        f'select "bytesSynced" from {SCHEMA}.jobs where "jobId" = any(%s)', ([j["jobId"] for j in big],)
    ).fetchall()
    assert [Decimal(r[0]) for r in stored] == [Decimal(2**53 + 1)] * len(big)
    connections = [api.connection(i) for i in range(api.n_connections)]
    fractions = [c for c in connections if isinstance(c["createdAt"], float)]
    assert fractions
    for connection in fractions:
        value = pg.execute(
            f'select "createdAt" from {SCHEMA}.connections where "connectionId" = %s',
            (connection["connectionId"],),
        ).fetchone()[0]
        assert Decimal(value) == Decimal(str(connection["createdAt"]))

    samples = {"jobs": api.job(0), "connections": connections[0], "workspaces": api.workspace(0)}
    for stream, sample in samples.items():
        undeclared = set(sample) - set(tap.streams[stream].schema["properties"])
        assert undeclared, f"the sandbox should send {stream} fields the document does not list"
        for field in undeclared:
            missing = pg.execute(
                f"select count(*) from {SCHEMA}.{stream} where not (extra ? %s)", (field,)
            ).fetchone()[0]
            assert missing == 0, (stream, field)


def test_the_embedded_default_loader_gets_the_same_counts(sandbox, meltano_env):
    env = meltano_env(sandbox, "d")
    meltano_load(TAP, "target-duckdb", env)
    expected = sandbox.apis["d"].counts()
    assert duckdb_counts(env["TARGET_DUCKDB_FILEPATH"], SCHEMA, expected) == expected


def test_discovery_offers_jobs_incrementally_on_last_updated_at(sandbox):
    catalog = discover(TAP, sandbox.tap_config("d"))
    jobs = next(s for s in catalog["streams"] if s["tap_stream_id"] == "jobs")
    top = next(m["metadata"] for m in jobs["metadata"] if m["breadcrumb"] == [])
    assert top["valid-replication-keys"] == ["lastUpdatedAt"]
    assert (jobs["replication_method"], jobs["replication_key"]) == ("INCREMENTAL", "lastUpdatedAt")
