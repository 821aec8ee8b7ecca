"""Many tenants at once: the Dagster job runs one isolated `meltano run` per tenant, in parallel."""

from __future__ import annotations

import json
import typing as t

import dagster as dg
import psycopg
import pytest
import yaml

from analytics_sandbox import Sandbox
from tap_analytics_orchestration.jobs import sync_tenants
from tests.conftest import PG_DSN
from tests.helpers import pg_counts

pytestmark = [pytest.mark.postgres, pytest.mark.meltano]
SYSTEM_DB = "tap_analytics_test_meltano"
WRONG_TOKEN = "wrong-token-for-bad"


@pytest.fixture
def system_db(pg_database: str) -> str:
    """A fresh Meltano system database on PostgreSQL: no state or runs from earlier tests."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"drop database if exists {SYSTEM_DB} with (force)")
        conn.execute(f"create database {SYSTEM_DB}")
    return f"postgresql+psycopg://root@127.0.0.1:5432/{SYSTEM_DB}"


@pytest.fixture
def boxes() -> t.Iterator[dict[str, Sandbox]]:
    """Two accounts of API a on differently seeded data (each its own sandbox), and API c."""
    one = Sandbox(port=0, seed=1, apis=["a"]).start()
    two = Sandbox(port=0, seed=2, apis=["a", "c"]).start()
    for box in (one, two):
        box.auth["a"].settings.rotate_refresh_tokens = True
    yield {"one": one, "two": two}
    one.stop()
    two.stop()


def secret_refs(tap_config: dict[str, t.Any], var_prefix: str, monkeypatch) -> dict[str, t.Any]:
    """The config with each secret replaced by a `${VAR}` the environment holds."""
    config = dict(tap_config)
    for key in ("client_secret", "refresh_token", "access_token"):
        if key in config:
            variable = f"{var_prefix}_{key.upper()}"
            monkeypatch.setenv(variable, config[key])
            config[key] = "${" + variable + "}"
    return config


def tenant(name: str, api: str, config: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"name": name, "tap": f"tap-analytics-{api}", "config": config}


@pytest.fixture
def job_env(tmp_path, monkeypatch, system_db, pg_database, boxes):
    """Tenants acme, globex (API a, seeds 1 and 2), initech (API c) and bad (API c, wrong token)."""
    bad = secret_refs(boxes["two"].tap_config("c"), "BAD", monkeypatch)
    tenants = [
        tenant("acme", "a", secret_refs(boxes["one"].tap_config("a"), "ACME", monkeypatch)),
        tenant("globex", "a", secret_refs(boxes["two"].tap_config("a"), "GLOBEX", monkeypatch)),
        tenant("initech", "c", secret_refs(boxes["two"].tap_config("c"), "INITECH", monkeypatch)),
        tenant("bad", "c", bad),
    ]
    monkeypatch.setenv("BAD_ACCESS_TOKEN", WRONG_TOKEN)
    write_tenants(tmp_path, tenants)
    monkeypatch.setenv("TAP_ANALYTICS_TENANTS", str(tmp_path / "tenants.yml"))
    monkeypatch.setenv("TAP_ANALYTICS_TOKENS_DIR", str(tmp_path / "tokens"))
    monkeypatch.setenv("MELTANO_DATABASE_URI", system_db)
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "dev")
    monkeypatch.setenv("TARGET_POSTGRES_DATABASE", pg_database)
    return tenants


def write_tenants(directory, tenants: list[dict[str, t.Any]]) -> None:
    (directory / "tenants.yml").write_text(yaml.safe_dump({"tenants": tenants}))


def step_failures(result: dg.ExecuteJobResult) -> dict[str, str]:
    """The failure description of each failed op (Dagster shows it as the op's error)."""
    failures = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            assert data.error.message.strip().endswith(data.user_failure_data.description)
            failures[event.step_key] = data.user_failure_data.description
    return failures


def steps_run(result: dg.ExecuteJobResult) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}


def op_logs(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """The user log lines of each op of a run (what Dagster's UI shows per op)."""
    lines: dict[str, list[str]] = {}
    for entry in instance.all_logs(run_id):
        if not entry.is_dagster_event and entry.step_key:
            lines.setdefault(entry.step_key, []).append(entry.user_message)
    return lines


def most_at_once(instance: dg.DagsterInstance, run_id: str) -> int:
    """How many sync ops ran at the same time, at most (from their start and end events)."""
    moves = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event and event.step_key and event.step_key.startswith("sync_tenant["):
            if event.event_type == dg.DagsterEventType.STEP_START:
                moves.append((entry.timestamp, 1))
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                moves.append((entry.timestamp, -1))
    running = peak = 0
    for _, move in sorted(moves):
        running += move
        peak = max(peak, running)
    return peak


def emails(pg, schema: str) -> set[str]:
    return {row[0] for row in pg.execute(f'select "emailId" from {schema}.users').fetchall()}


def token_in_file(path) -> str:
    return json.loads(path.read_text())["refresh_token"]


def test_tenants_sync_alone_into_their_own_schemas_and_a_failure_stays_its_own(
    job_env, boxes, fresh_schema, monkeypatch, tmp_path
):
    sources = {
        "tap_analytics_a__acme": boxes["one"].apis["a"],
        "tap_analytics_a__globex": boxes["two"].apis["a"],
        "tap_analytics_c__initech": boxes["two"].apis["c"],
        "tap_analytics_c__bad": boxes["two"].apis["c"],
    }
    for schema in sources:
        pg = fresh_schema(schema)
    users = {schema: {u["emailId"] for u in sources[schema].users} for schema in list(sources)[:2]}
    assert users["tap_analytics_a__acme"] != users["tap_analytics_a__globex"], "seeds give other data"

    def assert_complete(*schemas: str) -> None:
        for schema in schemas:
            expected = sources[schema].counts()
            assert pg_counts(pg, schema, expected, missing_as_zero=True) == expected, schema
            if schema in users:
                assert emails(pg, schema) == users[schema], schema

    job = dg.reconstructable(sync_tenants)
    tokens = tmp_path / "tokens" / "tap-analytics-a"
    with dg.instance_for_test() as instance:
        # 1. Four tenants, two at a time; bad's token is wrong: only its op fails, with the tap's line.
        two_at_once = {"execution": {"config": {"max_concurrent": 2}}}
        first = dg.execute_job(job, instance=instance, run_config=two_at_once, raise_on_error=False)
        assert not first.success
        assert most_at_once(instance, first.run_id) == 2
        failures = step_failures(first)
        assert set(failures) == {"sync_tenant[bad]"}
        line = failures["sync_tenant[bad]"]
        assert "401" in line and "access_token" in line and "\n" not in line
        assert_complete("tap_analytics_a__acme", "tap_analytics_a__globex", "tap_analytics_c__initech")
        assert pg.execute("select to_regclass('tap_analytics_c__bad.users')").fetchone()[0] is None

        logs = op_logs(instance, first.run_id)
        assert f"bad | tap-analytics-c | {line}" in logs["sync_tenant[bad]"]
        for step in ("acme", "globex", "initech", "bad"):
            lines = logs[f"sync_tenant[{step}]"]
            assert any("target-postgres" in x for x in lines) or step == "bad"
            assert all(x.startswith(f"{step} | ") for x in lines if "Loading file from" not in x), step
        first_tokens = {name: token_in_file(tokens / f"{name}.json") for name in ("acme", "globex")}

        # 2. Re-executing from the failure, with the token fixed, runs bad's op alone.
        monkeypatch.setenv("BAD_ACCESS_TOKEN", boxes["two"].tap_config("c")["access_token"])
        acme_requests = dict(boxes["one"].stats)
        retry = dg.execute_job(
            job,
            instance=instance,
            reexecution_options=dg.ReexecutionOptions.from_failure(first.run_id, instance),
        )
        assert retry.success
        assert steps_run(retry) == {"sync_tenant[bad]"}
        assert boxes["one"].stats == acme_requests
        assert_complete("tap_analytics_c__bad")

        # 3. A second run of the a-tenants: rotated tokens (the configured one is now dead at both
        # APIs) came back from each tenant's own file; no count changed.
        write_tenants(tmp_path, job_env[:2])
        second = dg.execute_job(job, instance=instance, raise_on_error=False)
        assert second.success, step_failures(second)
        assert_complete("tap_analytics_a__acme", "tap_analytics_a__globex")
        second_tokens = {name: token_in_file(tokens / f"{name}.json") for name in ("acme", "globex")}
        for name, box in (("acme", boxes["one"]), ("globex", boxes["two"])):
            assert second_tokens[name] != first_tokens[name]
            assert second_tokens[name] in box.auth["a"]._refresh

        everything = "\n".join(
            line
            for run in (first, retry, second)
            for lines in op_logs(instance, run.run_id).values()
            for line in lines
        )
        for secret in (
            WRONG_TOKEN,
            "sandbox-secret",
            "sandbox-refresh-token",
            "sandbox-access-token",
            *first_tokens.values(),
            *second_tokens.values(),
        ):
            assert secret not in everything
