"""The schema contract (issue 12, section 2): every emitted record validates against its SCHEMA."""

from __future__ import annotations

import json
import typing as t

import pytest

from analytics_sandbox.faults import Fault
from tap_analytics_common.contract import Contract, ContractError
from tests.helpers import assert_clean_failure, assert_records_validate, discover, run_tap

APIS = ["a", "b", "c", "d", "e"]
FAST = {"max_retries": 1, "backoff_factor": 0}
WRONG = {"unexpected": [1, 2]}  # what the sandbox's wrong_type fault puts in a field

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "size": {"type": "integer"},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "extra": {"type": ["object", "null"]},
    },
    "required": ["id"],
}


def contract(**policy: t.Any) -> Contract:
    return Contract("items", SCHEMA, key_fields=["id"], **policy)


# -- the compiled check -----------------------------------------------------------------


def test_evolve_moves_a_wrong_value_to_extra_and_nulls_the_field():
    check = contract()
    row = {"id": "1", "name": {"first": "x"}, "size": "7", "tags": ["a", 2], "at": "yesterday"}
    assert check.conform(row) == {
        "id": "1",
        "name": None,
        "tags": None,
        "at": None,
        "extra": {"name": {"first": "x"}, "size": "7", "tags": ["a", 2], "at": "yesterday"},
    }  # size is not nullable: dropped, its value kept in extra
    assert check.violations == {
        "name not string or null (object)": 1,
        "size not integer (string)": 1,
        "tags not array or null (array)": 1,
        "at not string or null (string)": 1,
    }


def test_valid_records_pass_unchanged():
    check = contract()
    row = {"id": "1", "name": None, "size": 3, "tags": ["a"], "at": "2024-01-02T03:04:05Z"}
    assert check.conform(dict(row)) == row
    assert check.conform({"id": "2"}) == {"id": "2"}  # absent optional fields are valid
    assert not check.violations


def test_booleans_are_not_integers():
    check = contract()
    assert check.conform({"id": "1", "size": True}) == {"id": "1", "extra": {"size": True}}


def test_freeze_fails_at_the_first_violation_naming_stream_field_and_key():
    with pytest.raises(ContractError) as caught:
        contract(schema_contract="freeze").conform({"id": "k-9", "name": 5})
    assert str(caught.value) == (
        "stream items: field name of record id='k-9' is integer, the schema allows string or null "
        "(schema_contract: freeze)"
    )


def test_records_without_key_fail_naming_stream_and_page_path():
    records: list[dict[str, t.Any]] = [{"id": "1"}, {"name": "no id"}, {"id": 2}]
    with pytest.raises(
        ContractError, match=r"stream items: /v1/items sent 2 record\(s\) without its primary key id"
    ):
        contract().keep_keyed(records, "/v1/items")


def test_records_without_key_skip_drops_and_counts():
    check = contract(records_without_key="skip")
    kept = check.keep_keyed([{"id": "1"}, {"name": "x"}, {"id": 2}, {"id": None}], "/v1/items")
    assert kept == [{"id": "1"}]
    assert check.skipped == 3


# -- every tap, against the sandbox ---------------------------------------------------------


def target(sandbox, api: str) -> tuple[str, str, str]:
    """The tap's largest stream with a one-field key, that key and one nullable non-key field."""
    catalog = discover(f"tap-analytics-{api}", sandbox.tap_config(api))
    counts = sandbox.apis[api].counts()
    for entry in sorted(catalog["streams"], key=lambda e: -counts.get(e["tap_stream_id"], 0)):
        keys = entry["key_properties"]
        if len(keys) != 1:
            continue
        for name, prop in entry["schema"]["properties"].items():
            if name not in keys and name != "extra" and prop.get("type") == ["string", "null"]:
                return entry["tap_stream_id"], keys[0], name
    raise AssertionError(api)


@pytest.mark.parametrize("api", APIS)
def test_every_record_validates_under_wrong_types_and_keyless_records(sandbox, api):
    stream, key, field = target(sandbox, api)
    sandbox.faults.add(Fault(api=api, kind="drop_field", field=key, every=3, times=-1))
    sandbox.faults.add(Fault(api=api, kind="wrong_type", field=field, every=2, times=-1))
    cfg = sandbox.tap_config(api) | FAST | {"records_without_key": "skip"}
    run = run_tap(f"tap-analytics-{api}", cfg)
    assert run.returncode == 0, run.stderr[-3000:]
    assert_records_validate(run)
    records = run.records(stream)
    assert records and all(r.get(key) is not None for r in records)
    moved = [r for r in records if r[field] is None and (r.get("extra") or {}).get(field) == WRONG]
    assert moved, (stream, field)  # evolve kept the value, under extra
    warnings = [line for line in run.stderr.splitlines() if f"Stream {stream}:" in line and "WARNING" in line]
    assert any("skipped" in line and key in line for line in warnings), warnings
    assert any(f"{field} not string or null (object) x" in line for line in warnings), warnings
    metrics = [
        json.loads(line.split("METRIC: ", 1)[1])
        for line in run.stderr.splitlines()
        if '"metric":"schema_contract"' in line
    ]
    ours = [m for m in metrics if m["tags"]["stream"] == stream]
    assert len(ours) == 1 and ours[0]["tags"]["records_without_key"] > 0


def test_keyless_records_fail_by_default_naming_stream_and_path(sandbox):
    sandbox.faults.add(Fault(api="e", path="^/v1/users$", kind="drop_field", field="id", every=3))
    cfg = sandbox.tap_config("e") | FAST
    run = run_tap("tap-analytics-e", cfg)
    line = assert_clean_failure(run, mentions="stream users", secrets=[cfg["client_secret"]])
    assert "/v1/users" in line and "without its primary key id" in line and "records_without_key" in line


def test_freeze_fails_at_the_first_wrong_type(sandbox):
    sandbox.faults.add(Fault(api="b", kind="wrong_type", field="createdAt", every=4, times=-1))
    cfg = sandbox.tap_config("b") | FAST | {"schema_contract": "freeze"}
    run = run_tap("tap-analytics-b", cfg)
    line = assert_clean_failure(run, mentions="field createdAt of record id=", secrets=[cfg["client_secret"]])
    assert "schema_contract: freeze" in line


def test_undeclared_fields_are_listed_once_per_stream(sandbox):
    run = run_tap("tap-analytics-e", sandbox.tap_config("e") | FAST)
    assert run.returncode == 0, run.stderr[-2000:]
    listed = [line for line in run.stderr.splitlines() if "fields beyond the schema" in line]
    streams = {m["stream"] for m in run.of_type("SCHEMA")}
    assert len(listed) == len(streams)  # e keeps every field but its three declared ones in extra
