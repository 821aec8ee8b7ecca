"""Rate limits as real APIs enforce them: a request budget, with or without headers that announce it."""

from __future__ import annotations

import math
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass

HeaderStyle = t.Literal["ietf", "x", "x-epoch"]


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` data requests of `api` ("*": each API) per `window_ms`; then 429.

    Without `headers` the window slides (a per-minute budget, announced by nothing but
    the 429's Retry-After). With `headers` the windows are fixed and every answer says
    what is left: `ietf` sends RateLimit-Remaining/RateLimit-Reset (seconds), `x` sends
    X-RateLimit-Remaining/X-RateLimit-Reset (seconds), `x-epoch` the reset as an epoch time.
    """

    api: str = "*"
    limit: int = 60
    window_ms: int = 60_000
    headers: HeaderStyle | None = None

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """From `api=e,limit=600,window_ms=60000,headers=x`."""
        values: dict[str, t.Any] = dict(part.split("=", 1) for part in spec.split(","))
        for key in ("limit", "window_ms"):
            if key in values:
                values[key] = int(values[key])
        return cls(**values)


class RateLimiter:
    """Counts one API's data requests against its RateLimit; thread-safe."""

    def __init__(self, rule: RateLimit) -> None:
        self.rule = rule
        self.window = rule.window_ms / 1000
        self.throttled = 0
        self._arrivals: deque[float] = deque()
        self._window_start = 0.0
        self._used = 0
        self._lock = threading.Lock()

    def admit(self) -> tuple[bool, dict[str, str]]:
        """Whether this request may be served, and the headers its answer carries."""
        with self._lock:
            now = time.monotonic()
            if self.rule.headers is None:
                return self._sliding(now)
            return self._fixed(now)

    def _sliding(self, now: float) -> tuple[bool, dict[str, str]]:
        while self._arrivals and self._arrivals[0] <= now - self.window:
            self._arrivals.popleft()
        if len(self._arrivals) >= self.rule.limit:
            self.throttled += 1
            wait = self._arrivals[0] + self.window - now
            return False, {"Retry-After": str(max(1, math.ceil(wait)))}
        self._arrivals.append(now)
        return True, {}

    def _fixed(self, now: float) -> tuple[bool, dict[str, str]]:
        if now >= self._window_start + self.window:
            self._window_start, self._used = now, 0
        reset = self._window_start + self.window - now
        allowed = self._used < self.rule.limit
        if allowed:
            self._used += 1
        else:
            self.throttled += 1
        remaining = str(self.rule.limit - self._used)
        prefix = "RateLimit" if self.rule.headers == "ietf" else "X-RateLimit"
        until = time.time() + reset if self.rule.headers == "x-epoch" else reset
        headers = {f"{prefix}-Remaining": remaining, f"{prefix}-Reset": str(math.ceil(until))}
        if not allowed:
            headers["Retry-After"] = str(math.ceil(reset))
        return allowed, headers
