"""Fixtures: an in-process sandbox per test, PostgreSQL and Meltano for end-to-end runs."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest

from analytics_sandbox import Sandbox
from tests.helpers import env_config, session_sandbox, stop_session_sandbox

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_DSN = os.environ.get("TEST_PG_DSN", "host=127.0.0.1 port=5432 user=root dbname=postgres")
TEST_DB = "tap_analytics_test"


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_session_sandbox()


@pytest.fixture(scope="session")
def shared_sandbox() -> Sandbox:
    """The session's read-only sandbox."""
    return session_sandbox()


@pytest.fixture
def sandbox() -> t.Iterator[Sandbox]:
    """A fresh sandbox on a free loopback port; faults and data changes die with it."""
    box = Sandbox(port=0).start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A database for end-to-end loads. Skips locally without PostgreSQL; fails in CI."""
    try:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (TEST_DB,)).fetchone()
            if not exists:
                conn.execute(f"create database {TEST_DB}")
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return TEST_DB


@pytest.fixture
def pg(pg_database: str) -> t.Iterator[t.Any]:
    """A connection to the test database (autocommit)."""
    import psycopg

    dsn = PG_DSN.replace("dbname=postgres", f"dbname={pg_database}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def fresh_schema(pg: t.Any) -> t.Callable[[str], t.Any]:
    """Drops a schema, so what a test loads there is all there is; returns the connection."""

    def drop(schema: str) -> t.Any:
        pg.execute(f"drop schema if exists {schema} cascade")
        return pg

    return drop


@pytest.fixture
def meltano_env(tmp_path: Path, pg_database: str) -> t.Callable[..., dict[str, str]]:
    """Environment for `meltano run`: the tap pointed at the sandbox, its own system DB and schema."""

    def build(sandbox: Sandbox, api: str, **extra: t.Any) -> dict[str, str]:
        tap = f"tap-analytics-{api}"
        config = sandbox.tap_config(api) | extra
        if "refresh_token" in config:
            config.setdefault("refresh_token_file", str(tmp_path / f"{tap}-token.json"))
        return env_config(tap, config) | {
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
            "TARGET_POSTGRES_DATABASE": pg_database,
            "TARGET_DUCKDB_FILEPATH": str(tmp_path / "warehouse.duckdb"),
        }

    return build
