"""The demo: start the sandbox, run every tap into the embedded DuckDB loader, print rows per stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PORT = int(os.environ.get("SANDBOX_PORT", "8800"))
TAPS = [name for name in ("a", "b", "c", "d", "e") if (ROOT / f"tap-analytics-{name}").is_dir()]


def env_for(api: str, sandbox_url: str) -> dict[str, str]:
    """Point the tap at the sandbox through the environment (as a user would with .env)."""
    with urllib.request.urlopen(f"{sandbox_url}/_control/{api}/tap_config") as reply:
        config = json.load(reply)
    prefix = f"TAP_ANALYTICS_{api.upper()}_"
    return {
        prefix + key.upper(): json.dumps(v) if isinstance(v, list) else str(v) for key, v in config.items()
    }


def main() -> int:
    warehouse = ROOT / "output" / "warehouse.duckdb"
    warehouse.parent.mkdir(exist_ok=True)
    warehouse.unlink(missing_ok=True)
    url = f"http://127.0.0.1:{PORT}"
    sandbox = subprocess.Popen([VENV_BIN / "analytics-sandbox", "--port", str(PORT)])
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"{url}/_control/stats")
                break
            except OSError:
                time.sleep(0.1)
        failed = []
        for api in TAPS:
            env = os.environ | env_for(api, url) | {"MELTANO_ENVIRONMENT": "dev"}
            run = subprocess.run(
                [VENV_BIN / "meltano", "run", "--full-refresh", f"tap-analytics-{api}", "target-duckdb"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode:
                print(run.stderr[-3000:], file=sys.stderr)
                failed.append(api)
        print_counts(warehouse, url)
        return 1 if failed else 0
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


def print_counts(warehouse: Path, url: str) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    print(f"{'tap':<18}{'stream':<20}{'rows':>8}{'sandbox':>9}")
    for api in TAPS:
        with urllib.request.urlopen(f"{url}/_control/{api}/counts") as reply:
            expected = json.load(reply)
        for stream, want in sorted(expected.items()):
            try:
                rows = con.execute(f'select count(*) from tap_analytics_{api}."{stream}"').fetchone()  # noqa: S608 - names from our own sandbox
                got = str(rows[0]) if rows else "?"
            except duckdb.Error:
                got = "missing"
            print(f"tap-analytics-{api:<4}{stream:<20}{got:>8}{want:>9}")


if __name__ == "__main__":
    sys.exit(main())
