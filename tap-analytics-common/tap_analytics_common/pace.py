"""How many requests the engine keeps in flight: more only while they can help.

Requests in flight help while the run waits on the API. Once the process is busy (its
threads together use a whole core, which is all the GIL gives them), more only make the
workers fight the reader for the GIL: a one-stream run against an API that answers at
once took a quarter longer at eight in flight than at one. So every `_WINDOW` seconds the
limit is set from what the window showed: the process busy, half as many; the reader kept
waiting for pages while the process was not busy, twice as many (as a congestion window
grows); otherwise as it is. At 0 nothing is read ahead: the reader fetches each page
itself when it needs it, as a plain loop does, which is all an API faster than the reader
needs. A slow API keeps the process idle and gets every worker.
"""

from __future__ import annotations

import time
import typing as t

_WINDOW = 0.02
"""Seconds of run between two decisions."""
_BUSY = 0.8
"""CPU seconds per second (all threads) from which the process counts as busy."""


class Pace:
    """The limit of requests in flight ahead of the reader, between 0 and `workers`.

    Not thread-safe: the engine calls it under its lock.
    """

    def __init__(
        self,
        workers: int,
        clock: t.Callable[[], float] = time.monotonic,
        cpu: t.Callable[[], float] = time.process_time,
    ) -> None:
        self.workers = workers
        self.limit = workers
        """Requests that may be in flight now; every worker until a window says otherwise."""
        self._clock, self._cpu = clock, cpu
        self._began, self._cpu_began = clock(), cpu()
        self._waited = False

    def page_taken(self, *, waited: bool) -> None:
        """The reader took a page; `waited`: it had to wait for it."""
        self._waited = self._waited or waited
        now = self._clock()
        if now - self._began < _WINDOW:
            return
        cpu = self._cpu()
        if (cpu - self._cpu_began) / (now - self._began) >= _BUSY:
            self.limit //= 2
        elif self._waited:
            self.limit = min(self.workers, max(1, self.limit * 2))
        self._began, self._cpu_began, self._waited = now, cpu, False
