"""The tenants file: each problem is one line naming the entry; the job fails before any sync."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from tap_analytics_orchestration.jobs import read_tenants, sync_tenants
from tap_analytics_orchestration.project import extractors, project_root
from tap_analytics_orchestration.tenants import TenantsFileError, load_tenants

TAPS = extractors(project_root())
GOOD = {"name": "acme", "tap": "tap-analytics-c", "config": {"access_token": "${ACME_TOKEN}"}}


def problem(tmp_path, tenants, environ=None) -> str:
    path = tmp_path / "tenants.yml"
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    with pytest.raises(TenantsFileError) as caught:
        load_tenants(path, TAPS, {"ACME_TOKEN": "x"} if environ is None else environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([GOOD | {"tap": "tap-analytics-x"}], "tenant 'acme': unknown tap 'tap-analytics-x'"),
        ([GOOD, GOOD], "tenant 'acme': duplicate name (entry 2)"),
        (
            [GOOD | {"config": {"access_token": "${NOT_SET_ANYWHERE}"}}],
            "reads ${NOT_SET_ANYWHERE}, which is not set",
        ),
        (
            [GOOD | {"config": {"client_secret": "x"}}],
            "tenant 'acme': tap-analytics-c has no setting 'client_secret'",
        ),
        ([GOOD | {"name": "Acme-Corp"}], "name must be lowercase letters, digits and _"),
        ([GOOD | {"config": {"refresh_token_file": "/tmp/x"}}], "refresh_token_file is set by the job"),
        ([GOOD | {"cofnig": {}}], "unknown key 'cofnig'"),
    ],
)
def test_a_bad_entry_is_one_line_naming_it(tmp_path, entries, expected):
    assert expected in problem(tmp_path, entries)


def test_a_missing_or_empty_file_says_what_to_do(tmp_path):
    with pytest.raises(TenantsFileError, match=r"tenants\.yml not found: copy tenants\.example\.yml"):
        load_tenants(tmp_path / "tenants.yml", TAPS, {})
    assert "non-empty top-level `tenants:` list" in problem(tmp_path, [])


def test_variables_are_read_when_the_job_runs_and_are_secrets(tmp_path):
    path = tmp_path / "tenants.yml"
    entry = GOOD | {
        "config": {"access_token": "${ACME_TOKEN}", "space_ids": ["s-${SPACE}"], "max_retries": 2}
    }
    path.write_text(yaml.safe_dump({"tenants": [entry]}))
    (tenant,) = load_tenants(path, TAPS, {"ACME_TOKEN": "x", "SPACE": "1"})
    env, secrets = tenant.settings_env({"ACME_TOKEN": "tok-now", "SPACE": "9"})
    assert env == {
        "TAP_ANALYTICS_C_ACCESS_TOKEN": "tok-now",
        "TAP_ANALYTICS_C_SPACE_IDS": '["s-9"]',
        "TAP_ANALYTICS_C_MAX_RETRIES": "2",
    }
    assert "tok-now" in secrets
    assert tenant.schema == "tap_analytics_c__acme"


def test_the_job_fails_before_any_sync_with_the_files_line(tmp_path, monkeypatch):
    path = tmp_path / "tenants.yml"
    path.write_text(yaml.safe_dump({"tenants": [GOOD | {"tap": "tap-analytics-z"}]}))
    monkeypatch.setenv("TAP_ANALYTICS_TENANTS", str(path))
    with dg.build_op_context() as context, pytest.raises(dg.Failure) as caught:
        list(read_tenants(context))
    assert caught.value.description.startswith("tenant 'acme': unknown tap 'tap-analytics-z'; use one of")


def test_the_job_wants_a_system_database_that_takes_concurrent_writers(tmp_path, monkeypatch):
    path = tmp_path / "tenants.yml"
    path.write_text(yaml.safe_dump({"tenants": [GOOD]}))
    monkeypatch.setenv("TAP_ANALYTICS_TENANTS", str(path))
    monkeypatch.setenv("ACME_TOKEN", "x")
    monkeypatch.delenv("MELTANO_DATABASE_URI", raising=False)
    with dg.build_op_context() as context, pytest.raises(dg.Failure) as caught:
        list(read_tenants(context))
    assert caught.value.description.startswith("MELTANO_DATABASE_URI must name a PostgreSQL database")


def test_four_tenants_run_at_once_unless_the_run_config_says_otherwise():
    assert sync_tenants.run_config == {"execution": {"config": {"max_concurrent": 4}}}
