"""`analytics-sandbox`: serve the five APIs on loopback until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys

from analytics_sandbox.faults import Fault
from analytics_sandbox.limits import RateLimit
from analytics_sandbox.server import Sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="analytics-sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--scale", type=int, default=1, help="multiply every record count")
    parser.add_argument("--seed", type=int, default=7, help="another seed serves other data (other tenants)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay of every API request")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="e.g. api=a,path=/v1/users,kind=status,status=429,times=2,retry_after=1",
    )
    parser.add_argument("--api", action="append", help="serve only these APIs (default: all)")
    parser.add_argument(
        "--count",
        action="append",
        default=[],
        metavar="API.STREAM=N",
        help="records of one stream, e.g. e.blocks=100000 (APIs that support it)",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="SPEC",
        help="e.g. api=e,limit=600,window_ms=60000 (a budget) or add headers=ietf|x|x-epoch",
    )
    parser.add_argument(
        "--cache", action="store_true", help="serve repeated data requests from a cache, as a CDN would"
    )
    args = parser.parse_args(argv)
    options: dict[str, dict[str, dict[str, int]]] = {}
    for spec in args.count:
        target, _, number = spec.partition("=")
        api, _, stream = target.partition(".")
        options.setdefault(api, {}).setdefault("counts", {})[stream] = int(number)
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        scale=args.scale,
        seed=args.seed,
        latency_ms=args.latency_ms,
        faults=[Fault.parse(spec) for spec in args.fault],
        apis=args.api,
        options=options,
        rate_limits=[RateLimit.parse(spec) for spec in args.rate_limit],
        cache=args.cache,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"analytics-sandbox serving {', '.join(sandbox.apis)} at {sandbox.url}/<api>", flush=True)
    try:
        sandbox.httpd.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sandbox.httpd.server_close()
