"""Interruption (issue 12, section 1): signals and a target that stops reading, tested the way they fail.

The tap writes to a reader that stops reading, so the pipe fills and the tap blocks in
the middle of a line; then the signal comes; then the reader drains the pipe. Every line
must be a whole Singer message and the exit code must say the run was killed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import typing as t

import pytest

from analytics_sandbox import Sandbox
from tests.helpers import BIN

CASES = {
    # api: (sandbox options, stream whose first record means "the interesting part is running")
    "e": ({"e": {"counts": {"blocks": 30000}}}, "blocks"),  # offset pages
    "a": ({}, "views"),  # a child stream, fetched ahead per workspace
}


@pytest.fixture
def big_sandbox(request: pytest.FixtureRequest) -> t.Iterator[Sandbox]:
    api = request.param
    box = Sandbox(port=0, scale=30 if api == "a" else 1, apis=[api], options=CASES[api][0]).start()
    yield box
    box.stop()


def start(box: Sandbox, api: str, tmp_path) -> subprocess.Popen[bytes]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(box.tap_config(api) | {"max_retries": 0}))
    # stderr goes to a file, as a runner such as Meltano drains it all along: only stdout stalls.
    return subprocess.Popen(
        [str(BIN / f"tap-analytics-{api}"), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("wb"),
    )


def finish(proc: subprocess.Popen[bytes], tmp_path) -> tuple[bytes, bytes]:
    """The rest of stdout, and all of stderr, once the tap has ended.

    Read through the same buffered reader as the lines before: `communicate(timeout=…)`
    reads the descriptor directly and so skips what that reader already holds.
    """
    rest: list[bytes] = []
    stdout = proc.stdout
    if stdout is not None and not stdout.closed:
        reader = threading.Thread(target=lambda: rest.append(stdout.read()), daemon=True)
        reader.start()
        reader.join(60)
        assert rest, "the tap did not close stdout within 60 s"
    proc.wait(timeout=30)
    return b"".join(rest), (tmp_path / "stderr.log").read_bytes()


def read_until(proc: subprocess.Popen[bytes], stream: str) -> list[bytes]:
    """Read whole lines until the first RECORD of `stream`, then stop reading."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if b'"type":"RECORD"' in line and f'"stream":"{stream}"'.encode() in line:
            return lines
    raise AssertionError("the tap finished before reaching " + stream)


def messages(raw: bytes) -> list[dict[str, t.Any]]:
    """Every line parsed; a half-written line fails here."""
    assert raw.endswith(b"\n"), raw[-200:]
    parsed = [json.loads(line) for line in raw.splitlines()]
    assert all(m["type"] in ("SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION") for m in parsed)
    return parsed


def error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if "| ERROR" in line]


@pytest.mark.parametrize(
    ("big_sandbox", "api", "signum"),
    [
        ("e", "e", signal.SIGTERM),
        ("e", "e", signal.SIGINT),
        ("a", "a", signal.SIGTERM),
    ],
    indirect=["big_sandbox"],
)
def test_signal_while_the_pipe_is_full_leaves_whole_lines(big_sandbox, api, signum, tmp_path):
    proc = start(big_sandbox, api, tmp_path)
    head = read_until(proc, CASES[api][1])
    time.sleep(1.5)  # the reader pauses: the pipe fills and the tap blocks mid-write
    proc.send_signal(signum)
    time.sleep(0.5)  # the signal arrives while the tap is still blocked
    assert proc.stdout is not None
    slow = [proc.stdout.read(4096) for _ in range(5)]  # a slow reader drains a little...
    out, err = finish(proc, tmp_path)  # ...then the rest
    assert proc.returncode == 128 + signum, err.decode()[-2000:]
    raw = b"".join(head) + b"".join(slow) + out
    parsed = messages(raw)
    written = sum(1 for m in parsed if m["type"] == "RECORD")
    assert written < sum(big_sandbox.apis[api].counts().values())  # really stopped part-way
    assert "Traceback" not in err.decode()
    errors = error_lines(err)
    assert len(errors) == 1 and f"interrupted by {signum.name}" in errors[0], errors
    # The run was not finished: no stream past the interruption reports success.
    assert b"Gracefully shutting down" not in err


@pytest.mark.parametrize("big_sandbox", ["e"], indirect=True)
def test_a_target_that_stops_reading_gives_one_line(big_sandbox, tmp_path):
    proc = start(big_sandbox, "e", tmp_path)
    read_until(proc, "blocks")
    assert proc.stdout is not None
    proc.stdout.close()  # the target is gone
    _, err = finish(proc, tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in err.decode() and "Exception ignored" not in err.decode()
    assert [line.rsplit("| ", 1)[-1] for line in error_lines(err)] == ["the target stopped reading"]
