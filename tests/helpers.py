"""Helpers the tests share: running taps and Meltano as a user would, reading their output."""

from __future__ import annotations

import collections
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import typing as t
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from analytics_sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_SESSION: list[Sandbox] = []


def session_sandbox() -> Sandbox:
    """One sandbox for the whole session, for tests that only read from it (no faults, no data changes).

    A function besides the `shared_sandbox` fixture: the SDK's test classes need a config at import time.
    """
    if not _SESSION:
        _SESSION.append(Sandbox(port=0).start())
    return _SESSION[0]


@functools.cache
def session_sync(tap: str) -> TapRun:
    """One complete run of a tap against the session's sandbox, shared by every check that only reads it."""
    run = run_tap(tap, session_sandbox().tap_config(tap.rsplit("-", 1)[1]))
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def stop_session_sandbox() -> None:
    while _SESSION:
        _SESSION.pop().stop()


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


def assert_credentials_rejected(run: TapRun, *, mentions: str, secrets: t.Iterable[str]) -> str:
    """Credentials the API refuses: a clean failure naming the 401, before any record."""
    line = assert_clean_failure(run, mentions=mentions, secrets=secrets)
    assert "401" in line
    assert run.records() == []
    return line


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


def meltano_load(tap: str, loader: str, env: dict[str, str]) -> str:
    """`meltano run TAP LOADER`, failing the test with meltano's own error output if it fails;
    returns that output (the plugins' log lines)."""
    result = meltano("run", tap, loader, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stderr


def pg_counts(
    pg: t.Any,
    schema: str,
    streams: t.Iterable[str],
    *,
    live_only: bool = False,
    missing_as_zero: bool = False,
) -> dict[str, int]:
    """Rows per stream table; `live_only` leaves out rows marked deleted.

    A missing table fails, unless `missing_as_zero`: a stream that never had a record may have none.
    """
    where = " where _sdc_deleted_at is null" if live_only else ""
    counts = {}
    for stream in streams:
        table = f'{schema}."{stream}"'
        if missing_as_zero and pg.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
            counts[stream] = 0
        else:
            counts[stream] = pg.execute(f"select count(*) from {table}{where}").fetchone()[0]
    return counts


def assert_second_load_upserts(
    pg: t.Any,
    schema: str,
    tap: str,
    env: dict[str, str],
    expected: dict[str, int],
    *,
    missing_as_zero: bool = False,
) -> str:
    """Two full loads into PostgreSQL leave `expected` rows each time: the second upserts, none doubled.

    Returns the log of the last load."""
    for _ in range(2):
        log = meltano_load(tap, "target-postgres", env)
        assert pg_counts(pg, schema, expected, missing_as_zero=missing_as_zero) == expected
    return log


def duckdb_counts(
    path: str, schema: str, streams: t.Iterable[str], *, missing_as_zero: bool = False
) -> dict[str, int]:
    """Rows per stream table in the DuckDB file; `missing_as_zero` as in `pg_counts`."""
    import duckdb

    with duckdb.connect(path, read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?", [schema]
            ).fetchall()
        }
        return {
            stream: 0
            if missing_as_zero and stream not in tables
            else con.execute(f'select count(*) from {schema}."{stream}"').fetchone()[0]
            for stream in streams
        }


def discover(tap: str, config: dict[str, t.Any]) -> dict[str, t.Any]:
    """The catalog `TAP --discover` prints (the run must succeed)."""
    run = run_tap(tap, config, "--discover")
    assert run.returncode == 0, run.stderr[-2000:]
    return t.cast(dict[str, t.Any], json.loads(run.stdout))


def assert_unique_keys(run: TapRun, *, nonempty: bool = False) -> dict[str, list[str]]:
    """No record repeats its stream's key_properties: nothing was read twice, across retries or pages.

    `nonempty`: also every stream with a SCHEMA message has records. Returns the keys per stream.
    """
    keys = {m["stream"]: m["key_properties"] for m in run.of_type("SCHEMA")}
    for stream, key in keys.items():
        seen = collections.Counter(tuple(r[k] for k in key) for r in run.records(stream))
        assert seen or not nonempty, stream
        repeated = [k for k, n in seen.items() if n > 1]
        assert repeated == [], (stream, repeated[:5])
    return keys


def assert_exactly_once(run: TapRun, expected: dict[str, int]) -> None:
    """The run wrote `expected` records per stream and none of them twice."""
    assert run.counts() == expected
    assert_unique_keys(run)


def assert_activated_after_records(run: TapRun, streams: t.Iterable[str], *, nonempty: bool = False) -> None:
    """Each stream's one ACTIVATE_VERSION follows its last record: a target deletes rows older than it.

    `nonempty`: also each stream has records.
    """
    for stream in streams:
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        records = [i for i, kind in enumerate(kinds) if kind == "RECORD"]
        assert records or not nonempty, stream
        assert kinds.count("ACTIVATE_VERSION") == 1, stream
        assert kinds.index("ACTIVATE_VERSION") > max(records, default=-1), stream


def assert_records_validate(run: TapRun) -> dict[str, dict[str, t.Any]]:
    """Every record is valid under its stream's SCHEMA message (formats too) and has only declared fields.

    Returns the schemas per stream.
    """
    import jsonschema

    schemas = {m["stream"]: m["schema"] for m in run.of_type("SCHEMA")}
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for message in run.of_type("RECORD"):
        schema = schemas[message["stream"]]
        jsonschema.validate(message["record"], schema, format_checker=checker)
        assert set(message["record"]) <= set(schema["properties"]), message["stream"]
    return schemas


def assert_final_state(run: TapRun, streams: t.Iterable[str]) -> dict[str, dict[str, t.Any]]:
    """The last STATE bookmarks exactly `streams`, none left mid-sync (partitions, progress markers).

    Returns its bookmarks.
    """
    states = run.of_type("STATE")
    assert states
    bookmarks: dict[str, dict[str, t.Any]] = states[-1]["value"]["bookmarks"]
    assert set(bookmarks) == set(streams)
    for stream, bookmark in bookmarks.items():
        assert "partitions" not in bookmark, stream
        assert "progress_markers" not in bookmark, stream
    return bookmarks


def api_reference(tap: str) -> Path:
    """The tap's API reference in the repository: what its API's publisher documents."""
    return ROOT / tap / "API.md"


def documented_paths(tap: str) -> list[str]:
    """The paths of a tap's API reference's resources table, in its order: ['/files', ...]."""
    return re.findall(r"^\| [^|]+ \| `(/[^`]*)` \|", api_reference(tap).read_text(), re.MULTILINE)


def documented_fields(tap: str) -> dict[str, dict[str, str]]:
    """Fields per resource from a tap's API reference: {'Users': {'emailId': 'string'}}."""
    text = api_reference(tap).read_text().split("\n## Fields\n", 1)[1]
    found: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n### ", text)[1:]:
        title = block.splitlines()[0].strip()
        found[title] = dict(re.findall(r"- `(\w+)`: ([\w ]+)", block))
    return found
