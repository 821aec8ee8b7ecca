"""Smoke: tap-analytics-a standalone against the sandbox (fuller suites live beside it)."""

from __future__ import annotations

from tests.helpers import run_tap


def test_standalone_sync_matches_sandbox_counts(sandbox):
    run = run_tap("tap-analytics-a", sandbox.tap_config("a"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.counts() == {k: v for k, v in sandbox.apis["a"].counts().items() if v}
