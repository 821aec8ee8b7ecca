"""The loaders' tuned settings: set in meltano.yml, and each one overridable from the environment."""

from __future__ import annotations

import json

import pytest

from tests.helpers import meltano

TUNED = ("use_copy", "validate_records", "batch_size_rows")


def dumped_config(plugin: str, env: dict[str, str], tmp_path) -> dict:
    result = meltano(
        "invoke", "--dump=config", plugin, env={"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"} | env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.meltano
def test_target_postgres_runs_with_the_tuned_settings_and_the_environment_overrides_them(tmp_path):
    chosen = dumped_config("target-postgres", {}, tmp_path)
    # COPY only when the extractor's `_load_use_copy` says so (test_d_e2e, test_e_e2e); alone, not.
    assert not chosen.get("use_copy")
    assert chosen["validate_records"] is False
    assert chosen["batch_size_rows"] == 10_000

    # Meltano passes a setting from the environment only if the loader declares it.
    env = {
        "TARGET_POSTGRES_USE_COPY": "true",
        "TARGET_POSTGRES_VALIDATE_RECORDS": "true",
        "TARGET_POSTGRES_BATCH_SIZE_ROWS": "1234",
    }
    overridden = dumped_config("target-postgres", env, tmp_path)
    assert {k: overridden[k] for k in TUNED} == {
        "use_copy": True,
        "validate_records": True,
        "batch_size_rows": 1234,
    }
