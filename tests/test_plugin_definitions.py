"""Meltano plugin definitions: each tap's plugin.yml and meltano.yml's extractors say what `--about` says."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest
import tomllib
from ruamel.yaml import YAML

from tests.helpers import BIN, ROOT

TAPS = [f"tap-analytics-{x}" for x in "abcde"]
SDK_KINDS = {
    "stream_maps": "object",
    "stream_map_config": "object",
    "flattening_enabled": "boolean",
    "flattening_max_depth": "integer",
}


@functools.cache
def about(tap: str) -> dict:
    out = subprocess.run(
        [BIN / tap, "--about", "--format", "json"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def load(path) -> dict:
    return json.loads(json.dumps(YAML(typ="safe").load(path.read_text())))


def project_extractor(tap: str) -> dict:
    (entry,) = [e for e in load(ROOT / "meltano.yml")["plugins"]["extractors"] if e["name"] == tap]
    return entry


def test_plugin_files_and_meltano_yml_are_regenerated():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plugin_definitions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, "run `make generate`:\n" + result.stdout + result.stderr


@pytest.mark.parametrize("tap", TAPS)
def test_plugin_yml_lists_exactly_the_top_level_settings(tap):
    plugin = load(ROOT / tap / "plugin.yml")
    described = about(tap)["settings"]
    settings = {s["name"]: s for s in plugin["settings"] if not s["name"].startswith("_")}
    assert list(settings) == list(described["properties"])
    for name, entry in settings.items():
        schema = described["properties"][name]
        assert entry["label"] and entry["description"] and entry["kind"], name
        assert entry["label"] == schema["title"]
        assert entry.get("sensitive", False) == schema.get("secret", False), name
        if schema.get("secret"):
            assert entry["kind"] == "string", name
    for name, kind in SDK_KINDS.items():
        assert settings[name]["kind"] == kind, name
    assert plugin["settings_group_validation"] == [described["required"]]


@pytest.mark.parametrize("tap", TAPS)
def test_plugin_yml_installs_the_published_distribution(tap):
    plugin = load(ROOT / tap / "plugin.yml")
    described = about(tap)
    dist = tomllib.loads((ROOT / tap / "pyproject.toml").read_text())["project"]
    assert plugin["name"] == plugin["executable"] == plugin["pip_url"] == dist["name"] == tap
    assert plugin["namespace"] == tap.replace("-", "_")
    assert plugin["label"] and plugin["description"] == dist["description"]
    assert {"singer-io", "meltano"} <= set(plugin["keywords"])
    assert set(plugin["capabilities"]) == set(described["capabilities"])
    assert {"catalog", "discover", "state", "stream-maps", "schema-flattening"} <= set(plugin["capabilities"])


@pytest.mark.parametrize("tap", TAPS)
def test_meltano_yml_defines_the_extractor_as_its_plugin_yml_but_from_the_checkout(tap):
    plugin = load(ROOT / tap / "plugin.yml")
    entry = project_extractor(tap)
    # Not editable: Meltano caches the discovered catalog only for plugins that are not.
    assert (
        entry["pip_url"] == f"${{MELTANO_PROJECT_ROOT}}/tap-analytics-common ${{MELTANO_PROJECT_ROOT}}/{tap}"
    )
    config = entry.pop("config", {})
    assert set(config) <= {s["name"] for s in plugin["settings"]}
    assert {k: v for k, v in entry.items() if k != "pip_url"} == {
        k: v for k, v in plugin.items() if k != "pip_url"
    }
