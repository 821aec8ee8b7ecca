"""tap-analytics-d standalone against the sandbox: both `next` forms, incremental jobs, interruption."""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

import pytest

from analytics_sandbox import Sandbox
from analytics_sandbox.apis.d import CURSOR_PAGE
from tap_analytics_d.streams import parse_timestamp
from tap_analytics_d.tap import TapAnalyticsD
from tests.helpers import BIN, control, run_tap

TAP = "tap-analytics-d"


def catalog_of(config: dict, *streams: str) -> dict:
    catalog = TapAnalyticsD(config=config).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def final_state(run) -> dict:
    states = run.of_type("STATE")
    assert states, run.stderr[-2000:]
    return states[-1]["value"]


def sync(config: dict, **kwargs):
    run = run_tap(TAP, config, **kwargs)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


# -- the `next` cursor in both forms ------------------------------------------------------


@pytest.mark.parametrize("form", ["token", "url"])
def test_both_next_forms_page_through_everything(sandbox, form):
    assert control(sandbox.url, "d/next_form", {"form": form}) == {"next_form": form}
    cfg = sandbox.tap_config("d")
    run = sync(cfg, catalog=catalog_of(cfg, "connections", "workspaces"))
    counts = sandbox.apis["d"].counts()
    assert run.counts() == {"connections": counts["connections"], "workspaces": counts["workspaces"]}
    for stream, key in (("connections", "connectionId"), ("workspaces", "workspaceId")):
        ids = [r[key] for r in run.records(stream)]
        assert len(set(ids)) == len(ids) == counts[stream]
        # One request per page: the sandbox answers 400 to any parameter beyond its own `next`.
        assert sandbox.stats[f"d GET /v1/{stream}"] == math.ceil(counts[stream] / CURSOR_PAGE)


def test_next_urls_are_absolute_and_followed_as_they_are(sandbox):
    api = sandbox.apis["d"]
    control(sandbox.url, "d/next_form", {"form": "url"})
    sandbox.tap_config("d")
    first = api.handle("/v1/connections", {}).body["next"]
    assert first.startswith(f"{sandbox.url}/d/v1/connections?next=")
    # What the tap must not do: send the URL's parameters again, or the URL as a token.
    token = first.split("next=", 1)[1]
    assert api.handle("/v1/connections", {"next": token}).status == 200
    assert api.handle("/v1/connections", {"next": first}).status == 400
    assert api.handle("/v1/connections", {"next": token, "limit": "10"}).status == 400


def test_the_url_form_can_be_chosen_when_the_sandbox_starts():
    box = Sandbox(port=0, apis=["d"], options={"d": {"next_form": "url"}}).start()
    try:
        cfg = box.tap_config("d")
        run = sync(cfg, catalog=catalog_of(cfg, "workspaces"))
        assert run.counts() == {"workspaces": box.apis["d"].counts()["workspaces"]}
        assert box.apis["d"].handle("/v1/workspaces", {}).body["next"].startswith("http://")
    finally:
        box.stop()


# -- jobs: unordered, incremental -----------------------------------------------------------


def test_jobs_come_in_no_particular_order(sandbox):
    cfg = sandbox.tap_config("d")
    jobs = sync(cfg, catalog=catalog_of(cfg, "jobs")).records("jobs")
    assert len(jobs) == sandbox.apis["d"].counts()["jobs"]
    ids = [j["jobId"] for j in jobs]
    stamps = [parse_timestamp(j["lastUpdatedAt"]) for j in jobs]
    assert ids != sorted(ids)
    assert stamps != sorted(stamps)
    assert stamps != sorted(stamps, reverse=True)


@pytest.mark.parametrize(("total", "requests"), [(False, 4), (True, 3)])
def test_jobs_end_on_an_empty_page_or_on_the_total(total, requests):
    box = Sandbox(port=0, apis=["d"], options={"d": {"counts": {"jobs": 300}, "jobs_total": total}}).start()
    try:
        cfg = box.tap_config("d") | {"max_concurrent_requests": 1}  # the requests a sequential run makes
        run = sync(cfg, catalog=catalog_of(cfg, "jobs"))
        assert len({r["jobId"] for r in run.records("jobs")}) == 300
        assert box.stats["d GET /v1/jobs"] == requests  # 3 full pages, then an empty one without a total
    finally:
        box.stop()


def test_a_page_size_the_server_caps_still_brings_every_job(sandbox):
    cfg = sandbox.tap_config("d") | {"page_size": 250}
    run = sync(cfg, catalog=catalog_of(cfg, "jobs"))
    assert len({r["jobId"] for r in run.records("jobs")}) == sandbox.apis["d"].counts()["jobs"]


def test_a_second_run_with_the_state_brings_only_changed_and_new_jobs(sandbox):
    api = sandbox.apis["d"]
    cfg = sandbox.tap_config("d")
    catalog = catalog_of(cfg, "jobs")
    first = sync(cfg, catalog=catalog)
    assert len(first.records("jobs")) == api.counts()["jobs"]
    state = final_state(first)
    old_mark = parse_timestamp(state["bookmarks"]["jobs"]["replication_key_value"])
    at_mark = {j["jobId"] for j in api.control("jobs", {}) if parse_timestamp(j["lastUpdatedAt"]) == old_mark}
    assert at_mark  # the newest job of the first run

    changed = control(sandbox.url, "d/change_jobs", {"count": 7})
    added = control(sandbox.url, "d/add_jobs", {"count": 3})
    second = sync(cfg, catalog=catalog, state=state)
    got = {r["jobId"]: r for r in second.records("jobs")}
    fresh = {j["jobId"]: j for j in changed + added}
    # Inclusive bookmark: the job at the old bookmark comes again, nothing else unchanged does.
    assert set(got) == set(fresh) | at_mark
    for job_id, job in fresh.items():
        assert {k: got[job_id].get(k) for k in ("lastUpdatedAt", "status", "rowsSynced")} == {
            k: job[k] for k in ("lastUpdatedAt", "status", "rowsSynced")
        }
    new_mark = parse_timestamp(final_state(second)["bookmarks"]["jobs"]["replication_key_value"])
    assert new_mark == max(parse_timestamp(j["lastUpdatedAt"]) for j in fresh.values())

    third = sync(cfg, catalog=catalog, state=final_state(second))
    newest = {j for j, rec in fresh.items() if parse_timestamp(rec["lastUpdatedAt"]) == new_mark}
    assert {r["jobId"] for r in third.records("jobs")} == newest


def test_start_date_bounds_the_first_run(sandbox):
    api = sandbox.apis["d"]
    stamps = sorted(parse_timestamp(j["lastUpdatedAt"]) for j in api.control("jobs", {}))
    start = stamps[len(stamps) // 2]
    cfg = sandbox.tap_config("d") | {"start_date": start.isoformat()}
    run = sync(cfg, catalog=catalog_of(cfg, "jobs"))
    expected = {j["jobId"] for j in api.control("jobs", {}) if parse_timestamp(j["lastUpdatedAt"]) >= start}
    assert {r["jobId"] for r in run.records("jobs")} == expected
    assert 0 < len(expected) < len(stamps)


def test_state_works_through_the_environment_and_a_state_file(sandbox):
    cfg = sandbox.tap_config("d")
    env = {f"TAP_ANALYTICS_D_{k.upper()}": str(v) for k, v in cfg.items()}
    catalog = catalog_of(cfg, "jobs")
    first = run_tap(TAP, None, catalog=catalog, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_tap(TAP, None, catalog=catalog, state=final_state(first), env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert len(second.records("jobs")) < len(first.records("jobs")) / 10


# -- an interrupted run --------------------------------------------------------------------

BIG = {"jobs": 12_000, "connections": 3, "workspaces": 3}
"""More jobs than the SDK's STATE_MSG_FREQUENCY (10,000), so a STATE comes mid-stream."""


def read_until_killed(config: dict, catalog: dict, state: dict, stop_after: int) -> tuple[list[dict], int]:
    """Run the tap, kill it once `stop_after` records were read; its STATE messages and record count."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, value in (("config", config), ("catalog", catalog), ("state", state)):
            paths[name] = Path(tmp, f"{name}.json")
            paths[name].write_text(json.dumps(value))
        cmd = [str(BIN / TAP)] + [arg for n, p in paths.items() for arg in (f"--{n}", str(p))]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        states, read = [], 0
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                message = json.loads(line)
                if message["type"] == "STATE":
                    states.append(message["value"])
                elif message["type"] == "RECORD":
                    read += 1
                    if read >= stop_after:
                        break
        finally:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode != 0, "the tap finished before it was killed"
    return states, read


def test_an_interrupted_run_followed_by_a_clean_one_loses_no_job():
    box = Sandbox(port=0, apis=["d"], options={"d": {"counts": BIG}}).start()
    try:
        api = box.apis["d"]
        cfg = box.tap_config("d")
        catalog = catalog_of(cfg, "jobs")
        first = sync(cfg, catalog=catalog)
        assert len(first.records("jobs")) == BIG["jobs"]
        done = final_state(first)
        mark = done["bookmarks"]["jobs"]["replication_key_value"]

        changed = {j["jobId"] for j in api.control("change_jobs", {"count": 11_000})}
        box.latency_ms = 2  # slow pages: the tap is killed in the middle of the stream
        states, read = read_until_killed(cfg, catalog, done, stop_after=10_200)
        box.latency_ms = 0
        assert read < len(changed)
        mid = [s["bookmarks"]["jobs"] for s in states if "progress_markers" in s["bookmarks"].get("jobs", {})]
        assert mid, "expected a STATE mid-stream (every 10,000 records)"
        for bookmark in (s["bookmarks"]["jobs"] for s in states):
            assert bookmark["replication_key_value"] == mark  # never past a job not read yet

        resumed = sync(cfg, catalog=catalog, state=states[-1])
        got = [r["jobId"] for r in resumed.records("jobs")]
        assert changed <= set(got)
        assert len(got) == len(set(got))
    finally:
        box.stop()
