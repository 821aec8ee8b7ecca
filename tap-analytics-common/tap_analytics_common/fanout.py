"""Child partitions fetched in a bounded pool ahead of the SDK's one-at-a-time loop."""

from __future__ import annotations

import json
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Records = list[dict[str, t.Any]]


def partition_key(stream: str, context: Mapping[str, t.Any] | None) -> str:
    """A stable key for one stream partition."""
    return stream + json.dumps(dict(context or {}), sort_keys=True, default=str)


class Prefetcher:
    """Runs child fetches on `workers` threads; each result is taken exactly once.

    The SDK syncs a parent's children one partition at a time; fetching them here
    ahead of it overlaps the requests while the Singer output stays in the SDK's
    order. The ApiClient bounds requests in flight across the whole tap.
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")
        self._futures: dict[str, Future[Records]] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, fetch: Callable[[], Records]) -> None:
        """Start fetching one partition (once)."""
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._pool.submit(fetch)

    def take(self, key: str) -> Future[Records] | None:
        """The fetch for a partition, handed out once; None when it was never submitted."""
        with self._lock:
            return self._futures.pop(key, None)

    def close(self) -> None:
        """Cancel what has not started and wait for what has (requests end quickly)."""
        with self._lock:
            for future in self._futures.values():
                future.cancel()
            self._futures.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
