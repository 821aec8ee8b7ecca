"""The run's request budget: `max_requests_per_minute`, and the API's own rate-limit headers.

Both make a request wait before it starts, so a run within its budget earns no 429:
- the setting spaces request starts evenly, so no 60-second window holds more than it;
- `RateLimit-Remaining`/`RateLimit-Reset` (IETF draft) or `X-RateLimit-Remaining`/
  `X-RateLimit-Reset` (seconds, or an epoch time): once the remaining count is used
  up, requests wait for the reset, capped like Retry-After.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

from tap_analytics_common.retry import RETRY_AFTER_CAP

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REMAINING_HEADERS = ("RateLimit-Remaining", "X-RateLimit-Remaining")
RESET_HEADERS = ("RateLimit-Reset", "X-RateLimit-Reset")
_EPOCH_FROM = 1_000_000_000.0
"""A reset above this many seconds is an epoch time, not a delay (2001 or later)."""
_PACING_MARGIN = 1.05
"""Starts are spaced 5% wider than the budget allows, so the server's clock agrees even when
a loaded machine delays some requests more than others."""


def _number(headers: Mapping[str, str], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return float(value.strip())
            except ValueError:
                return None
    return None


class RequestBudget:
    """Decides when the next request may start; one per run, shared by every thread."""

    def __init__(
        self,
        *,
        per_minute: int | None,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = 60.0 / per_minute * _PACING_MARGIN if per_minute else 0.0
        self.logger = logger
        self.clock = clock
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._remaining: int | None = None
        """Requests the API still allows before `_reset_at`; None when it has not said."""
        self._reset_at = 0.0
        self._capped_logged: set[float] = set()

    def wait_time(self) -> float:
        """Seconds to wait before starting a request; 0 reserves a start now."""
        with self._lock:
            now = self.clock()
            if self._remaining is not None and now >= self._reset_at:
                self._remaining = None  # a new window: the next answer says how much is left
            if self._remaining is not None and self._remaining <= 0:
                return self._reset_at - now
            if self.interval:
                if now < self._next_start:
                    return self._next_start - now
                self._next_start = max(now, self._next_start) + self.interval
            if self._remaining is not None:
                self._remaining -= 1
            return 0.0

    def observe(self, headers: Mapping[str, str], others_in_flight: int) -> None:
        """Read the rate-limit headers of an answer; requests still in flight may count too."""
        remaining = _number(headers, REMAINING_HEADERS)
        if remaining is None:
            return
        reset = _number(headers, RESET_HEADERS)
        delay = 1.0 if reset is None else reset
        if delay > _EPOCH_FROM:
            delay -= self.wall_clock()
        delay = max(delay, 0.0)
        if delay > RETRY_AFTER_CAP:
            if delay not in self._capped_logged:
                self._capped_logged.add(delay)
                self.logger.warning(
                    "The API's rate-limit reset asks to wait %.0fs; waiting at most %.0fs",
                    delay,
                    RETRY_AFTER_CAP,
                )
            delay = RETRY_AFTER_CAP
        left = int(remaining) - others_in_flight
        with self._lock:
            now = self.clock()
            if self._remaining is None or now >= self._reset_at:
                self._remaining, self._reset_at = left, now + delay  # a new window
            else:  # answers arrive out of order: what is left only shrinks
                self._remaining = min(self._remaining, left)
                self._reset_at = max(self._reset_at, now + delay)
