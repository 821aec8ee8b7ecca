"""Benchmarks against the sandbox: throughput, fan-out and memory, as ratios measured in one run.

`make bench` (or `.venv/bin/python benchmarks/run.py [--quick]`) prints a table, writes
benchmarks/results/latest.json and refreshes the table in benchmarks/README.md.
"""

from __future__ import annotations

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


def throughput(records: int, repeats: int, tmp: str) -> dict:
    with Sandbox("--api", "e", "--count", f"e.blocks={records}") as box:
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
        plain, tap = [], []
        for _ in range(repeats):  # interleaved, so drift hits both alike
            plain.append(timed(plain_cmd)[0])
            tap.append(timed(tap_cmd)[0])
    p, t_ = statistics.median(plain), statistics.median(tap)
    return {
        "records": records,
        "plain_s": p,
        "tap_s": t_,
        "plain_rps": records / p,
        "tap_rps": records / t_,
        "ratio": p / t_,
    }


def fanout(workspaces_scale: int, latency_ms: int, in_flight: int, repeats: int, tmp: str) -> dict:
    walls, requests_made = [], 0
    with Sandbox("--api", "a", "--scale", str(workspaces_scale), "--latency-ms", str(latency_ms)) as box:
        config = box.get("a/tap_config") | {"max_concurrent_requests": in_flight}
        cfg = write_json(config, tmp, "a.json")
        workspaces = box.get("a/counts")["workspaces"]
        for _ in range(repeats):
            before = box.get("stats")
            walls.append(timed([str(BIN / "tap-analytics-a"), "--config", cfg])[0])
            after = box.get("stats")
            requests_made = sum(v - before.get(k, 0) for k, v in after.items() if " GET " in k)
    wall = statistics.median(walls)
    floor = requests_made * latency_ms / 1000
    return {
        "workspaces": workspaces,
        "data_requests": requests_made,
        "latency_ms": latency_ms,
        "max_concurrent_requests": in_flight,
        "wall_s": wall,
        "sequential_floor_s": floor,
        "ratio": wall / floor,
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
    }


def table(results: dict) -> str:
    t, f, m = results["throughput"], results["fanout"], results["memory"]
    rows = [
        (
            "throughput (tap-analytics-e, blocks)",
            f"{t['records']:,} records: tap {t['tap_rps']:,.0f} rec/s, "
            f"plain loop {t['plain_rps']:,.0f} rec/s",
            f"{t['ratio']:.2f} of plain",
            ">= 0.70",
            t["ratio"] >= 0.7,
        ),
        (
            "fan-out (tap-analytics-a, all streams)",
            f"{f['workspaces']} workspaces, {f['data_requests']} requests x {f['latency_ms']} ms, "
            f"{f['max_concurrent_requests']} in flight: {f['wall_s']:.2f} s "
            f"vs floor {f['sequential_floor_s']:.1f} s",
            f"{f['ratio']:.3f} of floor",
            "<= 0.15",
            f["ratio"] <= 0.15,
        ),
        (
            "memory (tap-analytics-e, blocks)",
            f"peak RSS {m['small_rss_mib']:.0f} MiB at {m['small_records']:,}, "
            f"{m['large_rss_mib']:.0f} MiB at {m['large_records']:,}",
            f"{m['ratio']:.2f}x",
            "<= 1.20",
            m["ratio"] <= 1.2,
        ),
    ]
    lines = ["| measure | what was measured | result | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {'yes' if ok else 'NO'} |" for a, b, c, d, ok in rows]
    mach = results["machine"]
    lines += ["", f"Machine: {mach['cpu']}, {mach['cores']} cores, Python {mach['python']}; {mach['date']}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": machine(),
            "throughput": throughput(100_000, 1 if quick else 3, tmp),
            "fanout": fanout(20, 50, 8, 1 if quick else 3, tmp),
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
