"""The tenants file: which accounts to sync, with which tap and settings.

It is read when the job runs (never when the code location loads), and `${VAR}` in a string
value is read from the environment then, so secrets stay out of the file.
"""

from __future__ import annotations

import json
import os
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path

import yaml

from tap_analytics_orchestration.project import TapDefinition

TENANTS_VAR = "TAP_ANALYTICS_TENANTS"
_NAME = re.compile(r"^[a-z0-9_]+$")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SET_BY_JOB = ("refresh_token_file",)


class TenantsFileError(Exception):
    """The tenants file cannot be used; the message is one line naming the entry and the problem."""


def tenants_path(root: Path) -> Path:
    """`$TAP_ANALYTICS_TENANTS`, else `tenants.yml` in the project."""
    configured = os.environ.get(TENANTS_VAR)
    return Path(configured).expanduser() if configured else root / "tenants.yml"


@dataclass(frozen=True)
class Tenant:
    """One account: a tap, its settings as written (with `${VAR}` unexpanded)."""

    name: str
    tap: TapDefinition
    config: dict[str, t.Any]

    @property
    def schema(self) -> str:
        """The tenant's own target schema: `<tap>__<tenant>` with `-` as `_`."""
        return f"{self.tap.name.replace('-', '_')}__{self.name}"

    def settings_env(self, environ: t.Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        """The settings as Meltano reads them from the environment, and the values to scrub from logs.

        Every value taken from a `${VAR}`, and every sensitive setting, counts as a secret.
        """
        env: dict[str, str] = {}
        secrets: list[str] = []
        for key, value in self.config.items():
            if value is None:
                continue
            expanded = _expand(value, environ, secrets)
            text = _as_env(expanded)
            env[self.tap.env_prefix + key.upper()] = text
            if key in self.tap.sensitive:
                secrets.append(text)
        return env, [s for s in secrets if s]


def _expand(value: t.Any, environ: t.Mapping[str, str], found: list[str]) -> t.Any:
    if isinstance(value, str):

        def read(match: re.Match[str]) -> str:
            found.append(environ[match.group(1)])
            return environ[match.group(1)]

        return _REFERENCE.sub(read, value)
    if isinstance(value, list):
        return [_expand(v, environ, found) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, environ, found) for k, v in value.items()}
    return value


def _references(value: t.Any) -> t.Iterator[str]:
    if isinstance(value, str):
        yield from _REFERENCE.findall(value)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item)


def _as_env(value: t.Any) -> str:
    """A value as Meltano parses it from an environment variable (JSON for lists and objects)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def load_tenants(
    path: Path, taps: t.Mapping[str, TapDefinition], environ: t.Mapping[str, str] | None = None
) -> list[Tenant]:
    """Read and check the whole file; the first problem raises TenantsFileError."""
    environ = os.environ if environ is None else environ
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = (
            f"tenants file {path} not found: copy tenants.example.yml to tenants.yml "
            f"or set {TENANTS_VAR} to its path"
        )
        raise TenantsFileError(msg) from None
    except (OSError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())
        raise TenantsFileError(f"tenants file {path} is not readable YAML: {problem}") from None
    entries = document.get("tenants") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise TenantsFileError(f"tenants file {path}: expected a non-empty top-level `tenants:` list")
    tenants: list[Tenant] = []
    for number, entry in enumerate(entries, start=1):
        tenant = _check_entry(entry, number, taps, environ, {x.name for x in tenants})
        tenants.append(tenant)
    return tenants


def _check_entry(
    entry: t.Any,
    number: int,
    taps: t.Mapping[str, TapDefinition],
    environ: t.Mapping[str, str],
    taken: set[str],
) -> Tenant:
    if not isinstance(entry, dict):
        raise TenantsFileError(f"tenants entry {number}: expected a mapping with name, tap and config")
    name = entry.get("name")
    where = f"tenant {name!r}" if isinstance(name, str) else f"tenants entry {number}"
    if not isinstance(name, str) or not _NAME.match(name):
        msg = f"{where}: name must be lowercase letters, digits and _ (it names a schema and a state ID)"
        raise TenantsFileError(msg)
    if name in taken:
        raise TenantsFileError(f"{where}: duplicate name (entry {number}); every tenant needs its own")
    unknown = set(entry) - {"name", "tap", "config"}
    if unknown:
        raise TenantsFileError(f"{where}: unknown key {sorted(unknown)[0]!r}; use name, tap and config")
    tap = taps.get(str(entry.get("tap")))
    if tap is None:
        known = ", ".join(sorted(taps))
        raise TenantsFileError(f"{where}: unknown tap {entry.get('tap')!r}; use one of {known}")
    config = entry.get("config") or {}
    if not isinstance(config, dict):
        raise TenantsFileError(f"{where}: config must be a mapping of {tap.name} settings")
    for key in config:
        if key in _SET_BY_JOB:
            raise TenantsFileError(f"{where}: {key} is set by the job, one per tenant; remove it")
        if key not in tap.settings:
            msg = (
                f"{where}: {tap.name} has no setting {key!r}; its settings: {', '.join(sorted(tap.settings))}"
            )
            raise TenantsFileError(msg)
        for variable in _references(config[key]):
            if variable not in environ:
                msg = f"{where}: setting {key} reads ${{{variable}}}, which is not set in the environment"
                raise TenantsFileError(msg)
    return Tenant(name=name, tap=tap, config=dict(config))
