"""The Meltano project the ops run in, and what its meltano.yml declares about each tap."""

from __future__ import annotations

import contextlib
import glob
import os
import typing as t
from dataclasses import dataclass
from pathlib import Path

import yaml

_REPOSITORY = Path(__file__).resolve().parent.parent.parent
TOKENS_DIR_VAR = "TAP_ANALYTICS_TOKENS_DIR"
_PLUGIN_DIRS = ("extractors", "loaders", "mappers", "utilities", "transformers", "orchestrators", "files")


def project_root() -> Path:
    """`MELTANO_PROJECT_ROOT` when set, else this repository's root (where meltano.yml is)."""
    configured = os.environ.get("MELTANO_PROJECT_ROOT")
    if configured:
        return Path(configured).expanduser().resolve()
    if (_REPOSITORY / "meltano.yml").is_file():
        return _REPOSITORY
    return Path.cwd()


def tokens_dir(root: Path) -> Path:
    """Where each tenant's refresh-token file lives: `$TAP_ANALYTICS_TOKENS_DIR` or `.meltano/tokens`."""
    configured = os.environ.get(TOKENS_DIR_VAR)
    return Path(configured).expanduser() if configured else root / ".meltano" / "tokens"


def tenant_sys_dir(root: Path, tenant: str) -> Path:
    """A `.meltano` of the tenant's own that shares the installed plugins (for MELTANO_SYS_DIR_ROOT).

    Meltano writes a tap's catalog and logging files under `.meltano/run/<plugin>/`: two runs of
    one tap at once would overwrite each other's there. Each tenant gets its own `run/`.
    """
    shared = Path(os.environ.get("MELTANO_SYS_DIR_ROOT") or root / ".meltano")
    own = shared / "tenants" / tenant
    own.mkdir(parents=True, exist_ok=True)
    for kind in _PLUGIN_DIRS:
        link = own / kind
        if (shared / kind).is_dir() and not link.is_symlink():
            # The same tenant started twice at once: the other run made the link.
            with contextlib.suppress(FileExistsError):
                link.symlink_to(shared / kind, target_is_directory=True)
    return own


@dataclass(frozen=True)
class TapDefinition:
    """A tap's settings as meltano.yml declares them: Meltano passes only these from the environment."""

    name: str
    settings: frozenset[str]
    sensitive: frozenset[str]

    @property
    def env_prefix(self) -> str:
        """Meltano's environment-variable prefix of the tap's settings (`TAP_ANALYTICS_A_`)."""
        return self.name.upper().replace("-", "_") + "_"

    @property
    def rotates_tokens(self) -> bool:
        """Whether the tap keeps a rotated refresh token in a file between runs."""
        return "refresh_token_file" in self.settings


def _documents(root: Path) -> t.Iterator[dict[str, t.Any]]:
    """meltano.yml and the files its `include_paths` name."""
    main = yaml.safe_load((root / "meltano.yml").read_text(encoding="utf-8")) or {}
    yield main
    for pattern in main.get("include_paths") or []:
        for path in sorted(glob.glob(str(root / pattern))):
            yield yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def extractors(root: Path) -> dict[str, TapDefinition]:
    """Every extractor of the project by name (an `inherit_from` plugin adds to its parent's settings)."""
    raw: dict[str, dict[str, t.Any]] = {}
    for document in _documents(root):
        for plugin in (document.get("plugins") or {}).get("extractors") or []:
            raw[plugin["name"]] = plugin

    def settings(name: str, seen: frozenset[str] = frozenset()) -> list[dict[str, t.Any]]:
        plugin = raw.get(name, {})
        parent = plugin.get("inherit_from")
        inherited = settings(parent, seen | {name}) if parent in raw and parent not in seen else []
        return inherited + list(plugin.get("settings") or [])

    found = {}
    for name in raw:
        declared = settings(name)
        found[name] = TapDefinition(
            name=name,
            settings=frozenset(s["name"] for s in declared),
            sensitive=frozenset(s["name"] for s in declared if s.get("sensitive")),
        )
    return found
