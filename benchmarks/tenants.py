"""Many tenants: the `sync_tenants` Dagster job on N tenants against the sandbox, at most M at a time.

Measures the job's wall time against the sum of the tenants' solo runs (`meltano run` alone, the
op's own work, for a sample of tenants per tap, scaled to all of them), and the peak memory of the
whole job (the Dagster process and everything it starts). Writes benchmarks/results/tenants.json.

    .venv/bin/python benchmarks/tenants.py [--tenants 50] [--max-concurrent 8] [--solo-per-tap 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import BIN, RESULTS, Sandbox  # noqa: E402
from tap_analytics_orchestration.meltano_run import sync  # noqa: E402
from tap_analytics_orchestration.project import extractors  # noqa: E402
from tap_analytics_orchestration.tenants import load_tenants  # noqa: E402

APIS = "abcde"
PG = "host=127.0.0.1 port=5432 user=root dbname=postgres"
SYSTEM_DB = "tap_analytics_bench_meltano"
TARGET_DB = "tap_analytics_bench"


def tap_config(sandbox: Sandbox, api: str) -> dict:
    with urllib.request.urlopen(f"{sandbox.url}/_control/{api}/tap_config") as reply:
        return json.load(reply)


def fresh_databases(schemas: list[str]) -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"drop database if exists {SYSTEM_DB} with (force)")
        conn.execute(f"create database {SYSTEM_DB}")
        if not conn.execute("select 1 from pg_database where datname = %s", (TARGET_DB,)).fetchone():
            conn.execute(f"create database {TARGET_DB}")
    with psycopg.connect(PG.replace("dbname=postgres", f"dbname={TARGET_DB}"), autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"drop schema if exists {schema} cascade")


class TreeMemory:
    """Samples the summed RSS of a process and all its descendants; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total, count = 0, 0
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in tree:
                try:
                    total += proc.memory_info().rss
                    count += 1
                except psutil.Error:
                    pass
            if total > self.peak:
                self.peak, self.processes = total, count
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--max-concurrent", type=int, default=8)
    parser.add_argument("--solo-per-tap", type=int, default=1, help="solo runs timed per tap")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        work = Path(tmp)
        tenants = []
        for i in range(args.tenants):
            api = APIS[i % len(APIS)]
            config = tap_config(sandbox, api)
            tenants.append({"name": f"t{i:03d}", "tap": f"tap-analytics-{api}", "config": config})
        (work / "tenants.yml").write_text(yaml.safe_dump({"tenants": tenants}))
        (work / "run.yml").write_text(
            yaml.safe_dump({"execution": {"config": {"max_concurrent": args.max_concurrent}}})
        )
        (work / "dagster").mkdir()
        env = os.environ | {
            "TAP_ANALYTICS_TENANTS": str(work / "tenants.yml"),
            "TAP_ANALYTICS_TOKENS_DIR": str(work / "tokens"),
            "MELTANO_DATABASE_URI": f"postgresql+psycopg://root@127.0.0.1:5432/{SYSTEM_DB}",
            "MELTANO_ENVIRONMENT": "dev",
            "TARGET_POSTGRES_DATABASE": TARGET_DB,
            "DAGSTER_HOME": str(work / "dagster"),
        }
        loaded = load_tenants(work / "tenants.yml", extractors(ROOT), env)
        fresh_databases([t.schema for t in loaded])

        started = time.monotonic()
        job = ["job", "execute", "-m", "tap_analytics_orchestration", "-j", "sync_tenants"]
        proc = subprocess.Popen(
            [str(BIN / "dagster"), *job, "-c", str(work / "run.yml")],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        memory = TreeMemory(proc.pid)
        code = proc.wait()
        wall = time.monotonic() - started
        memory.stop()
        peak = memory.peak / 2**20
        print(f"job: exit {code}, {wall:.1f} s, peak {peak:.0f} MiB in {memory.processes} processes")

        solo: dict[str, list[float]] = {}
        for api in APIS:
            for tenant in [t for t in loaded if t.tap.name.endswith(f"-{api}")][: args.solo_per_tap]:
                began = time.monotonic()
                outcome = sync(tenant, ROOT, lambda *_: None, env)
                solo.setdefault(api, []).append(time.monotonic() - began)
                took = solo[api][-1]
                print(f"solo {tenant.name} ({tenant.tap.name}): {took:.1f} s, exit {outcome.returncode}")
        per_tap = {api: sum(times) / len(times) for api, times in solo.items()}
        solo_sum = sum(per_tap[t.tap.name[-1]] for t in loaded)

    result = {
        "tenants": args.tenants,
        "max_concurrent": args.max_concurrent,
        "job_exit_code": code,
        "job_wall_s": round(wall, 1),
        "solo_mean_s_per_tap": {k: round(v, 1) for k, v in per_tap.items()},
        "solo_runs_timed": sum(len(v) for v in solo.values()),
        "solo_sum_s": round(solo_sum, 1),
        "wall_over_solo_sum": round(wall / solo_sum, 3),
        "peak_rss_mib": round(memory.peak / 2**20),
        "peak_processes": memory.processes,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tenants.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
