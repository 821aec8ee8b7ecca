"""tap-analytics-c's complete sync against the sandbox: cursor rules, shared members, one-object users.

The checks every tap shares (counts, keys, schemas, state, ACTIVATE_VERSION, the SDK's suite) are in
test_contract.py.
"""

from __future__ import annotations

import collections
import json
import urllib.request

from analytics_sandbox import Sandbox
from tests.helpers import TapRun, control, run_tap, session_sandbox, session_sync

SANDBOX = session_sandbox()
CONFIG = SANDBOX.tap_config("c")


def full_sync() -> TapRun:
    return session_sync("tap-analytics-c")


def test_every_stream_keeps_undeclared_fields_in_extra():
    run = full_sync()
    for stream in SANDBOX.apis["c"].counts():
        assert all(r.get("extra") for r in run.records(stream)), stream


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
