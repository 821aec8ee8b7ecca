"""Injected faults: which requests get a bad answer, and how."""

from __future__ import annotations

import dataclasses
import re
import threading
import typing as t
import zlib
from dataclasses import dataclass

Kind = t.Literal[
    "status",
    "broken_body",
    "drop",
    "slow",
    "stall",
    "revoke",
    "expire",
    "drop_field",
    "wrong_type",
]

RECORD_KINDS = frozenset({"drop_field", "wrong_type"})
"""Faults that change the records of an answer; several may apply to one request."""


@dataclass
class Fault:
    """Affects the next `times` requests (-1: all) whose path matches `path` (a regex).

    kinds: status (answer `status`, with Retry-After when `retry_after` is set: seconds,
    or "date" for an HTTP date `retry_after_seconds` ahead), broken_body (200 with
    truncated JSON), drop (close the connection unanswered), slow (wait `delay_ms`),
    revoke (the user withdraws consent: every token dies, this request gets 401),
    expire (access tokens expire now: this request gets 401, a refresh works),
    stall (send half the body, then wait `delay_ms` before the rest),
    drop_field (every `every`-th record of the answer loses `field`),
    wrong_type (every `every`-th record's `field` becomes an object); these two
    apply together with any other fault.
    `after` lets that many matching requests through first. `query`, a regex, narrows
    the match to requests whose query string it finds (one page of a paged list).
    """

    api: str
    path: str = ".*"
    query: str = ""
    kind: Kind = "status"
    status: int = 500
    times: int = 1
    after: int = 0
    retry_after: str | None = None
    retry_after_seconds: int = 1
    delay_ms: int = 0
    field: str = "id"
    every: int = 1
    seen: int = dataclasses.field(default=0, compare=False)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """From `api=a,path=/v1/users,kind=status,status=429,times=2,retry_after=1`."""
        values: dict[str, t.Any] = {}
        for part in spec.split(","):
            key, _, value = part.partition("=")
            values[key.strip()] = value.strip()
        for key in ("status", "times", "after", "retry_after_seconds", "delay_ms", "every"):
            if key in values:
                values[key] = int(values[key])
        return cls(**values)


@dataclass
class Flaky:
    """A soak mix: `ratio`% of distinct URLs fail 1 to `times` times in a row, then answer.

    Which URLs, how often and how (500/502/503/504, a dropped connection, now and then
    a 429 with Retry-After) follows from a hash of the URL, so every run against a fresh
    sandbox meets the same faults. `slow_ratio`% of URLs answer `slow_ms` late.
    """

    ratio: int = 50
    times: int = 3
    slow_ratio: int = 10
    slow_ms: int = 200
    retry_after: str = "1"
    seed: int = 0
    _seen: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)

    def _hash(self, *parts: object) -> int:
        return zlib.crc32(":".join(map(str, (self.seed, *parts))).encode())

    def action(self, url: str) -> tuple[str, int, str | None] | None:
        """("slow", ms, None), ("status", code, Retry-After), ("drop", 0, None) or None."""
        tries = self._seen.get(url, 0)
        self._seen[url] = tries + 1
        faulted = self._hash("fault", url) % 100 < self.ratio
        failures = 1 + self._hash("times", url) % max(self.times, 1)
        if faulted and tries < failures:
            pick = self._hash("kind", url, tries) % 16
            if pick == 0:
                return ("status", 429, self.retry_after)
            if pick < 4:
                return ("drop", 0, None)
            return ("status", (500, 502, 503, 504)[pick % 4], None)
        if self._hash("slow", url) % 100 < self.slow_ratio:
            return ("slow", self.slow_ms, None)
        return None


class FaultBook:
    """The faults in force; thread-safe, consulted once per data request."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.flaky: dict[str, Flaky] = {}
        """Per API (or "*"): the soak mix, consulted when no other fault answered."""

    def flaky_action(self, api: str, url: str) -> tuple[str, int, str | None] | None:
        """What the soak mix does to this request, if one is set for the API."""
        with self._lock:
            mix = self.flaky.get(api) or self.flaky.get("*")
            return mix.action(f"{api} {url}") if mix else None

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def match(self, api: str, path: str, query: str = "") -> Fault | None:
        """The first live fault for this request, counting it as used (record faults apart)."""
        found = self._live(api, path, query, record_faults=False)
        return found[0] if found else None

    def record_faults(self, api: str, path: str, query: str = "") -> list[Fault]:
        """Every live drop_field / wrong_type fault for this request: they all apply."""
        return self._live(api, path, query, record_faults=True)

    def _live(self, api: str, path: str, query: str, *, record_faults: bool) -> list[Fault]:
        found = []
        with self._lock:
            for fault in self._faults:
                if (fault.kind in RECORD_KINDS) != record_faults:
                    continue
                if fault.api not in (api, "*") or not re.search(fault.path, path):
                    continue
                if fault.query and not re.search(fault.query, query):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.times != -1 and fault.seen > fault.after + fault.times:
                    continue
                found.append(fault)
                if not record_faults:
                    break
        return found


def mangle(body: t.Any, fault: Fault) -> None:
    """Apply a drop_field or wrong_type fault to the records in an answer body, in place.

    Records are the dicts in any list of the body that carry `fault.field`.
    """
    if isinstance(body, dict):
        for value in body.values():
            mangle(value, fault)
        return
    if not isinstance(body, list):
        return
    records = [item for item in body if isinstance(item, dict) and fault.field in item]
    for index, record in enumerate(records):
        if index % max(fault.every, 1) == max(fault.every, 1) - 1:
            if fault.kind == "drop_field":
                del record[fault.field]
            else:
                record[fault.field] = {"unexpected": [1, 2]}
    for item in body:
        if isinstance(item, dict):
            for value in item.values():
                if isinstance(value, (dict, list)):
                    mangle(value, fault)
