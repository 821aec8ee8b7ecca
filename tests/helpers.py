"""Helpers the tests share: running taps and Meltano as a user would, reading their output."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import typing as t
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class TapRun:
    """One finished tap process: exit code, parsed Singer messages, stderr."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, t.Any]] = field(default_factory=list)

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(m["stream"] for m in self.messages if m["type"] == "RECORD"))

    def of_type(self, kind: str) -> list[dict[str, t.Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line or " ERROR " in line]


def run_tap(
    tap: str,
    config: dict[str, t.Any] | None,
    *args: str,
    catalog: dict[str, t.Any] | None = None,
    state: dict[str, t.Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> TapRun:
    """Run a tap's console script with a config file (or `--config ENV` when config is None)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd: list[str] = [str(BIN / tap)]
        if config is None:
            cmd += ["--config", "ENV"]
        else:
            path = Path(tmp, "config.json")
            path.write_text(json.dumps(config))
            cmd += ["--config", str(path)]
        for flag, value in (("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = Path(tmp, flag.strip("-") + ".json")
                path.write_text(json.dumps(value))
                cmd += [flag, str(path)]
        cmd += list(args)
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=os.environ | (env or {}),
        )
    messages = []
    if "--discover" not in args and "--about" not in args:
        messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return TapRun(proc.returncode, proc.stdout, proc.stderr, messages)


def assert_clean_failure(run: TapRun, *, mentions: str, secrets: t.Iterable[str] = ()) -> str:
    """A failure a user can act on: non-zero exit, one ERROR line naming it, no traceback or secret."""
    assert run.returncode != 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = run.error_lines()
    assert len(errors) == 1, errors
    assert mentions.lower() in errors[0].lower(), errors[0]
    for secret in secrets:
        assert secret not in run.stderr
        assert secret not in run.stdout
    return errors[0]


def env_config(tap: str, config: dict[str, t.Any]) -> dict[str, str]:
    """The config as environment variables, the way Meltano passes settings."""
    prefix = tap.upper().replace("-", "_") + "_"
    return {
        prefix + key.upper(): json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        for key, value in config.items()
    }


def control(sandbox_url: str, path: str, body: t.Any = None, method: str = "POST") -> t.Any:
    """Call the sandbox's control API over HTTP (as a separate process would)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{sandbox_url}/_control/{path}", data=data, method=method)
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)


def catalog_with(catalog: dict[str, t.Any], deselect: t.Iterable[str]) -> dict[str, t.Any]:
    """The discovered catalog with every stream selected except `deselect`."""
    skip = set(deselect)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] not in skip
    return catalog


def meltano(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run meltano in the project, with the dev environment and test overrides."""
    return subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=os.environ | {"MELTANO_ENVIRONMENT": "dev"} | env,
    )
