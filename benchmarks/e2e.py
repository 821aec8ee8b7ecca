"""End to end into PostgreSQL: `meltano run tap-analytics-X target-postgres` against dlt, in one run.

Every pipeline loads the same data from one sandbox into the same local PostgreSQL:
tap-analytics-e `users` (100,000 records) and tap-analytics-a (200 workspaces, 50 ms a request).
Each is timed as a whole process (start-up included) on a first load into an empty schema and on a
re-load that merges into the rows already there, with the rows counted after every run; the
pipelines take turns, so drift on a shared machine hits them alike, after one untimed load each
(a daily pipeline's state: Meltano's catalog cache filled, bytecode compiled). Peak memory is each process's
own high-water mark (tap, target, dlt), sampled from /proc while it runs.

`make bench-e2e` (or `.venv/bin/python benchmarks/e2e.py [--quick]`) prints the table, writes
benchmarks/results/e2e.json and refreshes the end-to-end table in benchmarks/README.md. It needs
the PostgreSQL at TEST_PG_DSN (default: 127.0.0.1:5432 as root) and dlt in .venv-dlt.
`--variant LABEL:KEY=VALUE;...` adds a `meltano run` with extra environment (loader settings
such as TARGET_POSTGRES_BATCH_SIZE_ROWS=50000), which is how the loader settings were chosen.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import Sandbox, machine

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DLT_PYTHON = ROOT / ".venv-dlt" / "bin" / "python"
RESULTS = ROOT / "benchmarks" / "results"
PG_DSN = os.environ.get("TEST_PG_DSN", "host=127.0.0.1 port=5432 user=root dbname=postgres")
BENCH_DB = "tap_analytics_bench"
README_BEGIN = "<!-- e2e results: rewritten by benchmarks/e2e.py -->\n"
README_END = "<!-- end of e2e results -->\n"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- processes ---------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _high_water_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    """User plus system CPU seconds the process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _role(pid: int) -> str:
    """tap, target, dlt or meltano, from the program a process runs (not from its arguments)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    names = [Path(arg.decode(errors="replace")).name for arg in argv[:2]]
    program = names[1] if names[0].startswith("python") and len(names) > 1 else names[0]
    for prefix, role in (("tap-analytics-", "tap"), ("target-", "target"), ("dlt_load", "dlt")):
        if program.startswith(prefix):
            return role
    return "meltano" if program == "meltano" else "other"


class ProcessSampler(threading.Thread):
    """Per role (tap, target, dlt, meltano) in a process tree: the largest peak RSS and the CPU time.

    VmHWM is each process's own high-water mark and CPU time only grows, so sampling every few
    milliseconds misses only what a process adds in its last moments before it exits. CPU seconds
    say where the work is, which wall time on a shared machine does not.
    """

    def __init__(self, root: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peaks: dict[str, int] = {}
        self.cpu: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()

    def cpu_by_role(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            totals[role] = totals.get(role, 0.0) + seconds
        return totals

    def run(self) -> None:
        while not self.done.is_set():
            pending, seen = [self.root], set()
            while pending:
                pid = pending.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                pending += _children(pid)
                role = _role(pid)  # read each time: a child's command line changes at exec
                self.peaks[role] = max(self.peaks.get(role, 0), _high_water_kib(pid))
                seconds = _cpu_s(pid)
                if seconds >= self.cpu.get(pid, ("", 0.0))[1] and role != "other":
                    self.cpu[pid] = (role, seconds)
            self.done.wait(self.interval)


@dataclass
class Run:
    wall_s: float
    peaks_kib: dict[str, int]
    cpu_s: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=dict)
    exact: bool = True


def timed(cmd: list[str], env: dict[str, str], log: Path) -> Run:
    """Run a whole process tree, timing it and sampling its memory; a failure shows its log's end."""
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = ProcessSampler(proc.pid)
        sampler.start()
        try:
            code = proc.wait()
        except BaseException:  # interrupted: leave no process of the pipeline running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
    if code != 0:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"{cmd[0]} exited {code}:\n{tail}")
    return Run(wall, sampler.peaks, sampler.cpu_by_role())


# -- PostgreSQL and DuckDB ---------------------------------------------------------


def pg(database: str = "postgres") -> Any:
    return psycopg.connect(PG_DSN.replace("dbname=postgres", f"dbname={database}"), autocommit=True)


def bench_dsn() -> str:
    """The benchmark database as a URL (dlt's credentials); trust auth, so any password."""
    parts = dict(item.split("=", 1) for item in PG_DSN.split())
    return (
        f"postgresql://{parts.get('user', 'root')}:{parts.get('password', 'trust')}@"
        f"{parts.get('host', '127.0.0.1')}:{parts.get('port', '5432')}/{BENCH_DB}"
    )


def ensure_database() -> None:
    with pg() as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (BENCH_DB,)).fetchone():
            conn.execute(f"create database {BENCH_DB}")


def drop_schema(schema: str) -> None:
    with pg(BENCH_DB) as conn:
        conn.execute(f"drop schema if exists {schema} cascade")


def pg_rows(schema: str, streams: list[str], *, live: bool = False) -> dict[str, int]:
    where = " where _sdc_deleted_at is null" if live else ""
    with pg(BENCH_DB) as conn:
        return {s: conn.execute(f'select count(*) from {schema}."{s}"{where}').fetchone()[0] for s in streams}


def duckdb_rows(path: Path, schema: str, streams: list[str]) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {s: con.execute(f'select count(*) from {schema}."{s}"').fetchone()[0] for s in streams}


# -- pipelines ---------------------------------------------------------------------


@dataclass
class Case:
    """One API's load: the sandbox's arguments, the streams, the tap's extra settings."""

    api: str
    sandbox_args: list[str]
    streams: list[str]
    """The streams selected; empty: all of them."""
    tap_settings: dict[str, Any]
    describe: str

    @property
    def tap(self) -> str:
        return f"tap-analytics-{self.api}"

    @property
    def schema(self) -> str:
        return f"tap_analytics_{self.api}"


@dataclass
class Pipeline:
    name: str
    kind: str  # meltano-postgres, meltano-duckdb, dlt
    env: dict[str, str] = field(default_factory=dict)


def env_settings(plugin: str, config: dict[str, Any]) -> dict[str, str]:
    """Settings as the environment variables Meltano reads (the plugin declares each of them)."""
    prefix = plugin.upper().replace("-", "_") + "_"
    return {
        prefix + key.upper(): json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)
        for key, value in config.items()
    }


def load_once(
    case: Case, pipe: Pipeline, config: dict[str, Any], tmp: Path, expected: dict[str, int], first: bool
) -> Run:
    """One load; `first` empties the destination beforehand. Fails unless the counts are exact."""
    streams = list(expected)
    work = tmp / f"{case.api}-{pipe.name}"
    log = tmp / f"{case.api}-{pipe.name}.log"
    if first:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    base_env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1"}
    if pipe.kind == "dlt":
        dataset = f"dlt_{case.api}"
        if first:
            drop_schema(dataset)
        cfg = work / "config.json"
        cfg.write_text(json.dumps(config))
        cmd = [str(DLT_PYTHON), str(ROOT / "benchmarks" / "dlt_load.py"), case.api, str(cfg)]
        cmd += [bench_dsn(), dataset, str(work / "pipelines"), ",".join(streams)]
        # dlt extracts `parallelized` resources on a pool of this many threads (its default is 5);
        # the same bound as the tap's max_concurrent_requests.
        workers = str(case.tap_settings.get("max_concurrent_requests", 5))
        run = timed(cmd, base_env | {"EXTRACT__WORKERS": workers, "RUNTIME__LOG_LEVEL": "WARNING"}, log)
        run.counts = pg_rows(dataset, streams)
        run.live = run.counts
    else:
        loader = pipe.kind.removeprefix("meltano-").replace("postgres", "target-postgres")
        loader = loader.replace("duckdb", "target-duckdb")
        if first and pipe.kind == "meltano-postgres":
            drop_schema(case.schema)
        warehouse = work / "warehouse.duckdb"
        if first:
            warehouse.unlink(missing_ok=True)
        settings = dict(config) | case.tap_settings
        if "refresh_token" in settings:
            settings["refresh_token_file"] = str(work / "token.json")
        env = (
            base_env
            | env_settings(case.tap, settings)
            | {
                "MELTANO_ENVIRONMENT": "dev",
                "MELTANO_DATABASE_URI": f"sqlite:///{work}/meltano.db",
                f"{case.tap.upper().replace('-', '_')}__SELECT": json.dumps([f"{s}.*" for s in streams]),
                "TARGET_POSTGRES_DATABASE": BENCH_DB,
                "TARGET_DUCKDB_FILEPATH": str(warehouse),
            }
        )
        run = timed([str(BIN / "meltano"), "run", case.tap, loader], env | pipe.env, log)
        if pipe.kind == "meltano-postgres":
            run.counts = pg_rows(case.schema, streams)
            run.live = pg_rows(case.schema, streams, live=True)
        else:
            run.counts = duckdb_rows(warehouse, case.schema, streams)
            run.live = run.counts
    run.exact = run.counts == expected and run.live == expected
    if not run.exact:
        # A standard pipeline must load exactly; a variant's wrong counts are a result to report.
        problem = f"{pipe.name} ({case.api}) loaded {run.counts}, live {run.live}; expected {expected}"
        if pipe.name in LABELS:
            raise RuntimeError(problem)
        print(f"  WRONG COUNTS: {problem}", flush=True)
    return run


def measure(case: Case, pipelines: list[Pipeline], runs: int, tmp: Path) -> dict[str, Any]:
    results: dict[str, dict[str, list[Run]]] = {p.name: {"first": [], "reload": []} for p in pipelines}
    with Sandbox("--api", case.api, *case.sandbox_args) as box:
        config = box.get(f"{case.api}/tap_config")
        counts = box.get(f"{case.api}/counts")
        expected = {s: counts[s] for s in case.streams or counts}
        # One untimed load each first, as a pipeline that runs daily has had: Meltano's catalog
        # cache filled, imports byte-compiled, the sandbox's pages generated.
        for pipe in pipelines:
            load_once(case, pipe, config, tmp, expected, first=True)
        for i in range(runs):
            for pipe in pipelines:  # taking turns, so drift hits every pipeline alike
                for load in ("first", "reload"):
                    run = load_once(case, pipe, config, tmp, expected, first=load == "first")
                    results[pipe.name][load].append(run)
                    peaks = ", ".join(
                        f"{k} {v // 1024} MiB, {run.cpu_s.get(k, 0):.1f} s CPU"
                        for k, v in sorted(run.peaks_kib.items())
                        if k != "other"
                    )
                    print(
                        f"  {case.api} {pipe.name} {load} #{i + 1}: {run.wall_s:.2f} s, {peaks}", flush=True
                    )
    records = sum(expected.values())
    summary: dict[str, Any] = {"api": case.api, "describe": case.describe, "records": records, "rows": {}}
    for name, loads in results.items():
        summary["rows"][name] = {}
        for load, measured in loads.items():
            wall = statistics.median(r.wall_s for r in measured)
            roles = sorted({k for r in measured for k in r.peaks_kib})
            summary["rows"][name][load] = {
                "wall_s": wall,
                "walls_s": [r.wall_s for r in measured],
                "exact_counts": all(r.exact for r in measured),
                "records_per_s": records / wall,
                "cpu_s": {k: statistics.median(r.cpu_s.get(k, 0.0) for r in measured) for k in roles},
                "peak_mib": {
                    k: statistics.median(r.peaks_kib.get(k, 0) for r in measured) / 1024 for k in roles
                },
            }
    return summary


# -- report ------------------------------------------------------------------------

LABELS = {
    "meltano-postgres": "`meltano run {tap} target-postgres`",
    "meltano-duckdb": "`meltano run {tap} target-duckdb`",
    "dlt": "dlt `rest_api_source` into PostgreSQL, merge",
}


def table(results: dict[str, Any]) -> str:
    lines = [
        "| data | pipeline | load | wall (median) | records/s | peak memory | CPU time | wall vs dlt |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in results["cases"]:
        rows = case["rows"]
        for name, loads in rows.items():
            label = LABELS.get(name, f"`meltano run` {name}").format(tap=f"tap-analytics-{case['api']}")
            for load in ("first", "reload"):
                r = loads[load]
                dlt_wall = rows.get("dlt", {}).get(load, {}).get("wall_s")
                ratio = f"{r['wall_s'] / dlt_wall:.2f}x" if dlt_wall else "-"
                if not r["exact_counts"]:
                    ratio += " (WRONG COUNTS)"
                peaks = ", ".join(
                    f"{role} {mib:.0f} MiB"
                    for role, mib in r["peak_mib"].items()
                    if role in ("meltano", "tap", "target", "dlt")
                )
                cpu = ", ".join(f"{role} {sec:.1f} s" for role, sec in r["cpu_s"].items() if sec >= 0.05)
                lines.append(
                    f"| {case['describe']} | {label} | {load} | {r['wall_s']:.2f} s | "
                    f"{r['records_per_s']:,.0f} | {peaks} | {cpu} | {ratio} |"
                )
    mach = results["machine"]
    runs = f"Median of {results['runs']} runs" if results["runs"] > 1 else "One run"
    lines += [
        "",
        f"{runs} each; machine: {mach['cpu']}, {mach['cores']} cores, Python "
        f"{mach['python']}; {mach['date']}; load average before / after: {results['load_before']} / "
        f"{results['load_after']}.",
    ]
    return "\n".join(lines) + "\n"


def write_readme(text: str) -> None:
    readme = ROOT / "benchmarks" / "README.md"
    body = readme.read_text()
    if README_BEGIN in body and README_END in body:
        head, rest = body.split(README_BEGIN, 1)
        tail = rest.split(README_END, 1)[1]
        readme.write_text(head + README_BEGIN + "\n" + text + "\n" + README_END + tail)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def parse_variant(spec: str) -> Pipeline:
    label, _, assignments = spec.partition(":")
    env = dict(item.split("=", 1) for item in assignments.split(";") if item)
    return Pipeline(label, "meltano-postgres", env)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one run instead of the median of three")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--apis", default="e,a", help="which loads: e, a or both")
    parser.add_argument("--records", type=int, default=100_000, help="tap-analytics-e users")
    parser.add_argument(
        "--workspaces-scale", type=int, default=20, help="tap-analytics-a: 10 workspaces each"
    )
    parser.add_argument("--latency-ms", type=int, default=50, help="tap-analytics-a's per-request latency")
    parser.add_argument(
        "--pipelines", default="meltano-postgres,dlt,meltano-duckdb", help="which of the standard pipelines"
    )
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:KEY=VALUE;...")
    parser.add_argument("--no-write", action="store_true", help="print only: no results file, no README")
    parser.add_argument("--workdir", help="keep logs and files here (default: a temporary directory)")
    args = parser.parse_args()
    if not DLT_PYTHON.exists() and "dlt" in args.pipelines:
        print("dlt is not installed in .venv-dlt: run `make bench-e2e`", file=sys.stderr)
        return 1
    runs = 1 if args.quick else args.runs
    pipelines = [Pipeline(name, name) for name in args.pipelines.split(",") if name]
    pipelines += [parse_variant(spec) for spec in args.variant]
    cases = {
        "e": Case(
            "e",
            ["--count", f"e.users={args.records}"],
            ["users"],
            {},
            f"tap-analytics-e `users`, {args.records:,} records",
        ),
        "a": Case(
            "a",
            ["--scale", str(args.workspaces_scale), "--latency-ms", str(args.latency_ms)],
            [],  # every stream
            {"max_concurrent_requests": 8},
            f"tap-analytics-a, {10 * args.workspaces_scale} workspaces, {args.latency_ms} ms",
        ),
    }
    ensure_database()
    results: dict[str, Any] = {"machine": machine(), "runs": runs, "load_before": load_average(), "cases": []}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.workdir or scratch
        for api in args.apis.split(","):
            results["cases"].append(measure(cases[api], pipelines, runs, Path(tmp)))
    results["load_after"] = load_average()
    text = table(results)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "e2e.json").write_text(json.dumps(results, indent=2) + "\n")
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
