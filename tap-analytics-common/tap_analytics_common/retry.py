"""The retry policy every request follows (data and token requests alike)."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 120.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date, capped."""
    asked = asked_retry_after(value, now)
    return None if asked is None else min(asked, RETRY_AFTER_CAP)


def asked_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for, before the cap (logged when capped)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: the documents say 3 retries, backoff factor 2."""

    max_retries: int = 3
    backoff_factor: float = 2.0
    jitter: float = 1.0

    @property
    def max_tries(self) -> int:
        """Tries in all, the first one included."""
        return self.max_retries + 1

    def wait(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds before retry number `retry` (1-based): Retry-After wins, capped."""
        told = parse_retry_after(retry_after)
        if told is not None:
            return told
        base = self.backoff_factor * float(2 ** (retry - 1))
        return base + (random.uniform(0, self.jitter) if base and self.jitter else 0.0)
