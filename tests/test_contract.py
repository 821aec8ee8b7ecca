"""The contract every tap keeps, one parametrised suite over the five: discovery, keys, a complete sync,
a deselected stream, no secret in any output, one-line errors, and the SDK's standard tap tests.

What only one API has (its pagination rules, parents, incremental state, data quirks) stays in that tap's
own test files. Reading tests share the session's sandbox; tests that add faults get a fresh one.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from analytics_sandbox import Sandbox
from analytics_sandbox.faults import Fault
from tap_analytics_a.tap import TapAnalyticsA
from tap_analytics_b.tap import TapAnalyticsB
from tap_analytics_c.tap import TapAnalyticsC
from tap_analytics_common import AnalyticsTap
from tap_analytics_d.tap import TapAnalyticsD
from tap_analytics_e.tap import TapAnalyticsE
from tests.helpers import (
    assert_activated_after_records,
    assert_clean_failure,
    assert_credentials_rejected,
    assert_final_state,
    assert_records_validate,
    assert_unique_keys,
    catalog_with,
    discover,
    documented_paths,
    env_config,
    run_tap,
    session_sandbox,
    session_sync,
)

FAST = {"max_retries": 1, "backoff_factor": 0}


@dataclass(frozen=True)
class Contract:
    """What the suite needs to know of one tap: its API's facts, not its sandbox's data."""

    tap_class: type[AnalyticsTap]
    keys: dict[str, list[str]]
    required: tuple[str, ...]
    secrets: tuple[str, ...]
    rejected: tuple[str, str]  # a credential the API refuses when wrong, and what the error line says
    deselect: tuple[str, ...]  # streams to deselect, and the paths that must then get no request
    unrequested: tuple[str, ...]
    failing: tuple[str, str]  # a top-level list's path and its stream, for server errors
    broken: str  # a path whose body is made unreadable
    incremental: tuple[str, ...] = ()

    @property
    def tap(self) -> str:
        return self.tap_class.name

    @property
    def api(self) -> str:
        return self.tap[-1]


CONTRACTS = {
    c.tap: c
    for c in [
        Contract(
            TapAnalyticsA,
            keys={
                "users": ["emailId"],
                "workspaces": ["workspaceId"],
                "organizations": ["orgId"],
                "dashboards": ["viewId"],
                "views": ["viewId"],
                "trash": ["viewId"],
                "workspace_users": ["workspaceId", "emailId"],
                "folders": ["folderId"],
            },
            required=("client_id", "client_secret", "refresh_token"),
            secrets=("client_secret", "refresh_token"),
            rejected=("client_secret", "rejected the credentials"),
            deselect=("trash",),
            unrequested=("/trash",),
            failing=("/v1/orgs", "organizations"),
            broken="/v1/users",
        ),
        Contract(
            TapAnalyticsB,
            keys={path.lstrip("/"): ["id"] for path in documented_paths("tap-analytics-b")},
            required=("client_id", "client_secret", "refresh_token"),
            secrets=("client_secret", "refresh_token"),
            rejected=("client_secret", "rejected the credentials"),
            deselect=("files",),
            unrequested=("GET /files",),
            failing=("/members", "members"),
            broken="/datasets",
        ),
        Contract(
            TapAnalyticsC,
            keys={
                "users": ["id"],
                "organizations": ["id"],
                "org_members": ["organization", "id"],
                "insights_traffic": ["space_id", "timestamp"],
                "content": ["id"],
            },
            required=("access_token",),
            secrets=("access_token",),
            rejected=("access_token", "rejected access_token"),
            deselect=("content", "org_members"),
            unrequested=("/content", "/members"),
            failing=("/v1/orgs", "organizations"),
            broken="/v1/user",
        ),
        Contract(
            TapAnalyticsD,
            keys={"jobs": ["jobId"], "connections": ["connectionId"], "workspaces": ["workspaceId"]},
            required=("client_id", "client_secret"),
            secrets=("client_secret",),
            rejected=("client_secret", "rejected the credentials"),
            deselect=("workspaces",),
            unrequested=("/v1/workspaces",),
            failing=("/v1/jobs", "jobs"),
            broken="/v1/connections",
            incremental=("jobs",),
        ),
        Contract(
            TapAnalyticsE,
            keys={name: ["id"] for name in ("blocks", "databases", "pages", "users")},
            required=("client_id", "client_secret"),
            secrets=("client_secret",),
            rejected=("client_secret", "rejected the credentials"),
            deselect=("pages",),
            unrequested=("/v1/pages",),
            failing=("/v1/databases", "databases"),
            broken="/v1/pages",
        ),
    ]
}
TAPS = list(CONTRACTS)


def config(sandbox: Sandbox, contract: Contract, **extra: t.Any) -> dict[str, t.Any]:
    return sandbox.tap_config(contract.api) | extra


def secret_values(sandbox: Sandbox, contract: Contract) -> list[str]:
    return [str(config(sandbox, contract)[name]) for name in contract.secrets]


def with_records(sandbox: Sandbox, contract: Contract) -> dict[str, int]:
    return {k: n for k, n in sandbox.apis[contract.api].counts().items() if n}


@pytest.fixture(params=TAPS)
def contract(request: pytest.FixtureRequest) -> Contract:
    return CONTRACTS[request.param]


# -- the SDK's standard tap tests ---------------------------------------------------------------


def _sdk_tests(contract: Contract) -> type:
    box = session_sandbox()
    empty = [name for name, n in box.apis[contract.api].counts().items() if n == 0]
    return get_tap_test_class(
        contract.tap_class,
        config=config(box, contract),
        suite_config=SuiteConfig(ignore_no_records_for_streams=empty),
    )


TestSdkTapAnalyticsA = _sdk_tests(CONTRACTS["tap-analytics-a"])
TestSdkTapAnalyticsB = _sdk_tests(CONTRACTS["tap-analytics-b"])
TestSdkTapAnalyticsC = _sdk_tests(CONTRACTS["tap-analytics-c"])
TestSdkTapAnalyticsD = _sdk_tests(CONTRACTS["tap-analytics-d"])
TestSdkTapAnalyticsE = _sdk_tests(CONTRACTS["tap-analytics-e"])


# -- discovery and keys ----------------------------------------------------------------------------


def test_discovery_lists_every_stream_with_its_keys_and_sends_no_request(sandbox, contract):
    catalog = discover(contract.tap, config(sandbox, contract))
    keys = {s["tap_stream_id"]: s["key_properties"] for s in catalog["streams"]}
    assert keys == contract.keys
    assert set(keys) == set(sandbox.apis[contract.api].counts())
    assert sandbox.stats == {}


def test_schema_messages_carry_the_keys_and_no_key_repeats(contract):
    run = session_sync(contract.tap)
    assert assert_unique_keys(run) == contract.keys
    for message in run.of_type("SCHEMA"):
        assert set(message["key_properties"]) <= set(message["schema"]["required"]), message["stream"]


# -- a complete sync --------------------------------------------------------------------------------


def test_a_complete_sync_brings_every_record_once(contract):
    run = session_sync(contract.tap)
    assert run.counts() == with_records(session_sandbox(), contract)
    assert_unique_keys(run)


def test_every_record_validates_against_its_schema(contract):
    schemas = assert_records_validate(session_sync(contract.tap))
    assert set(schemas) == set(contract.keys)


def test_the_final_state_has_every_stream_and_nothing_mid_sync(contract):
    assert_final_state(session_sync(contract.tap), contract.keys)


def test_full_table_streams_end_with_one_activate_version(contract):
    run = session_sync(contract.tap)
    full_table = [s for s in contract.keys if s not in contract.incremental]
    assert_activated_after_records(run, full_table)
    for stream in full_table:
        versions = {m["version"] for m in run.messages if m.get("stream") == stream and "version" in m}
        assert len(versions) == 1, stream
    for stream in contract.incremental:
        assert [m for m in run.of_type("ACTIVATE_VERSION") if m["stream"] == stream] == []


def test_a_deselected_stream_is_neither_requested_nor_written(sandbox, contract):
    cfg = config(sandbox, contract)
    run = run_tap(contract.tap, cfg, catalog=catalog_with(discover(contract.tap, cfg), contract.deselect))
    assert run.returncode == 0, run.stderr[-2000:]
    assert [m for m in run.messages if m.get("stream") in contract.deselect] == []
    assert not any(name in json.dumps(run.of_type("STATE")) for name in contract.deselect)
    expected = {k: n for k, n in with_records(sandbox, contract).items() if k not in contract.deselect}
    assert run.counts() == expected
    assert not any(path in key for key in sandbox.stats for path in contract.unrequested)


def test_no_secret_in_any_output_of_a_run(contract):
    run = session_sync(contract.tap)
    for secret in secret_values(session_sandbox(), contract):
        assert secret not in run.stdout
        assert secret not in run.stderr


# -- errors a user can act on: one line, exit code 1, no traceback, no secret ------------------------


def test_a_missing_setting_is_named_before_any_request(sandbox, contract):
    for missing in contract.required:
        cfg = config(sandbox, contract)
        del cfg[missing]
        run = run_tap(contract.tap, cfg)
        assert_clean_failure(run, mentions=missing, secrets=secret_values(sandbox, contract))
        assert sandbox.stats == {}, missing


def test_a_missing_setting_from_the_environment_is_named(sandbox, contract):
    missing = contract.required[0]
    cfg = config(sandbox, contract)
    del cfg[missing]
    run = run_tap(contract.tap, None, env=env_config(contract.tap, cfg))
    assert_clean_failure(run, mentions=missing, secrets=secret_values(sandbox, contract))


@pytest.mark.parametrize("source", ["file", "environment"])
def test_a_rejected_credential_is_one_line_before_any_record(sandbox, contract, source):
    setting, says = contract.rejected
    wrong = f"not-the-{setting}-4711"
    cfg = config(sandbox, contract, **{setting: wrong})
    run = (
        run_tap(contract.tap, cfg)
        if source == "file"
        else run_tap(contract.tap, None, env=env_config(contract.tap, cfg))
    )
    secrets = [*secret_values(sandbox, contract), wrong]
    assert_credentials_rejected(run, mentions=says, secrets=secrets)


def test_a_persistent_server_error_names_status_stream_path_and_tries(sandbox, contract):
    path, stream = contract.failing
    sandbox.faults.add(Fault(api=contract.api, path=f"^{path}$", status=500, times=-1))
    run = run_tap(contract.tap, config(sandbox, contract, **FAST))
    line = assert_clean_failure(run, mentions="500", secrets=secret_values(sandbox, contract))
    assert stream in line and path in line and "2 tries" in line
    assert sandbox.stats[f"{contract.api} GET {path}"] == 2


def test_a_client_error_fails_at_once(sandbox, contract):
    path, stream = contract.failing
    sandbox.faults.add(Fault(api=contract.api, path=f"^{path}$", status=403, times=-1))
    run = run_tap(contract.tap, config(sandbox, contract, max_retries=3, backoff_factor=0))
    line = assert_clean_failure(run, mentions="403", secrets=secret_values(sandbox, contract))
    assert f"stream {stream}" in line and path in line
    assert sandbox.stats[f"{contract.api} GET {path}"] == 1


def test_an_unreadable_body_names_the_path(sandbox, contract):
    sandbox.faults.add(Fault(api=contract.api, path=f"^{contract.broken}$", kind="broken_body", times=-1))
    run = run_tap(contract.tap, config(sandbox, contract, **FAST))
    line = assert_clean_failure(run, mentions="not valid JSON", secrets=secret_values(sandbox, contract))
    assert contract.broken in line
