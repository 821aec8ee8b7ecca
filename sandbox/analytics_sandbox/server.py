"""The sandbox server: every API under its own path prefix on one loopback port."""

from __future__ import annotations

import collections
import email.utils
import json
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from analytics_sandbox.apis import API_CLASSES
from analytics_sandbox.auth import AuthSettings, TokenAuthority
from analytics_sandbox.faults import Fault, FaultBook, Flaky, mangle
from analytics_sandbox.limits import RateLimit, RateLimiter

if t.TYPE_CHECKING:
    from analytics_sandbox.apis.base import SandboxApi


class Served(t.NamedTuple):
    """One API request the sandbox answered."""

    started: float
    ended: float
    api: str
    method: str
    path: str
    status: int


class Sandbox:
    """Serves `/<letter>/…` for each API (their paths collide), plus `/_control/…` for tests.

    Control endpoints (JSON): GET /_control/<api>/counts, POST /_control/<api>/<action>,
    POST /_control/faults (a Fault), DELETE /_control/faults, POST /_control/flaky (a Flaky,
    with "api"), GET /_control/stats,
    POST /_control/<api>/auth (expires_in, rotate_refresh_tokens), POST /_control/<api>/expire,
    POST /_control/<api>/revoke, POST /_control/latency {"ms": N}, GET /_control/in_flight,
    POST /_control/rate_limit (a RateLimit), DELETE /_control/rate_limit,
    GET /_control/throttled (429s the rate limits gave, per API).

    With `cache`, answers to data requests are kept by URL and served again as they are,
    as a CDN in front of a real API would; any control call empties the cache.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        scale: int = 1,
        seed: int = 7,
        latency_ms: int = 0,
        faults: t.Iterable[Fault] = (),
        apis: t.Iterable[str] | None = None,
        options: dict[str, t.Any] | None = None,
        rate_limits: t.Iterable[RateLimit] = (),
        cache: bool = False,
    ) -> None:
        names = list(apis or API_CLASSES)
        self.apis: dict[str, SandboxApi] = {
            n: API_CLASSES[n](scale=scale, seed=seed, **(options or {}).get(n, {})) for n in names
        }
        self.auth = {n: TokenAuthority(api.grant, AuthSettings()) for n, api in self.apis.items()}
        self.faults = FaultBook()
        for fault in faults:
            self.faults.add(fault)
        self.latency_ms = latency_ms
        self.limiters: dict[str, RateLimiter] = {}
        for rule in rate_limits:
            self.add_rate_limit(rule)
        self.cache: dict[tuple[str, str], bytes] | None = {} if cache else None
        self.stats: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.served: collections.deque[Served] = collections.deque(maxlen=200_000)
        """Recent API requests with their times (monotonic clock), for concurrency tests."""
        self._stats_lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        for name, api in self.apis.items():
            api.base_url = self.base_url(name)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = str(self.httpd.server_address[0]), self.httpd.server_address[1]
        return f"http://{host}:{port}"

    def base_url(self, api: str) -> str:
        return f"{self.url}/{api}"

    def tap_config(self, api: str) -> dict[str, t.Any]:
        """Settings for the tap of `api` that point it here."""
        return self.apis[api].tap_config(self.base_url(api))

    def start(self) -> Sandbox:
        """Serve in a background thread (tests); `serve_forever` for the command."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enter(self) -> float:
        """An API request starts: track how many are in flight at once."""
        with self._stats_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return time.monotonic()

    def leave(self, served: Served) -> None:
        with self._stats_lock:
            self.in_flight -= 1
            self.served.append(served)

    def add_rate_limit(self, rule: RateLimit) -> None:
        for name in self.apis if rule.api == "*" else [rule.api]:
            self.limiters[name] = RateLimiter(rule)

    def count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] = self.stats.get(key, 0) + 1

    def _global_control(self, method: str, part: str, body: t.Any) -> t.Any:  # noqa: PLR0911
        """Hooks that concern the whole sandbox; None for an unknown one."""
        with self._stats_lock:
            if part == "stats":
                return dict(self.stats)
            if part == "in_flight":
                return {"max": self.max_in_flight, "now": self.in_flight}
        if part == "faults":
            self.faults.clear() if method == "DELETE" else self.faults.add(Fault(**body))
            return {}
        if part == "flaky":
            api = body.pop("api", "*")
            self.faults.flaky[api] = Flaky(**body)
            return {}
        if part == "latency":
            self.latency_ms = int(body["ms"])
            return {}
        if part == "rate_limit":
            self.limiters.clear() if method == "DELETE" else self.add_rate_limit(RateLimit(**body))
            return {}
        if part == "throttled":
            return {name: limiter.throttled for name, limiter in self.limiters.items()}
        return None

    def control(self, method: str, parts: list[str], body: t.Any) -> tuple[int, t.Any]:  # noqa: PLR0911
        """Test hooks; see the class docstring."""
        if self.cache is not None and method != "GET":
            self.cache.clear()  # the data or the faults may change
        if len(parts) == 1:
            answer = self._global_control(method, parts[0], body)
            return (404, {"error": "unknown control path"}) if answer is None else (200, answer)
        if len(parts) != 2 or parts[0] not in self.apis:
            return 404, {"error": "unknown control path"}
        name, action = parts
        authority = self.auth[name]
        if action == "counts":
            return 200, self.apis[name].counts()
        if action == "tap_config":
            return 200, self.tap_config(name)
        if action == "auth":
            for key, value in body.items():
                setattr(authority.settings, key, value)
            return 200, {}
        if action == "expire":
            authority.expire_access_tokens()
            return 200, {}
        if action == "revoke":
            authority.revoke()
            return 200, {}
        try:
            return 200, self.apis[name].control(action, body or {})
        except (KeyError, ValueError) as exc:
            return 400, {"error": str(exc)}


def _handler_for(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: t.Any) -> None:
            """Quiet: tests and benchmarks read the tap's logs, not ours."""

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            parts = [p for p in split.path.split("/") if p]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts[:1] == ["_control"]:
                status, body = sandbox.control(method, parts[1:], json.loads(raw) if raw else {})
                self._send(status, body)
                return
            if not parts or parts[0] not in sandbox.apis:
                self._send(404, {"error": "unknown API"})
                return
            name = parts[0]
            path = "/" + "/".join(parts[1:])
            sandbox.count(f"{name} {method} {path}")
            started = sandbox.enter()
            self.status = 0
            try:
                self._serve_api(name, method, path, split.query, raw)
            finally:
                sandbox.leave(Served(started, time.monotonic(), name, method, path, self.status))

        def _serve_api(self, name: str, method: str, path: str, query: str, raw: bytes) -> None:
            api = sandbox.apis[name]
            if sandbox.latency_ms:
                time.sleep(sandbox.latency_ms / 1000)
            fault = sandbox.faults.match(name, path, query)
            if fault and self._inject(fault, name):
                return
            if not fault and self._flaky(name, f"{method} {path}?{query}"):
                return
            if method == "POST" and path == api.token_path:
                form = dict(parse_qsl(raw.decode()))
                status, body = sandbox.auth[name].issue(form)
                self._send(status, body)
                return
            if method != "GET":
                self._send(405, {"error": "method not allowed"})
                return
            limiter = sandbox.limiters.get(name)
            allowed, limit_headers = limiter.admit() if limiter else (True, {})
            if not allowed:
                self._send(429, {"error": "rate limit exceeded"}, limit_headers)
                return
            if not sandbox.auth[name].allows(self.headers.get("Authorization")):
                self._send(401, {"error": "invalid_token"}, limit_headers)
                return
            self._answer_data(name, path, query, limit_headers)

        def _answer_data(self, name: str, path: str, query: str, headers: dict[str, str]) -> None:
            """The API's answer to an authorised GET: from the cache, or made (and mangled by faults)."""
            cache = sandbox.cache
            key = (name, self.path)
            if cache is not None and key in cache:
                self._send_raw(200, cache[key], headers)
                return
            answer = sandbox.apis[name].handle(path, dict(parse_qsl(query)))
            mangling = sandbox.faults.record_faults(name, path, query) if answer.status == 200 else []
            if mangling:
                body = json.loads(json.dumps(answer.body))  # never touch the API's own data
                for record_fault in mangling:
                    mangle(body, record_fault)
                self._send(answer.status, body, headers)
                return
            payload = json.dumps(answer.body, ensure_ascii=False).encode()
            if cache is not None and answer.status == 200:
                cache[key] = payload
            self._send_raw(answer.status, payload, headers)

        def _inject(self, fault: Fault, api: str) -> bool:
            """Apply a fault; True when the request is answered (or dropped) by it."""
            if fault.kind == "slow":
                time.sleep(fault.delay_ms / 1000)
                return False
            if fault.kind == "stall":
                self._stall(fault.delay_ms)
                return True
            if fault.kind == "drop":
                self.close_connection = True
                self.connection.close()
                return True
            if fault.kind in ("revoke", "expire"):
                authority = sandbox.auth[api]
                authority.revoke() if fault.kind == "revoke" else authority.expire_access_tokens()
                self._send(401, {"error": "invalid_token"})
                return True
            if fault.kind == "broken_body":
                self._send_raw(200, b'{"data": {"users": [{"emailId": "trunc')
                return True
            headers = {}
            if fault.retry_after == "date":
                headers["Retry-After"] = email.utils.formatdate(
                    time.time() + fault.retry_after_seconds, usegmt=True
                )
            elif fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            self._send(fault.status, {"error": f"injected {fault.status}"}, headers)
            return True

        def _flaky(self, api: str, url: str) -> bool:
            """Apply the soak mix; True when it answered (or dropped) the request."""
            action = sandbox.faults.flaky_action(api, url)
            if action is None:
                return False
            kind, value, retry_after = action
            if kind == "slow":
                time.sleep(value / 1000)
                return False
            if kind == "drop":
                self.close_connection = True
                self.connection.close()
                return True
            headers = {"Retry-After": retry_after} if retry_after else {}
            self._send(value, {"error": f"injected {value}"}, headers)
            return True

        def _stall(self, delay_ms: int) -> None:
            """Headers and half the body, then silence: the body never completes."""
            payload = b'{"data": [' + b" " * 64 + b"]}"
            self.status = 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            time.sleep(delay_ms / 1000)
            self.close_connection = True

        def _send(self, status: int, body: t.Any, headers: dict[str, str] | None = None) -> None:
            self._send_raw(status, json.dumps(body, ensure_ascii=False).encode(), headers)

        def _send_raw(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.status = status
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
