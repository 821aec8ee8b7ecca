"""One tenant's `meltano run <tap> target-postgres`, isolated from every other tenant's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

from tap_analytics_orchestration.project import tenant_sys_dir, tokens_dir
from tap_analytics_orchestration.tenants import Tenant

LOADER = "target-postgres"
MELTANO = Path(sys.executable).parent / "meltano"
"""The meltano of the environment the code location runs in."""

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",]+")
_OTHER_SECRETS = ("TARGET_POSTGRES_PASSWORD",)

_METRIC_FIELDS = ("metric_type", "metric", "value", "tags", "type")
LogLine = t.Callable[[str, str], None]
"""Receives (level, text) for each line of the run's log."""


@dataclass(frozen=True)
class SyncResult:
    """How a tenant's run ended: its exit code and, when it failed, one line saying why."""

    returncode: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def tenant_env(tenant: Tenant, root: Path, environ: t.Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The run's environment and the secrets to scrub from its log.

    The tap's own variables inherited from the caller are dropped, so one tenant never runs with
    another's (or the shell's) credentials; meltano.yml and its environment give the defaults.
    """
    settings, secrets = tenant.settings_env(environ)
    env = {k: v for k, v in environ.items() if not k.startswith(tenant.tap.env_prefix)}
    env |= settings
    if tenant.tap.rotates_tokens:
        token_file = tokens_dir(root) / tenant.tap.name / f"{tenant.name}.json"
        token_file.parent.mkdir(parents=True, exist_ok=True)
        env[tenant.tap.env_prefix + "REFRESH_TOKEN_FILE"] = str(token_file)
    env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = tenant.schema
    env["MELTANO_SYS_DIR_ROOT"] = str(tenant_sys_dir(root, tenant.name))
    secrets += [environ[name] for name in _OTHER_SECRETS if environ.get(name)]
    return env, secrets


def command(tenant: Tenant) -> list[str]:
    """JSON logs keep each plugin's level, so the tap's ERROR line can be told from the rest."""
    return [
        str(MELTANO),
        "--log-format=json",
        "run",
        "--state-id-suffix",
        tenant.name,
        tenant.tap.name,
        LOADER,
    ]


def redact(text: str, secrets: t.Iterable[str]) -> str:
    """The text without secret values or bearer tokens."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


@dataclass
class _Errors:
    """Error lines by who wrote them: the tap's own one line wins."""

    tap: str
    tap_lines: list[str]
    other_lines: list[str]

    def add(self, source: str, event: str) -> None:
        (self.tap_lines if source == self.tap else self.other_lines).append(event)

    def line(self, returncode: int) -> str:
        if self.tap_lines:
            return self.tap_lines[-1]
        if self.other_lines:
            return f"meltano run failed: {self.other_lines[0]}"
        return f"meltano run failed with exit code {returncode}"


def render(raw: str, tenant: str) -> tuple[str, str, str]:
    """(level, source, text) of one line of Meltano's JSON log, text prefixed with the tenant."""
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or "event" not in entry:
        return "info", "meltano", f"{tenant} | {raw}"
    source = str(entry.get("name") or "meltano")
    event = " ".join(str(entry["event"]).split())
    level = str(entry.get("level", "info")).lower()
    if event.startswith("METRIC"):
        level = "debug"
        details = {k: v for k, v in entry.items() if k in _METRIC_FIELDS}
        event += f" {json.dumps(details)}" if details else ""
    return level, source, f"{tenant} | {source} | {event}"


def sync(tenant: Tenant, root: Path, log: LogLine, environ: t.Mapping[str, str] | None = None) -> SyncResult:
    """Run the tenant's sync in the project, streaming its log lines (scrubbed) to `log`."""
    env, secrets = tenant_env(tenant, root, os.environ if environ is None else environ)
    errors = _Errors(tenant.tap.name, [], [])
    prefix = f"{tenant.name} | "
    with subprocess.Popen(
        command(tenant),
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if not raw.strip():
                continue
            level, source, text = render(raw.rstrip("\n"), tenant.name)
            text = redact(text, secrets)
            if level in ("error", "critical"):
                errors.add(source, text.removeprefix(prefix).split(" | ", 1)[-1])
            log(level, text)
    code = proc.returncode
    return SyncResult(code, None if code == 0 else errors.line(code))
