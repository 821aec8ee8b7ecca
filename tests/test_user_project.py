"""What a user does: build the wheels, add every tap to a new Meltano project from its plugin.yml, run it.

The project lives in a temporary folder outside the repository and knows nothing of it but the plugin
definitions; our packages come only from the freshly built wheels (find-links, as if on an index).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from analytics_sandbox import Sandbox
from tests.helpers import BIN, ROOT, env_config

pytestmark = pytest.mark.meltano

TAPS = [f"tap-analytics-{x}" for x in "abcde"]
PACKAGES = ["tap-analytics-common", *TAPS]
TARGET_JSONL = {
    "name": "target-jsonl",
    "namespace": "target_jsonl",
    "pip_url": "target-jsonl==0.1.4",
    "executable": "target-jsonl",
    "settings": [
        {"name": "destination_path", "kind": "string"},
        {"name": "do_timestamp_file", "kind": "boolean"},
    ],
}
ALIAS = {"users": {"__alias__": "people"}}


class UserProject:
    """A `meltano init` project and the environment a user's shell would give it."""

    def __init__(self, path: Path, dist: Path) -> None:
        self.path = path
        env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
        self.env = env | {
            "UV_FIND_LINKS": str(dist),
            "PIP_FIND_LINKS": str(dist),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    def meltano(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "meltano"), *args],
            cwd=self.path,
            env=self.env | (env or {}),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, (args, result.stderr[-4000:])
        return result


def build_wheels(dist: Path) -> None:
    """One wheel per package with the pinned build frontend, all at once (each in its own build env)."""
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "build", "--installer", "uv", "--wheel", "--outdir", str(dist), ROOT / p],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for p in PACKAGES
    ]
    for package, build in zip(PACKAGES, builds, strict=True):
        _, err = build.communicate(timeout=600)
        assert build.returncode == 0, (package, err[-3000:])
    assert len(list(dist.glob("*.whl"))) == len(PACKAGES)


@pytest.fixture(scope="module")
def user_project(tmp_path_factory: pytest.TempPathFactory) -> UserProject:
    base = tmp_path_factory.mktemp("user")
    assert not base.is_relative_to(ROOT)
    dist = base / "dist"
    build_wheels(dist)
    project = UserProject(base / "my-project", dist)
    subprocess.run(
        [str(BIN / "meltano"), "init", "--no-usage-stats", str(project.path)],
        cwd=base,
        env=project.env,
        capture_output=True,
        check=True,
    )
    for tap in TAPS:
        ref = str(ROOT / tap / "plugin.yml")
        project.meltano("add", "--plugin-type", "extractor", tap, "--from-ref", ref, "--no-install")
    target = base / "target-jsonl.yml"
    YAML().dump(TARGET_JSONL, target)
    project.meltano(
        "add", "--plugin-type", "loader", "target-jsonl", "--from-ref", str(target), "--no-install"
    )
    project.meltano("install")
    return project


@pytest.fixture(scope="module")
def sandbox_for_users() -> t.Iterator[Sandbox]:
    box = Sandbox(port=0).start()
    yield box
    box.stop()


def jsonl_counts(folder: Path) -> dict[str, int]:
    return {path.stem: len(path.read_text().splitlines()) for path in folder.glob("*.jsonl")}


def test_the_project_installed_our_packages_from_the_built_wheels(user_project):
    for tap in TAPS:
        venv = user_project.path / ".meltano" / "extractors" / tap / "venv"
        (python,) = venv.glob("bin/python")
        listed = subprocess.run(
            [
                str(python),
                "-c",
                "import importlib.metadata as m; print(m.distribution('tap-analytics-common')"
                ".read_text('direct_url.json') or '')",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "editable" not in listed and str(ROOT) not in listed, listed


@pytest.mark.parametrize("tap", TAPS)
def test_each_tap_runs_into_target_jsonl_with_exact_counts(user_project, sandbox_for_users, tmp_path, tap):
    api = tap[-1]
    env = env_config(tap, sandbox_for_users.tap_config(api)) | {
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path),
        "TARGET_JSONL_DO_TIMESTAMP_FILE": "false",
    }
    expected = {k: v for k, v in sandbox_for_users.apis[api].counts().items() if v}
    if tap == "tap-analytics-e":
        # Meltano passes the SDK's stream maps from the environment, as an object: users arrive as people.
        env["TAP_ANALYTICS_E_STREAM_MAPS"] = json.dumps(ALIAS)
        expected["people"] = expected.pop("users")
    user_project.meltano("run", tap, "target-jsonl", env=env)
    assert jsonl_counts(tmp_path) == expected


def test_config_list_describes_every_setting(user_project):
    # Meltano lists extras (the `_load_use_copy` the definition adds) only with --extras.
    out = user_project.meltano("config", "list", "--all", "tap-analytics-a").stdout
    out += user_project.meltano("config", "list", "--all", "--extras", "tap-analytics-a").stdout
    lines = out.splitlines()
    plugin = YAML(typ="safe").load((ROOT / "tap-analytics-a" / "plugin.yml").read_text())
    assert plugin["settings"]
    for setting in plugin["settings"]:
        (at,) = [i for i, line in enumerate(lines) if line.startswith(f"{setting['name']} [env: ")]
        assert lines[at + 1] == f"\t{setting['label']}: {setting['description']}", setting["name"]


def test_config_set_stores_stream_maps_as_an_object(user_project):
    """Declared as an object, `meltano config set` parses the JSON (a string would fail the tap)."""
    user_project.meltano("config", "set", "tap-analytics-e", "stream_maps", json.dumps(ALIAS))
    project = YAML(typ="safe").load((user_project.path / "meltano.yml").read_text())
    (entry,) = [e for e in project["plugins"]["extractors"] if e["name"] == "tap-analytics-e"]
    assert entry["config"]["stream_maps"] == ALIAS  # the environment still wins in the run test
