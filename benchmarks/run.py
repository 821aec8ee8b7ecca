"""Benchmarks against the sandbox: throughput, latency and memory, as ratios measured in one run.

`make bench` (or `.venv/bin/python benchmarks/run.py [--quick]`) prints a table, writes
benchmarks/results/latest.json and refreshes the table in benchmarks/README.md.
"""

from __future__ import annotations

import compileall
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from analytics_sandbox.apis.b import STREAMS as B_RESOURCES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    """The sandbox as its own process, so it does not share the tap's CPU time accounting."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [BIN / "analytics-sandbox", "--port", str(self.port), *args], stdout=subprocess.DEVNULL
        )
        for _ in range(100):
            try:
                self.get("stats")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sandbox did not start")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.url}/_control/{path}") as reply:
            return json.load(reply)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a whole process, start-up included."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed")
    return wall, int(usage.ru_maxrss)


def write_json(data: dict, directory: str, name: str) -> str:
    path = Path(directory, name)
    path.write_text(json.dumps(data))
    return str(path)


def blocks_only_catalog(tap: str, config_path: str, stream: str, tmp: str) -> str:
    out = subprocess.run(
        [BIN / tap, "--config", config_path, "--discover"], capture_output=True, text=True, check=True
    )
    catalog = json.loads(out.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == stream
    return write_json(catalog, tmp, f"{tap}-catalog.json")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(records: int, repeats: int, tmp: str) -> dict:
    """One stream at zero latency against a cached server (as a CDN would serve), default settings."""
    with Sandbox("--api", "e", "--count", f"e.blocks={records}", "--cache") as box:
        config = box.get("e/tap_config")
        cfg = write_json(config, tmp, "e.json")
        catalog = blocks_only_catalog("tap-analytics-e", cfg, "blocks", tmp)
        plain_cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "plain_loop.py"),
            config["base_url"],
            config["token_url"],
            "/v1/blocks",
        ]
        tap_cmd = [str(BIN / "tap-analytics-e"), "--config", cfg, "--catalog", catalog]
        timed(plain_cmd)  # fills the cache: every measured run reads cached pages
        plain, tap, share = [], [], []
        for _ in range(repeats):  # interleaved, so drift hits both alike
            before = cpu_seconds(box.proc.pid)
            wall = timed(plain_cmd)[0]
            plain.append(wall)
            share.append((cpu_seconds(box.proc.pid) - before) / wall)
            tap.append(timed(tap_cmd)[0])
    p, t_ = statistics.median(plain), statistics.median(tap)
    return {
        "records": records,
        "plain_s": p,
        "tap_s": t_,
        "plain_rps": records / p,
        "tap_rps": records / t_,
        "ratio": p / t_,
        "server_cpu_share": statistics.median(share),
    }


LATENCY_MS = 50
IN_FLIGHT = 8
LATENCY_CASES: dict[str, dict] = {
    "a": {"what": "200 workspaces x 4 children", "args": ["--scale", "20"], "cursor_paths": ()},
    "b": {
        "what": "8 streams x 5,000 records",
        "args": [f"--count=b.{name}=5000" for name in B_RESOURCES],  # every list the sandbox serves
        "cursor_paths": (),
    },
    "c": {
        "what": "200 users, 40 organizations and their members, 5 spaces",
        "args": ["--count=c.users=200", "--count=c.organizations=40"],
        "cursor_paths": ("",),  # every list of c follows a cursor
    },
    "d": {
        "what": "5,000 jobs, 500 connections, 500 workspaces",
        "args": ["--count=d.jobs=5000", "--count=d.connections=500", "--count=d.workspaces=500"],
        "cursor_paths": ("/v1/connections", "/v1/workspaces"),
    },
    "e": {
        "what": "4 streams x 10,000 records",
        "args": [f"--count=e.{name}=10000" for name in ("blocks", "databases", "pages", "users")],
        "cursor_paths": (),
    },
}


def data_requests(box: Sandbox, before: dict) -> dict[str, int]:
    after = box.get("stats")
    return {
        k.split(" ", 2)[2]: v - before.get(k, 0)
        for k, v in after.items()
        if " GET " in k and v > before.get(k, 0)
    }


def latency(api: str, repeats: int, tmp: str) -> dict:
    """All streams at 50 ms a request and 8 in flight, against the best schedule the API allows.

    Best = start-up + latency x max(requests / 8 rounded up, the longest chain of requests
    that must follow each other), plus the token request every data request waits for.
    Requests are those a sequential run makes (pages read past the end are the tap's cost);
    chains are the pages of one cursor list, or 2 (a first page, then the rest side by side).
    """
    case = LATENCY_CASES[api]
    tap = str(BIN / f"tap-analytics-{api}")
    with Sandbox("--api", api, *case["args"]) as box:
        config = box.get(f"{api}/tap_config") | {"max_concurrent_requests": 1}
        cfg = write_json(config, tmp, f"{api}-seq.json")
        before = box.get("stats")
        timed([tap, "--config", cfg])
        per_path = data_requests(box, before)
        startup = statistics.median(timed([tap, "--config", cfg, "--discover"])[0] for _ in range(3))
    needed = sum(per_path.values())
    cursor_pages = [
        n for path, n in per_path.items() if any(path.startswith(p) for p in case["cursor_paths"])
    ]
    chain = max([2, *cursor_pages])
    rounds = max(-(-needed // IN_FLIGHT), chain) + 1
    best = startup + rounds * LATENCY_MS / 1000
    walls, made = [], 0
    # Cached (after a first, untimed run), so the server answers 8 requests at once as fast as
    # its latency says: generating pages in Python on the client's 2 cores measured the server.
    with Sandbox("--api", api, "--latency-ms", str(LATENCY_MS), "--cache", *case["args"]) as box:
        config = box.get(f"{api}/tap_config") | {"max_concurrent_requests": IN_FLIGHT}
        cfg = write_json(config, tmp, f"{api}.json")
        timed([tap, "--config", cfg])
        for _ in range(repeats):
            before = box.get("stats")
            walls.append(timed([tap, "--config", cfg])[0])
            made = sum(data_requests(box, before).values())
    wall = statistics.median(walls)
    return {
        "tap": f"tap-analytics-{api}",
        "what": case["what"],
        "needed_requests": needed,
        "requests_made": made,
        "longest_chain": chain,
        "startup_s": startup,
        "wall_s": wall,
        "best_s": best,
        "sequential_floor_s": needed * LATENCY_MS / 1000,
        "ratio": wall / best,
    }


def memory(small: int, large: int, tmp: str) -> dict:
    peaks = {}
    for records in (small, large):
        with Sandbox("--api", "e", "--count", f"e.blocks={records}") as box:
            cfg = write_json(box.get("e/tap_config"), tmp, f"e{records}.json")
            catalog = blocks_only_catalog("tap-analytics-e", cfg, "blocks", tmp)
            peaks[records] = timed([str(BIN / "tap-analytics-e"), "--config", cfg, "--catalog", catalog])[1]
    return {
        "small_records": small,
        "large_records": large,
        "small_rss_mib": peaks[small] / 1024,
        "large_rss_mib": peaks[large] / 1024,
        "ratio": peaks[large] / peaks[small],
    }


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def table(results: dict) -> str:
    t, m = results["throughput"], results["memory"]
    rows = [
        (
            "throughput (tap-analytics-e, blocks)",
            f"{t['records']:,} records at 100 a page, cached server ({t['server_cpu_share']:.0%} of a core): "
            f"tap {t['tap_rps']:,.0f} rec/s, plain loop {t['plain_rps']:,.0f} rec/s",
            f"{t['ratio']:.2f} of plain",
            ">= 0.90",
            t["ratio"] >= 0.9,
        ),
    ]
    for run in results["latency"]:
        rows.append(
            (
                f"latency ({run['tap']})",
                f"{run['what']}: {run['needed_requests']} requests ({run['requests_made']} made), "
                f"chain {run['longest_chain']}, x {LATENCY_MS} ms, {IN_FLIGHT} in flight: "
                f"{run['wall_s']:.2f} s vs best {run['best_s']:.2f} s (start-up {run['startup_s']:.2f} s; "
                f"sequential {run['sequential_floor_s']:.1f} s)",
                f"{run['ratio']:.2f} of best",
                "<= 1.20",
                run["ratio"] <= 1.2,
            )
        )
    rows.append(
        (
            "memory (tap-analytics-e, blocks)",
            f"peak RSS {m['small_rss_mib']:.0f} MiB at {m['small_records']:,}, "
            f"{m['large_rss_mib']:.0f} MiB at {m['large_records']:,}",
            f"{m['ratio']:.2f}x",
            "<= 1.20",
            m["ratio"] <= 1.2,
        )
    )
    lines = ["| measure | what was measured | result | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {'yes' if ok else 'NO'} |" for a, b, c, d, ok in rows]
    mach = results["machine"]
    lines += [
        "",
        f"Machine: {mach['cpu']}, {mach['cores']} cores, Python {mach['python']}; {mach['date']}; "
        f"load average {mach['load']} at the start.",
    ]
    return "\n".join(lines) + "\n"


def byte_compile() -> None:
    """Compile the repository's packages, as pip and Meltano do when they install them.

    The venv holds them as editable installs, and these machines set
    PYTHONDONTWRITEBYTECODE: uncompiled, every tap start would pay for compiling them.
    """
    for package in [*ROOT.glob("tap-analytics-*"), ROOT / "sandbox"]:
        compileall.compile_dir(package, quiet=1)


def main() -> int:
    quick = "--quick" in sys.argv
    byte_compile()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": machine(),
            "throughput": throughput(100_000, 1 if quick else 3, tmp),
            "latency": [latency(api, 1 if quick else 3, tmp) for api in LATENCY_CASES],
            "memory": memory(100_000, 1_000_000, tmp),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    print(text)
    readme = ROOT / "benchmarks" / "README.md"
    marker = "## Latest results\n"
    body = readme.read_text().split(marker, 1)[0] if readme.exists() else ""
    readme.write_text(body + marker + "\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
