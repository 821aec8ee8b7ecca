"""The SDK's standard tap tests for tap-analytics-c, plus what they cannot catch in 0.54."""

from __future__ import annotations

import collections
import functools
import json
import urllib.request

from singer_sdk.testing import get_tap_test_class

from analytics_sandbox import Sandbox
from tap_analytics_c.tap import TapAnalyticsC
from tests.helpers import (
    assert_activated_after_records,
    assert_final_state,
    assert_records_validate,
    assert_unique_keys,
    control,
    run_tap,
)

SANDBOX = Sandbox(port=0, apis=["c"]).start()
CONFIG = SANDBOX.tap_config("c")

TestTapAnalyticsC = get_tap_test_class(TapAnalyticsC, config=CONFIG)


@functools.cache
def full_sync():
    run = run_tap("tap-analytics-c", CONFIG)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_a_full_sync_matches_the_sandbox():
    assert full_sync().counts() == SANDBOX.apis["c"].counts()


def test_no_duplicate_primary_keys():
    keys = assert_unique_keys(full_sync(), nonempty=True)
    assert set(keys) == set(SANDBOX.apis["c"].counts())


def test_every_record_validates_against_its_schema():
    assert_records_validate(full_sync())


def test_every_stream_keeps_undeclared_fields_in_extra():
    run = full_sync()
    for stream in SANDBOX.apis["c"].counts():
        assert all(r.get("extra") for r in run.records(stream)), stream


def test_final_state_has_every_stream_and_no_partitions():
    assert_final_state(full_sync(), SANDBOX.apis["c"].counts())


def test_activate_version_follows_the_stream_records():
    assert_activated_after_records(full_sync(), SANDBOX.apis["c"].counts(), nonempty=True)


def walk(path: str) -> list[dict]:
    """Every page of a sandbox list, following its cursors as the document says."""
    bodies, cursor = [], None
    while True:
        url = f"{CONFIG['base_url']}{path}" + (f"?page={cursor}" if cursor else "")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {CONFIG['access_token']}"})
        with urllib.request.urlopen(request) as reply:
            body = json.load(reply)
        bodies.append(body)
        cursor = (body.get("next") or {}).get("page")
        if not cursor:
            return bodies


def test_the_sandbox_exercises_every_cursor_rule():
    """The counts above prove the rules only if the sandbox's lists really vary like this."""
    lists = ["/v1/user", "/v1/orgs"]
    lists += [f"/v1/orgs/{o['id']}/members" for body in walk("/v1/orgs") for o in body["items"]]
    for space in CONFIG["space_ids"]:
        lists += [f"/v1/spaces/{space}/insights/traffic", f"/v1/spaces/{space}/content"]
    seen: collections.Counter[str] = collections.Counter()
    for path in lists:
        bodies = walk(path)
        seen["multi-page"] += len(bodies) > 1
        seen["null next"] += "next" in bodies[-1]
        seen["absent next"] += "next" not in bodies[-1]
        seen["empty list"] += len(bodies) == 1 and not any(
            v for v in bodies[0].values() if isinstance(v, list)
        )
        seen["empty page with a cursor"] += any(
            b.get("next") and not any(v for v in b.values() if isinstance(v, list)) for b in bodies
        )
        seen["empty last page"] += len(bodies) > 1 and not any(
            v for v in bodies[-1].values() if isinstance(v, list)
        )
    assert all(seen[rule] > 0 for rule in ("multi-page", "null next", "absent next", "empty list")), seen
    assert seen["empty page with a cursor"] > 0 and seen["empty last page"] > 0, seen


def test_the_same_member_belongs_to_several_organizations():
    shared = control(SANDBOX.url, "c/shared_members", {})
    assert shared, "the sandbox should have people in several organizations"
    run = full_sync()
    for member, orgs in shared.items():
        got = sorted(r["organization"] for r in run.records("org_members") if r["id"] == member)
        assert got == sorted(orgs), member


def test_users_as_a_single_object():
    box = Sandbox(port=0, apis=["c"], options={"c": {"single_user": True}}).start()
    try:
        run = run_tap("tap-analytics-c", box.tap_config("c"))
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.counts()["users"] == box.apis["c"].counts()["users"] == 1
    finally:
        box.stop()
