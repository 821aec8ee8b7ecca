"""Two runs sharing one refresh_token_file on an API that rotates single-use refresh tokens."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from analytics_sandbox.faults import Fault
from tests.helpers import BIN

ROUNDS = 3


def start(tap: str, config_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / tap), "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("api", ["a", "b"])
def test_concurrent_runs_share_a_rotating_refresh_token(sandbox, tmp_path, api):
    tap = f"tap-analytics-{api}"
    authority = sandbox.auth[api]
    authority.settings.rotate_refresh_tokens = True
    authority.settings.expires_in = 2  # refreshed again mid-run, not only at start
    token_path = sandbox.apis[api].token_path
    # A slow token endpoint widens the window in which both runs hold the same refresh token.
    sandbox.faults.add(Fault(api=api, path=f"^{token_path}$", kind="slow", delay_ms=300, times=-1))
    config = sandbox.tap_config(api) | {
        "refresh_token_file": str(tmp_path / "token.json"),
        "max_retries": 1,
        "backoff_factor": 0,
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    outputs = []
    for _ in range(ROUNDS):
        procs = [start(tap, config_path) for _ in range(2)]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
            outputs.append(sum(1 for line in out.splitlines() if '"type":"RECORD"' in line))
    assert len(set(outputs)) == 1 and outputs[0] > 0, outputs
    assert authority.token_requests >= 2 * ROUNDS
