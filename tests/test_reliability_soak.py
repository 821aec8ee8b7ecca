"""Soak (issue 12, section 6): every tap under a heavy fault mix, three runs, all complete and identical.

Half the URLs fail one to three times in a row (5xx, dropped connections, now and then
a 429 with Retry-After), some answer slowly, and every access token dies twice mid-run.
The default three retries must carry every run to the same complete output.
"""

from __future__ import annotations

import json

import pytest

from analytics_sandbox import Sandbox
from analytics_sandbox.faults import Fault, Flaky
from tests.helpers import TapRun, assert_unique_keys, run_tap

RUNS = 3


def soak_run(api: str) -> tuple[TapRun, dict[str, int], int, int]:
    """One run against a fresh sandbox with the mix: the run, the data's counts, faults and 429s met."""
    box = Sandbox(port=0, apis=[api]).start()
    try:
        box.faults.flaky[api] = Flaky(ratio=50, times=3, slow_ratio=10, slow_ms=150)
        # Every access token stops working, twice; a refresh works. A request may meet both
        # expiries across its retries (a 401, then a 5xx, then a 401): each gets its refresh.
        # c's static bearer token cannot be refreshed: a 401 ends its run.
        for after in (4, 28) if api != "c" else ():
            box.faults.add(Fault(api=api, kind="expire", after=after, times=1))
        cfg = box.tap_config(api) | {"backoff_factor": 0, "max_retries": 3}
        if api in ("b", "d", "e"):
            cfg["page_size"] = 20  # more pages, so more URLs to fault
        run = run_tap(f"tap-analytics-{api}", cfg, timeout=120)
        faulted = sum(1 for served in box.served if served.status >= 400 or served.status == 0)
        assert len(box.served) > 35  # both expiries fall inside the run
        limited = sum(1 for served in box.served if served.status == 429)
        return run, box.apis[api].counts(), faulted, limited
    finally:
        box.stop()


def canonical(run: TapRun) -> dict[str, list[str]]:
    """Records per stream as sorted JSON text: what a target ends up with."""
    streams = {m["stream"] for m in run.of_type("SCHEMA")}
    return {s: sorted(json.dumps(r, sort_keys=True) for r in run.records(s)) for s in streams}


@pytest.mark.parametrize(
    "api",
    [
        "a",
        "b",
        "c",
        "d",
        "e",
    ],
)
def test_soak_runs_are_complete_and_identical(api):
    outputs = []
    rate_limited = 0
    for _ in range(RUNS):
        run, counts, faulted, limited = soak_run(api)
        rate_limited += limited
        assert run.returncode == 0, run.stderr[-3000:]
        assert faulted > 0  # the mix really hit this run
        assert run.counts() == {s: n for s, n in counts.items() if n}, run.counts()
        assert_unique_keys(run)
        outputs.append((canonical(run), run.of_type("STATE")[-1]["value"]))
    assert all(output == outputs[0] for output in outputs[1:])
    assert rate_limited > 0  # 429s with Retry-After were part of the mix
