"""The request engine: one per tap run, it reads every selected partition ahead of the SDK.

singer-sdk syncs one stream, one partition and one page at a time. The engine fetches
ahead instead, on `workers` threads (the `max_concurrent_requests` setting), while the
SDK consumes records in its own order, so the Singer output is that of a sequential run:

- every selected top-level partition starts when the run starts, and each child
  partition as soon as its parent's page is read;
- page-number and offset pages go side by side once the first page shows that the
  server honours the limit; cursor pages follow their chain one at a time;
- each page is checked in order against the request a sequential run would make next,
  and pages read past the end, or on a wrong guess, are dropped, never emitted;
- an error is handed to the consumer where a sequential run would have met it;
- pages held ahead (fetched or in flight, not yet consumed) are bounded by
  `AHEAD_PER_WORKER` x `workers` across the whole run; the page the consumer waits
  for is always allowed, so that bound can never stall the run;
- requests in flight are bounded by what helps (`pace.py`), at most `workers`: a slow API
  gets every worker; against one that answers faster than the consumer reads, nothing is
  read ahead and the consumer fetches each page itself when it needs it.

Requests that must precede others (first pages, the next page of a chain) go before
pages fetched on a guess; among equals, the page the SDK will consume first goes first.

Workers and the consumer wait on two conditions of one lock, and each event wakes only as
many workers as it may have given work: waking every idle worker for every page read would
have them fight the consumer for the GIL when the API answers faster than the tap reads.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass, field

from tap_analytics_common.errors import TapError
from tap_analytics_common.pace import Pace

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Generator, Mapping

    import requests

    from tap_analytics_common.paginators import PageRequest, Paging

Record = dict[str, t.Any]
AHEAD_PER_WORKER = 64
"""Pages held ahead per worker; enough that cursor chains of later streams keep going, and
that lists without a total advance side by side a page each instead of one after another
with guesses past each end (at 16, b's eight lists of 51 pages read 50 pages too many)."""
_NEEDED, _GUESSED = 0, 1
_WAIT_SLICE = 0.2
"""Seconds between checks for a stop while the consumer waits for a page."""
_IDLE = 1.0
"""Seconds a worker waits for work before it ends (a new one starts when work comes)."""
_STOP_WAIT = 2.0
"""Seconds `close` waits for requests in flight to end."""


class PagedStream(t.Protocol):
    """What the engine needs of a stream (AnalyticsStream provides it)."""

    name: str

    @property
    def logger(self) -> logging.Logger: ...

    def make_paginator(self) -> Paging: ...

    def fetch_page(
        self, request: PageRequest, context: Mapping[str, t.Any] | None
    ) -> requests.Response | None:
        """The page's response; None when the partition's parent is gone."""

    def parse_response(self, response: requests.Response) -> t.Iterable[Record]: ...

    def active_children(self) -> t.Sequence[PagedStream]:
        """Child streams that are selected or have selected descendants."""

    def get_child_context(self, record: Record, context: t.Any) -> dict[str, t.Any]: ...


def partition_key(stream: str, context: Mapping[str, t.Any] | None) -> str:
    """A stable key for one stream partition."""
    return stream + json.dumps(dict(context or {}), sort_keys=True, default=str)


@dataclass
class _Fetched:
    response: requests.Response | None
    records: list[Record]
    error: BaseException | None = None


@dataclass
class _Item:
    """What the consumer takes from a partition, in order: a page's records, then maybe an error."""

    seq: int
    records: list[Record]
    error: BaseException | None = None
    held: int = 1


@dataclass(order=True)
class _Task:
    priority: tuple[t.Any, ...]
    partition: Partition = field(compare=False)
    seq: int = field(compare=False)
    generation: int = field(compare=False)
    request: PageRequest = field(compare=False)
    taken: bool = field(default=False, compare=False)
    """Dispatched to a worker, or superseded by a task of higher priority."""


class Partition:
    """One stream partition: its pages in flight, fetched, and ready for the consumer.

    Every field is guarded by the engine's lock.
    """

    def __init__(
        self, stream: PagedStream, context: Mapping[str, t.Any] | None, order: tuple[int, ...]
    ) -> None:
        self.stream = stream
        self.context = context
        self.key = partition_key(stream.name, context)
        self.order = order
        self.paginator = stream.make_paginator()
        self.generation = 0
        """Bumped when pages requested ahead turn out wrong: their answers are dropped."""
        self.next_seq = 0
        self.planned: dict[int, _Task] = {}
        self.arrived: dict[int, _Fetched] = {}
        self.ready: deque[_Item] = deque()
        self.previous: list[Record] | None = None
        self.children: dict[int, list[Partition]] = {}
        self.children_streams = list(stream.active_children())
        self.finished = False
        self.dead = False
        self.claimed = False


class Engine:
    """Fetches pages for the SDK's consumer thread on `workers` threads."""

    def __init__(self, *, workers: int, on_wait: Callable[[], None] = lambda: None) -> None:
        """`on_wait` runs whenever the consumer is about to wait for a page (and every
        `_WAIT_SLICE` while it waits): the tap flushes its output there."""
        self.workers = max(1, workers)
        self.capacity = AHEAD_PER_WORKER * self.workers if self.workers > 1 else 0
        """Pages that may be held ahead; a sequential run fetches only what is waited for."""
        self.on_wait = on_wait
        self._cond = threading.Condition()
        """Workers wait here for work; every field is guarded by its lock."""
        self._consumer = threading.Condition(self._cond._lock)  # type: ignore[attr-defined]
        """The consumer waits here for its partition's next page (the same lock)."""
        self._heap: list[_Task] = []
        self._held = 0
        self._in_flight = 0
        self._pace = Pace(self.workers)
        self._registry: dict[str, deque[Partition]] = {}
        self._reading: list[Partition] = []
        """Partitions the consumer is inside of, innermost last: its pages may always go."""
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self._tiebreak = itertools.count()
        self.max_held = 0
        """The most pages held at once (for tests of the memory bound)."""

    # -- the SDK's side --------------------------------------------------------------

    def start(self, streams: t.Iterable[tuple[PagedStream, list[Mapping[str, t.Any] | None]]]) -> None:
        """Register every partition of the selected top-level streams, in the SDK's order."""
        with self._cond:
            for index, (stream, contexts) in enumerate(streams):
                for number, context in enumerate(contexts):
                    self._register(stream, context, (index, number))
            self._ensure_workers()
            self._cond.notify_all()  # one event per run

    def records(
        self, stream: PagedStream, context: Mapping[str, t.Any] | None
    ) -> Generator[Record, None, None]:
        """The partition's records in order; an error where a sequential run meets it."""
        with self._cond:
            part = self._claim(stream, context)
            self._reading.append(part)
            self._cond.notify_all()  # at the bound, only the partition being read may fetch
        try:
            while True:
                item = self._take(part)
                if item is None:
                    return
                if item.records:
                    yield from item.records
                if item.error is not None:
                    raise item.error
                with self._cond:
                    for child in part.children.pop(item.seq, []):
                        self._kill(child)  # the SDK skipped its parent record
        finally:
            with self._cond:
                self._reading.remove(part)
                self._kill(part)
                self._cond.notify_all()  # what it held is free

    def close(self) -> None:
        """Stop: nothing new starts, every worker ends (a request in flight is waited for briefly)."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
            self._consumer.notify_all()
        deadline = time.monotonic() + _STOP_WAIT
        for thread in list(self._threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- bookkeeping under the lock --------------------------------------------------

    def _register(
        self, stream: PagedStream, context: Mapping[str, t.Any] | None, order: tuple[int, ...]
    ) -> Partition:
        part = Partition(stream, context, order)
        self._registry.setdefault(part.key, deque()).append(part)
        self._plan(part, 0, part.paginator.next_request(), _NEEDED)
        return part

    def _claim(self, stream: PagedStream, context: Mapping[str, t.Any] | None) -> Partition:
        key = partition_key(stream.name, context)
        queue = self._registry.get(key)
        if queue:
            part = queue.popleft()
            if not queue:
                del self._registry[key]
        else:  # not foreseen (fetching ahead is off, or the SDK asked for something new)
            part = self._register(stream, context, (1 << 62,))
            self._registry[key].remove(part)
            if not self._registry[key]:
                del self._registry[key]
            self._ensure_workers()
        part.claimed = True
        return part

    def _plan(self, part: Partition, seq: int, request: PageRequest, kind: int, ahead: int = 0) -> None:
        """Queue a request. Needed pages go deepest first: a list that has shown many pages
        is likely the longest chain, which decides when the run ends. Guesses go nearest
        first across partitions (`ahead`: pages past the one needed next), so every list
        moves at once and few are read past their end."""
        rank = -seq if kind == _NEEDED else ahead
        priority = (kind, rank, (*part.order, seq), next(self._tiebreak))
        task = _Task(priority, part, seq, part.generation, request)
        part.planned[seq] = task
        heapq.heappush(self._heap, task)

    def _release(self, count: int = 1) -> None:
        self._held -= count

    def _kill(self, part: Partition) -> None:
        """Forget a partition the consumer is done with or will never read, and its children."""
        if part.dead:
            return
        part.dead = part.finished = True  # pages still in flight are released as they arrive
        self._release(len(part.arrived) + sum(item.held for item in part.ready))
        part.arrived.clear()
        part.ready.clear()
        part.planned.clear()
        if not part.claimed:
            queue = self._registry.get(part.key)
            if queue and part in queue:
                queue.remove(part)
                if not queue:
                    del self._registry[part.key]
        for children in part.children.values():
            for child in children:
                self._kill(child)
        part.children.clear()

    def _take(self, part: Partition) -> _Item | None:
        """The partition's next item, waiting for it; None at its end."""
        waited = False
        while True:
            with self._cond:
                if part.ready:
                    item = part.ready.popleft()
                    self._release(item.held)
                    self._pace.page_taken(waited=waited)
                    # Each page freed lets one more go; an emptied partition lets its own
                    # pages go past the bound.
                    self._wake(item.held if part.ready else self.workers)
                    return item
                if part.finished:
                    return None
                if waited:
                    task = self._own_task(part)
                    if task is None:
                        self._ensure_workers()
                        self._cond.notify(max(1, self._pace.limit - self._in_flight))
                        self._consumer.wait(_WAIT_SLICE)
                        if part.ready or part.finished:
                            continue
                    else:  # nothing is read ahead: fetch it here, as a plain loop does
                        self._run(task)
                        continue
            self.on_wait()  # outside the lock: it may write, or raise to stop the run
            waited = True

    def _own_task(self, part: Partition) -> _Task | None:
        """At a limit of 0, the partition's next page for the consumer to fetch itself (no
        worker to wake and wait for), unless a worker has it already."""
        task = part.planned.get(part.next_seq)
        if self._pace.limit or self._stopped or task is None or task.taken:
            return None
        task.taken = True
        self._dispatched()
        return task

    # -- the workers' side -----------------------------------------------------------

    def _wake(self, work: int) -> None:
        """Wake as many idle workers as there is work for and room in flight."""
        count = min(work, self._pace.limit - self._in_flight)
        if count > 0:
            self._cond.notify(count)

    def _ensure_workers(self) -> None:
        while len(self._threads) < self.workers and self._heap and not self._stopped:
            thread = threading.Thread(target=self._work, name=f"engine-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next_task(self) -> _Task | None:
        """The task to run next, waiting for one; None once stopped or idle for a while."""
        with self._cond:
            while not self._stopped:
                task = self._pick()
                if task is not None:
                    task.taken = True
                    self._dispatched()
                    return task
                if not self._cond.wait(_IDLE):
                    break  # idle: a new worker starts when work comes
            self._threads.remove(threading.current_thread())
            return None

    def _dispatched(self) -> None:
        self._held += 1
        self._in_flight += 1
        self.max_held = max(self.max_held, self._held)

    def _pick(self) -> _Task | None:
        """The heap's first live task while under the bound; at the bound, only a page of
        the partition the consumer is reading (so the bound can never stall the run)."""
        while self._heap:
            task = self._heap[0]
            part = task.partition
            if task.taken or part.dead or task.generation != part.generation:
                heapq.heappop(self._heap)
                continue
            if self._held < self.capacity and self._in_flight < self._pace.limit:
                return heapq.heappop(self._heap)
            break
        if self._reading:
            head = self._reading[-1]
            mine = [task for task in head.planned.values() if not task.taken]
            if mine:
                task = min(mine, key=lambda task: task.seq)
                # The page the partition's order waits for always goes; others only while the
                # consumer has nothing left to read, so the bound holds for this partition too.
                # At a limit of 0 the consumer fetches its page itself (`_own_task`).
                if task.seq == head.next_seq:
                    if self._pace.limit:
                        return task
                elif not head.ready and self._in_flight < self._pace.limit:
                    return task
        return None

    def _work(self) -> None:
        while (task := self._next_task()) is not None:
            with self._cond:
                self._run(task)
                self._consumer.notify()

    def _run(self, task: _Task) -> None:
        """Fetch a dispatched task outside the lock (held on entry and on return), then read it in."""
        self._cond.release()
        try:
            fetched = self._fetch(task)
        finally:
            self._cond.acquire()
        self._in_flight -= 1
        planned, held = len(self._heap), self._held
        self._arrive(task, fetched)
        # New requests, or pages freed (dropped ahead), are work for that many workers, less
        # the one that fetched this page (it takes its next task itself, if it is a worker).
        self._wake(len(self._heap) - planned + max(0, held - self._held) - 1)

    def _fetch(self, task: _Task) -> _Fetched:
        part = task.partition
        try:
            response = part.stream.fetch_page(task.request, part.context)
            records = [] if response is None else list(part.stream.parse_response(response))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, in order (a signal's too)
            return _Fetched(None, [], exc)
        return _Fetched(response, records)

    def _arrive(self, task: _Task, fetched: _Fetched) -> None:
        part = task.partition
        if part.dead or task.generation != part.generation:
            self._release()
            return
        part.arrived[task.seq] = fetched
        while part.next_seq in part.arrived and not part.finished:
            seq = part.next_seq
            part.next_seq += 1
            part.planned.pop(seq, None)
            self._read_in_order(part, seq, part.arrived.pop(seq))
        if part.finished:
            self._drop_ahead(part)

    def _read_in_order(self, part: Partition, seq: int, fetched: _Fetched) -> None:
        """What a sequential run does with one page: stop rules, repeat guard, next request."""
        if fetched.error is not None:
            part.ready.append(_Item(seq, [], fetched.error))
            part.finished = True
            return
        if fetched.response is None:  # the parent is gone: the stream skips it
            self._release()
            part.finished = True
            return
        records = fetched.records
        if records and records == part.previous:
            part.stream.logger.warning(
                "Stream %s: %s returned the previous page again; ending the stream there",
                part.stream.name,
                getattr(part.stream, "path", ""),
            )
            self._release()
            part.finished = True
            return
        try:
            part.paginator.update_state(fetched.response, records)
        except TapError as exc:
            part.ready.append(_Item(seq, records, exc))
            part.finished = True
            return
        part.ready.append(_Item(seq, records))
        self._register_children(part, seq, records)
        if not part.paginator.has_next_page:
            part.finished = True
            return
        part.previous = [dict(record) for record in records]  # the consumer changes the records
        self._plan_next(part, seq + 1)

    def _plan_next(self, part: Partition, seq: int) -> None:
        request = part.paginator.next_request()
        planned = part.planned.get(seq)
        if planned is not None and planned.request != request:
            self._drop_ahead(part)  # a guess went wrong: drop every page requested ahead
            planned = None
        if planned is None:
            self._plan(part, seq, request, _NEEDED)
        elif not planned.taken:  # a guess proved right: it is needed now
            planned.taken = True
            self._plan(part, seq, request, _NEEDED)
        if self.capacity:
            for offset, ahead in enumerate(part.paginator.requests_ahead(self.workers), start=1):
                if seq + offset not in part.planned:
                    self._plan(part, seq + offset, ahead, _GUESSED, offset)

    def _drop_ahead(self, part: Partition) -> None:
        """Forget pages past the one read last: their answers, when they come, are dropped."""
        self._release(len(part.arrived))
        part.arrived.clear()
        part.planned.clear()
        part.generation += 1

    def _register_children(self, part: Partition, seq: int, records: list[Record]) -> None:
        if not part.children_streams or not self.capacity:
            return
        children = []
        for index, record in enumerate(records):
            context = part.stream.get_child_context(record, part.context)
            for number, child in enumerate(part.children_streams):
                children.append(self._register(child, context, (*part.order, seq, index, number)))
        part.children[seq] = children
