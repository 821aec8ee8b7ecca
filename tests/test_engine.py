"""The request engine: read ahead, yet the Singer output of a sequential run, under one budget."""

from __future__ import annotations

import itertools
import json
import threading
import time
import typing as t

import pytest
import requests_mock as rm

from analytics_sandbox import Sandbox
from analytics_sandbox.faults import Fault
from analytics_sandbox.limits import RateLimit
from tap_analytics_common import AnalyticsStream, OffsetPaging, PageNumberPaging
from tap_analytics_common import engine as engine_module
from tap_analytics_common import tap as tap_module
from tap_analytics_common.engine import AHEAD_PER_WORKER, Engine
from tap_analytics_common.pace import Pace
from tap_analytics_e.tap import TapAnalyticsE
from tests.fixtures.inprocess import records, sync
from tests.helpers import assert_clean_failure, run_tap

TAPS = ["a", "b", "c", "d", "e"]
SMALL_PAGES = {"b": 7, "d": 9, "e": 6}
"""Page sizes that give every paged stream many pages from the sandbox's default data."""


def comparable(run) -> list[str]:
    """The Singer output, message by message, without the clock: `time_extracted`, and the
    table version (the run's start time) numbered in order of appearance."""
    versions: dict[int, int] = {}
    out = []
    for message in run.messages:
        timeless = {key: value for key, value in message.items() if key != "time_extracted"}
        if "version" in timeless:
            timeless["version"] = versions.setdefault(timeless["version"], len(versions))
        out.append(json.dumps(timeless, sort_keys=True))
    return out


def faults(api: str) -> list[Fault]:
    """Retries on every kind of endpoint: 500s, a 429 with Retry-After, a dropped connection."""
    return [
        Fault(api=api, kind="status", status=500, times=3, after=2),
        Fault(api=api, kind="status", status=429, times=2, after=5, retry_after="0"),
        Fault(api=api, kind="drop", times=1, after=9),
    ]


def run_against(api: str, in_flight: int) -> t.Any:
    box = Sandbox(port=0, latency_ms=5, faults=faults(api), apis=[api]).start()
    try:
        config = box.tap_config(api) | {"max_concurrent_requests": in_flight, "backoff_factor": 0}
        if api in SMALL_PAGES:
            config["page_size"] = SMALL_PAGES[api]
        return run_tap(f"tap-analytics-{api}", config)
    finally:
        box.stop()


@pytest.mark.parametrize("api", TAPS)
def test_eight_in_flight_emit_what_a_sequential_run_emits(api):
    """SCHEMA, RECORD, STATE and ACTIVATE_VERSION in the same order, under faults and latency."""
    sequential = run_against(api, 1)
    concurrent = run_against(api, 8)
    assert sequential.returncode == 0, sequential.stderr[-2000:]
    assert concurrent.returncode == 0, concurrent.stderr[-2000:]
    assert len(sequential.records()) > 0
    assert comparable(concurrent) == comparable(sequential)


def test_every_top_level_stream_starts_with_the_run():
    """The first page of each of b's eight streams is requested before any second page."""
    with Sandbox(port=0, latency_ms=30, apis=["b"]).start() as box:
        run = run_tap("tap-analytics-b", box.tap_config("b") | {"max_concurrent_requests": 8, "page_size": 7})
        assert run.returncode == 0, run.stderr[-2000:]
        data = sorted((s for s in box.served if s.method == "GET"), key=lambda s: s.started)
    first_eight = {s.path for s in data[:8]}
    assert len(first_eight) == 8, first_eight


def test_cursor_pages_of_one_partition_follow_each_other():
    """c's pages depend on the cursor of the page before: never two of one list at once."""
    with Sandbox(port=0, latency_ms=20, apis=["c"]).start() as box:
        run = run_tap("tap-analytics-c", box.tap_config("c") | {"max_concurrent_requests": 8})
        assert run.returncode == 0, run.stderr[-2000:]
        served = [s for s in box.served if s.method == "GET"]
    by_path: dict[str, list[t.Any]] = {}
    for s in served:
        by_path.setdefault(s.path, []).append(s)
    chains = [pages for pages in by_path.values() if len(pages) > 1]
    assert chains, "the sandbox should page some of c's lists"
    for pages in chains:
        pages.sort(key=lambda s: s.started)
        assert all(a.ended <= b.started for a, b in itertools.pairwise(pages)), pages[0].path
    overlapping = sum(1 for a in served for b in served if a is not b and a.started < b.started < a.ended)
    assert overlapping > 0, "different partitions should be read side by side"


def test_an_error_made_ahead_surfaces_where_a_sequential_run_meets_it():
    """Page 4 of blocks fails: pages 1-3 are written, then one line and exit 1, as sequentially."""

    def run(in_flight: int) -> t.Any:
        fault = Fault(api="e", path="/v1/blocks", query="offset=60&", kind="status", status=403, times=-1)
        with Sandbox(port=0, latency_ms=5, faults=[fault], apis=["e"]).start() as box:
            config = box.tap_config("e") | {"max_concurrent_requests": in_flight, "page_size": 20}
            return run_tap("tap-analytics-e", config)

    sequential, concurrent = run(1), run(8)
    for result in (sequential, concurrent):
        assert_clean_failure(result, mentions="403")
        assert len(result.records("blocks")) == 60
    assert comparable(concurrent) == comparable(sequential)


def offsets_api(mock: rm.Mocker, size: int, cap: t.Callable[[int], int], beyond: int = 200) -> None:
    """Offset pages of `size` records, each capped to `cap(request number)` records.

    Past the end the API answers `beyond`: a sequential run never asks there.
    """
    calls = {"n": 0}

    def answer(request: t.Any, context: t.Any) -> dict[str, t.Any]:
        offset, limit = int(request.qs["offset"][0]), int(request.qs["limit"][0])
        calls["n"] += 1
        if offset >= size and beyond != 200:
            context.status_code = beyond
            return {"error": "past the end"}
        stop = min(size, offset + min(limit, cap(calls["n"])))
        return {"data": [{"id": f"r{i}", "createdAt": None, "updatedAt": None} for i in range(offset, stop)]}

    mock.post("https://api.example.com/oauth/token", json={"access_token": "at", "expires_in": 3600})
    mock.get("https://api.example.com/v1/blocks", json=answer)


def blocks_only(**config: t.Any) -> TapAnalyticsE:
    catalog = TapAnalyticsE(config={"client_id": "c", "client_secret": "s"}).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "blocks"
    return TapAnalyticsE(config={"client_id": "c", "client_secret": "s"} | config, catalog=catalog)


def test_pages_read_past_the_end_are_dropped_and_their_errors_too(capsys):
    with rm.Mocker() as mock:
        offsets_api(mock, 1050, cap=lambda n: 10**6, beyond=500)
        out = sync(blocks_only(max_concurrent_requests=8, max_retries=0), capsys)
        asked = sorted(int(r.qs["offset"][0]) for r in mock.request_history if r.method == "GET")
    assert [r["id"] for r in records(out, "blocks")] == [f"r{i}" for i in range(1050)]
    assert max(asked) > 1000, "pages past the end should have been read ahead"


def test_a_server_that_starts_capping_the_limit_loses_no_record(capsys):
    """Full pages of 250 first, then the server caps at 100: guesses ahead are wrong and redone."""
    with rm.Mocker() as mock:
        offsets_api(mock, 2000, cap=lambda n: 250 if n <= 3 else 100)
        out = sync(blocks_only(max_concurrent_requests=8, page_size=250), capsys)
    got = [r["id"] for r in records(out, "blocks")]
    assert got == [f"r{i}" for i in range(2000)]


def test_a_server_that_caps_from_the_start_is_read_one_page_at_a_time(capsys):
    with rm.Mocker() as mock:
        offsets_api(mock, 730, cap=lambda n: 100)
        out = sync(blocks_only(max_concurrent_requests=8, page_size=250), capsys)
        asked = [int(r.qs["offset"][0]) for r in mock.request_history if r.method == "GET"]
    assert [r["id"] for r in records(out, "blocks")] == [f"r{i}" for i in range(730)]
    assert asked == [0, 100, 200, 300, 400, 500, 600, 700, 730]


class Recorded(Engine):
    """An Engine that remembers itself, so a test can read its figures after the run."""

    made: t.ClassVar[list[Engine]] = []

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        Recorded.made.append(self)


def engine_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("engine-")]


def test_pages_held_ahead_are_bounded_whatever_the_number_of_pages(monkeypatch, capsys):
    """1,700 pages over four streams at 3 in flight: never more held than the fixed bound."""
    monkeypatch.setattr(tap_module, "Engine", Recorded)
    Recorded.made.clear()
    with Sandbox(port=0, scale=2, latency_ms=1, apis=["e"]).start() as box:
        config = box.tap_config("e") | {"max_concurrent_requests": 3, "page_size": 1}
        out = sync(TapAnalyticsE(config=config), capsys)
        expected = box.apis["e"].counts()
    assert {s: len(records(out, s)) for s in expected} == expected
    (engine,) = Recorded.made
    # The bound: the pages held ahead, plus the consumer's partition (its next page and a
    # worker's worth of guesses) and those of the partition it just left, until they arrive.
    assert 3 <= engine.max_held <= AHEAD_PER_WORKER * 3 + 2 * (3 + 1)
    assert engine_threads() == []


def test_a_stop_ends_every_thread_and_starts_no_request(monkeypatch):
    with Sandbox(port=0, latency_ms=100, apis=["e"]).start() as box:
        tap = TapAnalyticsE(config=box.tap_config("e") | {"max_concurrent_requests": 4, "page_size": 5})
        tap.begin_sync()
        stream = t.cast("AnalyticsStream", tap.streams["blocks"])
        partitions = tap.engine.records(stream, None)
        assert next(iter(partitions))["id"]
        partitions.close()
        tap.after_sync(failed=True)
        assert engine_threads() == []
        served = len(box.served)
        time.sleep(0.5)
        assert len(box.served) == served


# -- the request budget ------------------------------------------------------------------


def request_rate(box: Sandbox) -> tuple[int, float]:
    """Data requests the sandbox answered and their rate per second, first to last start."""
    starts = sorted(s.started for s in box.served if s.method == "GET")
    return len(starts), (len(starts) - 1) / (starts[-1] - starts[0])


def test_a_run_within_its_budget_gets_no_429_and_keeps_the_pace():
    """250 requests in any 5 s (a sliding window), max_requests_per_minute 3000: no 429.

    The server's window is 12 times shorter than the budget's minute, so the run is short,
    yet long enough that a request delayed on its way (a busy machine's thread switch) is
    not counted twice against the window: a 1 s window made the test measure the GIL.
    """
    budget = RateLimit(api="e", limit=250, window_ms=5000)
    with Sandbox(port=0, scale=2, rate_limits=[budget], apis=["e"]).start() as box:
        config = box.tap_config("e") | {
            "max_concurrent_requests": 8,
            "page_size": 3,
            "max_requests_per_minute": 3000,
        }
        run = run_tap("tap-analytics-e", config)
        assert run.returncode == 0, run.stderr[-2000:]
        assert box.limiters["e"].throttled == 0
        count, rate = request_rate(box)
    assert count >= 300
    assert 45 <= rate <= 55


def test_without_a_budget_the_same_run_is_throttled():
    """The check above can fail: the sandbox's budget is real."""
    budget = RateLimit(api="e", limit=250, window_ms=5000)
    with Sandbox(port=0, scale=2, rate_limits=[budget], apis=["e"]).start() as box:
        config = box.tap_config("e") | {"max_concurrent_requests": 8, "page_size": 3}
        run = run_tap("tap-analytics-e", config)
        assert run.returncode == 0, run.stderr[-2000:]
        assert box.limiters["e"].throttled > 0


@pytest.mark.parametrize(("style", "scale"), [("ietf", 2), ("x", 1), ("x-epoch", 1)])
def test_rate_limit_headers_lead_the_run_to_no_429(style, scale):
    """40 requests per fixed second, announced by headers; no setting: the headers alone suffice."""
    limit = RateLimit(api="e", limit=40, window_ms=1000, headers=style)
    with Sandbox(port=0, scale=scale, rate_limits=[limit], apis=["e"]).start() as box:
        config = box.tap_config("e") | {"max_concurrent_requests": 8, "page_size": 3 if scale > 1 else 6}
        run = run_tap("tap-analytics-e", config)
        assert run.returncode == 0, run.stderr[-2000:]
        assert box.limiters["e"].throttled == 0
        count, _ = request_rate(box)
    assert count >= (300 if scale > 1 else 80)


def test_a_far_reset_is_capped_and_logged():
    from tap_analytics_common.budget import RequestBudget

    clock = {"now": 100.0}
    logged: list[str] = []

    class Log:
        def warning(self, msg: str, *args: t.Any) -> None:
            logged.append(msg % args)

    budget = RequestBudget(per_minute=None, logger=Log(), clock=lambda: clock["now"])  # type: ignore[arg-type]
    budget.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3600"}, 0)
    assert budget.wait_time() == pytest.approx(120.0)
    assert logged == ["The API's rate-limit reset asks to wait 3600s; waiting at most 120s"]
    clock["now"] += 120
    assert budget.wait_time() == 0.0


# -- paginators -----------------------------------------------------------------------------


class Body:
    def __init__(self, body: dict[str, t.Any]) -> None:
        self.__dict__["_tap_body"] = body
        self.url = "https://api.test/items"


def test_paginators_guess_ahead_only_what_the_server_honoured():
    paging = OffsetPaging(limit=10)
    assert paging.requests_ahead(3) == []
    paging.update_state(Body({}), [{}] * 10)  # type: ignore[arg-type]
    assert [r.params["offset"] for r in paging.requests_ahead(3)] == [20, 30, 40]
    paging.update_state(Body({}), [{}] * 10)  # type: ignore[arg-type]
    assert paging.next_request().params == {"offset": 20, "limit": 10}

    capped = PageNumberPaging(limit=250)
    capped.update_state(Body({}), [{}] * 100)  # type: ignore[arg-type]
    assert capped.has_next_page
    assert capped.requests_ahead(3) == []
    assert capped.next_request().params == {"page": 2, "limit": 250}


def test_a_total_bounds_the_pages_guessed_ahead():
    paging = PageNumberPaging(limit=10)
    paging.update_state(Body({"total": 35}), [{}] * 10)  # type: ignore[arg-type]
    assert [r.params["page"] for r in paging.requests_ahead(8)] == [3, 4]


class FakeTimes:
    """A wall clock and a CPU clock that a test moves by hand."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def spend(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def test_the_limit_in_flight_halves_while_the_process_is_busy_and_doubles_while_it_waits():
    times = FakeTimes()
    pace = Pace(8, clock=lambda: times.wall, cpu=lambda: times.cpu)
    limits = []
    for _ in range(5):  # an API faster than the reader: the process uses its core
        times.spend(0.05, 0.05)
        pace.page_taken(waited=True)
        limits.append(pace.limit)
    assert limits == [4, 2, 1, 0, 0]
    times.spend(0.05, 0.01)  # idle, but the reader was fed: nothing to gain
    pace.page_taken(waited=False)
    assert pace.limit == 0
    for _ in range(5):  # a slow API: the reader waits and the process idles
        times.spend(0.05, 0.01)
        pace.page_taken(waited=True)
        limits.append(pace.limit)
    assert limits[-5:] == [1, 2, 4, 8, 8]
    times.spend(0.001, 0.001)  # within one window nothing changes
    pace.page_taken(waited=True)
    assert pace.limit == 8


class Pinned(Pace):
    """Read nothing ahead, as the pace decides for a busy process."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.limit = 0

    def page_taken(self, *, waited: bool) -> None:
        pass


def test_at_a_limit_of_zero_pages_are_requested_one_at_a_time_as_the_reader_asks(monkeypatch, capsys):
    monkeypatch.setattr(engine_module, "Pace", Pinned)
    with Sandbox(port=0, latency_ms=5, apis=["e"]).start() as box:
        config = box.tap_config("e") | {"max_concurrent_requests": 8, "page_size": 7}
        out = sync(TapAnalyticsE(config=config), capsys)
        expected = box.apis["e"].counts()
        served = sorted((s for s in box.served if s.method == "GET"), key=lambda s: s.started)
    assert {s: len(records(out, s)) for s in expected} == expected
    assert len(served) > 20
    assert all(a.ended <= b.started for a, b in itertools.pairwise(served))
    assert engine_threads() == []
