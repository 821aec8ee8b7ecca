"""API b: eight flat lists under `entries`, paged by `page` (from 1) and `limit`.

The document does not say how the last page is signalled, so the end of a list is
selectable (constructor option `end` or control action `pagination`), one mode per
stop rule a tap must handle:

- "empty": pages past the end are empty;
- "repeat": pages past the end repeat the last page, byte for byte;
- "total": every page carries `total` (pages past the end are empty);
- "has_more": every page carries `has_more` (pages past the end are empty).

`limit` is capped silently at `max_limit` (default 100), as real servers do.
Records are generated from their index, so a count of a million costs no memory.
"""

from __future__ import annotations

import typing as t

from analytics_sandbox.apis.base import Answer, Query, SandboxApi, not_found
from analytics_sandbox.data import maybe, person, timestamp, title

if t.TYPE_CHECKING:
    import random
    from collections.abc import Callable

END_MODES = ("empty", "repeat", "total", "has_more")

BASE_COUNTS: dict[str, int] = {
    "files": 237,
    "connections": 200,  # an exact multiple of the page size: a short page cannot end it
    "datasets": 58,
    "members": 143,
    "teams": 9,
    "templates": 0,  # an empty list
    "workspaces": 12,
    "workbooks": 100,  # exactly one full page
}
"""Rows per stream at scale 1 (multiplied by `scale`)."""


def _files(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "name": f"{title(rng)} {i}.csv",
        "sizeBytes": rng.randrange(10**9),
        "mimeType": rng.choice(["text/csv", "application/json", "application/vnd.ms-excel"]),
        "owner": maybe(rng, {"id": f"mem_{rng.randrange(100):06d}", "name": person(rng)}),
        "tags": rng.sample(["raw", "finance", "pii", "archived", "📈"], rng.randint(0, 3)),
    }


def _connections(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "name": maybe(rng, f"{title(rng)} warehouse"),
        "kind": rng.choice(["postgres", "bigquery", "snowflake", "s3"]),
        "status": rng.choice(["active", "paused", "broken"]),
        "options": {"ssl": rng.random() < 0.7, "port": maybe(rng, rng.choice([5432, 443, 9000]))},
    }


def _datasets(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "name": f"{title(rng)} dataset",
        "rowCount": maybe(rng, rng.randrange(10**7)),
        "connectionId": f"con_{rng.randrange(200):06d}",
        "columns": [
            {"name": rng.choice(["amount", "région", "created", "user_id"]), "type": "string"}
            for _ in range(rng.randint(0, 4))
        ],
    }


def _members(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "displayName": person(rng),
        "email": maybe(rng, f"member.{i}@example.org"),
        "role": rng.choice(["owner", "admin", "editor", "viewer"]),
        "teamIds": [f"team_{rng.randrange(9):06d}" for _ in range(rng.randint(0, 2))],
    }


def _teams(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "name": f"Team {title(rng)}",
        "memberCount": rng.randint(0, 40),
        "lead": maybe(rng, {"id": f"mem_{rng.randrange(143):06d}", "name": person(rng)}, 0.3),
    }


def _templates(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "name": f"{title(rng)} template",
        "category": maybe(rng, rng.choice(["sales", "marketing", "ops"])),
        "description": maybe(rng, "Ünïcode ✓ template", 0.5),
    }


def _workspaces(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "name": maybe(rng, title(rng)),
        "plan": rng.choice(["free", "team", "enterprise"]),
        "region": rng.choice(["eu-west-1", "us-east-1", "ap-northeast-1"]),
        # The API's own field called `extra` must survive next to the tap's `extra`.
        "extra": {"legacyId": rng.randrange(10**6)},
    }


def _workbooks(rng: random.Random, i: int) -> dict[str, t.Any]:
    return {
        "title": f"{title(rng)} workbook",
        "workspaceId": f"wsp_{rng.randrange(12):06d}",
        "sheets": rng.randint(1, 30),
        "published": maybe(rng, rng.random() < 0.5),
        "description": maybe(rng, "Квартальный отчёт — 四半期", 0.4),
    }


STREAMS: dict[str, tuple[str, Callable[[random.Random, int], dict[str, t.Any]]]] = {
    "files": ("fil", _files),
    "connections": ("con", _connections),
    "datasets": ("dst", _datasets),
    "members": ("mem", _members),
    "teams": ("team", _teams),
    "templates": ("tpl", _templates),
    "workspaces": ("wsp", _workspaces),
    "workbooks": ("wbk", _workbooks),
}
"""Path name -> (id prefix, generator of the fields beyond id/createdAt/updatedAt)."""


class ApiB(SandboxApi):
    """Counts from BASE_COUNTS times `scale`, or per stream from `counts`."""

    name = "b"
    grant = "refresh_token"
    token_path = "/auth/token"

    def __init__(
        self,
        scale: int = 1,
        seed: int = 7,
        counts: dict[str, int] | None = None,
        end: str = "empty",
        max_limit: int = 100,
    ) -> None:
        super().__init__(scale, seed)
        self._counts = {name: n * scale for name, n in BASE_COUNTS.items()}
        self._set_counts(counts or {})
        self.end = ""
        self.max_limit = 0
        self._set_pagination(end, max_limit)

    def _set_counts(self, counts: dict[str, int]) -> None:
        for name, n in counts.items():
            if name not in self._counts or int(n) < 0:
                msg = f"no stream {name!r} or bad count {n!r}"
                raise ValueError(msg)
            self._counts[name] = int(n)

    def _set_pagination(self, end: str, max_limit: int) -> None:
        if end not in END_MODES or int(max_limit) < 1:
            msg = f"end must be one of {END_MODES} and max_limit positive"
            raise ValueError(msg)
        self.end = end
        self.max_limit = int(max_limit)

    def record(self, stream: str, i: int) -> dict[str, t.Any]:
        """Record number `i` of `stream`: the same every time it is asked for."""
        prefix, fields = STREAMS[stream]
        rng = self.rng(stream, i)
        created = timestamp(rng)
        return {
            "id": f"{prefix}_{i:06d}",
            "createdAt": maybe(rng, created, 0.05),
            "updatedAt": maybe(rng, max(created, timestamp(rng)), 0.3),
            **fields(rng, i),
        }

    def handle(self, path: str, query: Query) -> Answer:
        stream = path.strip("/")
        if path != f"/{stream}" or stream not in STREAMS:
            return not_found(path)
        try:
            page = int(query.get("page", "1"))
            limit = int(query.get("limit", "100"))
        except ValueError:
            return Answer(400, {"error": "page and limit must be integers"})
        if page < 1 or limit < 1:
            return Answer(400, {"error": "page and limit must be at least 1"})
        limit = min(limit, self.max_limit)
        count = self._counts[stream]
        start = (page - 1) * limit
        if self.end == "repeat" and start >= count > 0:
            start = (count - 1) // limit * limit  # the last page, again
        rows = [self.record(stream, i) for i in range(start, min(start + limit, count))]
        body: dict[str, t.Any] = {"entries": rows}
        if self.end == "total":
            body["total"] = count
        elif self.end == "has_more":
            body["has_more"] = start + len(rows) < count
        return Answer(200, body)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def control(self, action: str, args: dict[str, t.Any]) -> t.Any:
        if action == "pagination":
            # e.g. {"end": "repeat", "max_limit": 100}; either key may be left out
            self._set_pagination(args.get("end", self.end), args.get("max_limit", self.max_limit))
            return {"end": self.end, "max_limit": self.max_limit}
        if action == "set_counts":
            # e.g. {"files": 3}: rows past the new count are gone from the source
            self._set_counts(args)
            return self.counts()
        return super().control(action, args)
