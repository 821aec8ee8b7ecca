"""Each way API b may end a list, driven through the real sandbox server: every record once,
and not one request more than the stop rule needs."""

from __future__ import annotations

import collections
import math

import pytest

from tests.helpers import control, run_tap

DOCUMENTED_PAGE_SIZE = 100


def short_page_ends(count: int, page_size: int, max_limit: int) -> bool:
    """Whether the last page is short and the tap may trust that (it asked for at most 100)."""
    return page_size <= DOCUMENTED_PAGE_SIZE and count % min(page_size, max_limit) != 0


def needed_requests(count: int, end: str, page_size: int, max_limit: int) -> int:
    """Data requests a stream needs to see its end, given how the server signals it."""
    pages = math.ceil(count / min(page_size, max_limit))  # the server caps the limit
    if count == 0 or end in ("total", "has_more") or short_page_ends(count, page_size, max_limit):
        return max(pages, 1)
    return pages + 1  # the empty (or repeated) page after the last one


def check_end_rule(sandbox, end: str, page_size: int, in_flight: int) -> None:
    """Every record once; sequentially exactly the requests the stop rule needs, and reading
    ahead at most one request per worker more for each list (pages past the end, dropped)."""
    settings = control(sandbox.url, "b/pagination", {"end": end})
    cap = settings["max_limit"]
    counts = sandbox.apis["b"].counts()
    # The data must hold the edge cases: an empty list, and (at 100) a list of full pages only.
    assert 0 in counts.values()
    assert page_size != 100 or any(n and not short_page_ends(n, page_size, cap) for n in counts.values())

    config = sandbox.tap_config("b") | {"page_size": page_size, "max_concurrent_requests": in_flight}
    run = run_tap("tap-analytics-b", config)

    assert run.returncode == 0, run.stderr[-2000:]
    assert run.counts() == {name: n for name, n in counts.items() if n}
    for name, n in counts.items():
        ids = collections.Counter(r["id"] for r in run.records(name))
        assert max(ids.values(), default=1) == 1, name
        needed = needed_requests(n, end, page_size, cap)
        made = sandbox.stats.get(f"b GET /{name}")
        assert needed <= made <= needed + (in_flight if in_flight > 1 else 0), name
    warned = {name for name in counts if f"Stream {name}: /{name} returned the previous page" in run.stderr}
    repeated = {n for n, c in counts.items() if c and not short_page_ends(c, page_size, cap)}
    assert warned == (repeated if end == "repeat" else set())


@pytest.mark.parametrize("end", ["empty", "repeat", "total", "has_more"])
@pytest.mark.parametrize("page_size", [100, 37, 250])
def test_every_end_of_list_rule(sandbox, end, page_size):
    check_end_rule(sandbox, end, page_size, in_flight=1)


@pytest.mark.parametrize("end", ["empty", "repeat", "total", "has_more"])
def test_every_end_of_list_rule_reading_ahead(sandbox, end):
    check_end_rule(sandbox, end, 37, in_flight=8)


def test_repeating_server_with_many_full_pages(sandbox):
    # 1,000 files at 100 per page: ten full pages, then the tenth again (the default 4 in
    # flight may ask for up to 4 pages past it; they are dropped).
    control(sandbox.url, "b/pagination", {"end": "repeat"})
    control(sandbox.url, "b/set_counts", {"files": 1000})
    run = run_tap("tap-analytics-b", sandbox.tap_config("b"))
    assert run.returncode == 0, run.stderr[-2000:]
    files = [r["id"] for r in run.records("files")]
    assert len(files) == len(set(files)) == 1000
    assert 11 <= sandbox.stats["b GET /files"] <= 11 + 4


def test_sandbox_caps_the_limit_silently(sandbox):
    control(sandbox.url, "b/pagination", {"end": "has_more", "max_limit": 100})
    first = sandbox.apis["b"].handle("/files", {"page": "1", "limit": "250"}).body
    assert len(first["entries"]) == 100
    assert first["has_more"] is True
