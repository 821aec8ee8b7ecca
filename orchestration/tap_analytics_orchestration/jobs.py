"""The `sync_tenants` job: read the tenants file, then one `meltano run` op per tenant, in parallel."""

# No `from __future__ import annotations`: Dagster reads the `context` annotation at definition time.
import os
import subprocess
import typing as t

import dagster as dg

from tap_analytics_orchestration.meltano_run import MELTANO, redact, render, sync
from tap_analytics_orchestration.project import extractors, project_root
from tap_analytics_orchestration.tenants import Tenant, TenantsFileError, load_tenants, tenants_path

DEFAULT_MAX_CONCURRENT = 4
_POSTGRES = ("postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://", "postgres://")


def _tenants() -> list[Tenant]:
    """The tenants file as it is now, or the op fails with its one line."""
    root = project_root()
    try:
        return load_tenants(tenants_path(root), extractors(root))
    except TenantsFileError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def _check_system_database() -> None:
    """Concurrent runs share Meltano's system database (runs, state): it must take concurrent writers."""
    uri = os.environ.get("MELTANO_DATABASE_URI", "")
    if not uri.startswith(_POSTGRES):
        msg = (
            "MELTANO_DATABASE_URI must name a PostgreSQL database (e.g. "
            "postgresql+psycopg://user@host:5432/meltano): tenants run at the same time and "
            "share Meltano's system database, where SQLite lets one writer in at a time"
        )
        raise dg.Failure(description=msg, allow_retries=False)


def _migrate_system_database(context: dg.OpExecutionContext) -> None:
    """Migrate once, before the fan-out: every `meltano run` would otherwise race to do it."""
    proc = subprocess.run(
        [str(MELTANO), "--log-format=json", "upgrade", "database"],
        cwd=project_root(),
        capture_output=True,
        text=True,
        check=False,
    )
    secrets = [os.environ["MELTANO_DATABASE_URI"]]
    lines = [render(line, "read_tenants") for line in proc.stderr.splitlines() if line.strip()]
    for _, _, text in lines:
        context.log.debug(redact(text, secrets))
    if proc.returncode != 0:
        errors = [text for level, _, text in lines if level == "error"] or [f"exit code {proc.returncode}"]
        line = redact(errors[-1].split(" | ", 2)[-1], secrets)
        raise dg.Failure(description=f"meltano upgrade database failed: {line}", allow_retries=False)


@dg.op(out=dg.DynamicOut(str))
def read_tenants(context: dg.OpExecutionContext) -> t.Iterator[dg.DynamicOutput[str]]:
    """Check the tenants file and the system database, then fan out one sync per tenant.

    Only names travel between ops: each sync reads its settings (and secrets) itself.
    """
    tenants = _tenants()
    _check_system_database()
    _migrate_system_database(context)
    context.log.info(f"{len(tenants)} tenants: {', '.join(x.name for x in tenants)}")
    for tenant in tenants:
        yield dg.DynamicOutput(tenant.name, mapping_key=tenant.name)


@dg.op
def sync_tenant(context: dg.OpExecutionContext, name: str) -> None:
    """`meltano run <tap> target-postgres` for one tenant; its failure is the tap's one line."""
    tenant = next((x for x in _tenants() if x.name == name), None)
    if tenant is None:
        msg = f"tenant {name!r} is no longer in {tenants_path(project_root())}"
        raise dg.Failure(description=msg, allow_retries=False)
    loggers = {
        "debug": context.log.debug,
        "warning": context.log.warning,
        "error": context.log.error,
        "critical": context.log.error,
    }
    context.log.info(f"{name} | {tenant.tap.name} into schema {tenant.schema}")
    result = sync(tenant, project_root(), lambda level, text: loggers.get(level, context.log.info)(text))
    if not result.ok:
        raise dg.Failure(description=result.error, allow_retries=False)


@dg.job(
    executor_def=dg.multiprocess_executor,
    config={"execution": {"config": {"max_concurrent": DEFAULT_MAX_CONCURRENT}}},
    description="One isolated `meltano run` per tenant of the tenants file, several at a time.",
)
def sync_tenants() -> None:
    read_tenants().map(sync_tenant)
