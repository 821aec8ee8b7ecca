"""tap-analytics-a run by hand: every setting from the environment, integers included."""

from __future__ import annotations

from tests.helpers import env_config, run_tap


def test_every_setting_from_the_environment(sandbox, tmp_path):
    cfg = sandbox.tap_config("a") | {
        "max_concurrent_requests": 3,
        "max_retries": 1,
        "backoff_factor": 0,
        "request_timeout": 30,
        "user_agent": "tap-analytics-a-test/1",
        "refresh_token_file": str(tmp_path / "token.json"),
    }
    run = run_tap("tap-analytics-a", None, env=env_config("tap-analytics-a", cfg))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.counts() == {k: v for k, v in sandbox.apis["a"].counts().items() if v}
    assert sandbox.max_in_flight <= 3


def test_logs_show_progress_once_per_stream_and_the_sdk_metrics(sandbox):
    run = run_tap("tap-analytics-a", sandbox.tap_config("a"))
    assert run.returncode == 0, run.stderr[-2000:]
    streams = sandbox.apis["a"].counts()
    for stream, count in streams.items():
        started = [line for line in run.stderr.splitlines() if f"Stream {stream}: started" in line]
        finished = [line for line in run.stderr.splitlines() if f"Stream {stream}: finished" in line]
        assert len(started) == 1, stream  # once per stream, not once per workspace
        assert len(finished) == 1, stream
        assert f"finished, {count} records" in finished[0]
    for metric in ("record_count", "http_request_duration", "http_request_count"):
        assert f'"metric":"{metric}"' in run.stderr, metric
