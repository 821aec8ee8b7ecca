"""API e: four offset/limit lists (`/v1/<name>`, records under `data`), client credentials.

Records are built from their index on demand, never held as a list: the benchmarks page
through a million of them, so a page costs O(limit) time and memory. Every value that
needs randomness comes from small pools drawn once at start-up (deterministic by seed),
so the per-record work is one dict and one id.
"""

from __future__ import annotations

import typing as t

from analytics_sandbox.apis.base import Answer, Query, SandboxApi, not_found
from analytics_sandbox.data import WORDS, maybe, person, timestamp, title

MAX_LIMIT = 100
"""The server caps `limit` here, silently, as real APIs do."""

BIG = 2**53 + 1
"""Integers past 2**53 lose precision as JSON doubles: `extra` must carry them exactly."""

END_MODES = ("empty", "repeat", "total")
"""Past the end: an empty page; the last page again; or a `total` field on every page."""

_POOL = 211  # prime, so index-derived picks do not line up with page boundaries
_PREFIX = {"blocks": "b10c", "databases": "da7a", "pages": "9a9e", "users": "05e4"}
_DEFAULT_COUNTS = {"blocks": 250, "databases": 8, "pages": 200, "users": 37}
"""Per scale unit. 250 blocks end on a short page, 200 pages on an empty one."""

Record = dict[str, t.Any]


class ApiE(SandboxApi):
    """blocks, databases, pages and users, generated lazily from their index."""

    name = "e"
    grant = "client_credentials"
    token_path = "/oauth/token"

    def __init__(
        self,
        scale: int = 1,
        seed: int = 7,
        counts: dict[str, int] | None = None,
        end: str = "empty",
    ) -> None:
        super().__init__(scale, seed)
        unknown = set(counts or {}) - set(_DEFAULT_COUNTS)
        if unknown:
            msg = f"API e has no streams {sorted(unknown)}"
            raise ValueError(msg)
        self.sizes = {name: n * scale for name, n in _DEFAULT_COUNTS.items()} | dict(counts or {})
        self.end = _end_mode(end)
        self._pools = {name: self._variants(name) for name in _DEFAULT_COUNTS}

    # -- data -------------------------------------------------------------------

    def _variants(self, stream: str) -> list[Record]:
        """_POOL field sets per stream; record i takes variant i % _POOL."""
        rng = self.rng(stream)
        make = getattr(self, f"_{stream}_fields")
        variants = []
        for v in range(_POOL):
            created = timestamp(rng)
            updated = max(created, timestamp(rng))
            variants.append(
                {
                    "createdAt": maybe(rng, created, 0.05),
                    "updatedAt": maybe(rng, updated, 0.1),
                    **make(rng, v),
                }
            )
        return variants

    @staticmethod
    def _blocks_fields(rng: t.Any, v: int) -> Record:
        kind = rng.choice(["paragraph", "heading_1", "to_do", "bulleted_list_item", "image"])
        return {
            "type": kind,
            "parent": {"type": "page_id", "page_id": _uuid("9a9e", v)},
            "hasChildren": rng.random() < 0.2,
            "archived": rng.random() < 0.05,
            "content": {
                "richText": [
                    {"plainText": title(rng), "annotations": {"bold": rng.random() < 0.3, "color": "default"}}
                    for _ in range(rng.randint(0, 3))
                ],
                "checked": rng.random() < 0.5 if kind == "to_do" else None,
            },
            "sequence": BIG + v,
        }

    @staticmethod
    def _databases_fields(rng: t.Any, v: int) -> Record:
        return {
            "title": [{"plainText": f"{title(rng)} — Datenbank"}],
            "description": maybe(rng, "Ünïcode ✓ 説明", 0.5),
            "isInline": rng.random() < 0.3,
            "properties": {
                word.split()[0]: {"type": rng.choice(["title", "number", "select", "date", "people"])}
                for word in rng.sample(WORDS, 3)
            },
            "rowEstimate": BIG * 3 + v,
        }

    @staticmethod
    def _pages_fields(rng: t.Any, v: int) -> Record:
        return {
            "parent": {"type": "database_id", "database_id": _uuid("da7a", v % 8)},
            "archived": rng.random() < 0.05,
            "icon": maybe(rng, {"type": "emoji", "emoji": rng.choice(["🚀", "📈", "☕", "🧭"])}, 0.4),
            "properties": {
                "Name": {"title": [{"plainText": title(rng)}]},
                "Owner": {"people": [person(rng) for _ in range(rng.randint(0, 2))]},
                "Score": {"number": maybe(rng, round(rng.uniform(0, 100), 2))},
            },
            "tags": rng.sample(["q1", "q2", "draft", "okr", "ops", "北区"], rng.randint(0, 3)),
            "viewCount": BIG + 2 * v,
        }

    @staticmethod
    def _users_fields(rng: t.Any, v: int) -> Record:
        bot = rng.random() < 0.2
        name = person(rng)
        return {
            "type": "bot" if bot else "person",
            "name": maybe(rng, name, 0.1),
            "avatarUrl": maybe(rng, f"https://avatars.example.com/{v}.png", 0.5),
            "person": None if bot else {"email": f"user.{v}@example.org"},
            "bot": {"owner": {"type": "workspace"}} if bot else None,
        }

    def record(self, stream: str, index: int) -> Record:
        """Record number `index` of `stream`: the same every run, built in O(1)."""
        return {"id": _uuid(_PREFIX[stream], index), **self._pools[stream][index % _POOL]}

    def page(self, stream: str, offset: int, limit: int) -> list[Record]:
        """The records at [offset, offset + limit) that exist."""
        stop = min(offset + limit, self.sizes[stream])
        return [self.record(stream, i) for i in range(offset, stop)]

    # -- HTTP -------------------------------------------------------------------

    def handle(self, path: str, query: Query) -> Answer:
        stream = path.removeprefix("/v1/")
        if not path.startswith("/v1/") or stream not in self.sizes:
            return not_found(path)
        try:
            offset = int(query.get("offset", "0"))
            limit = min(int(query.get("limit", str(MAX_LIMIT))), MAX_LIMIT)
        except ValueError:
            return Answer(400, {"error": "invalid_request", "message": "offset and limit must be integers"})
        if offset < 0 or limit < 1:
            return Answer(400, {"error": "invalid_request", "message": "offset >= 0 and limit >= 1"})
        size = self.sizes[stream]
        if offset >= size and self.end == "repeat" and size:
            offset = (size - 1) // limit * limit  # the last page, again
        body: dict[str, t.Any] = {"data": self.page(stream, offset, limit)}
        if self.end == "total":
            body["total"] = size
        return Answer(200, body)

    def counts(self) -> dict[str, int]:
        return dict(self.sizes)

    def control(self, action: str, args: dict[str, t.Any]) -> t.Any:
        """`end` {"mode": empty|repeat|total}; `set_counts` {stream: n} (records past n vanish)."""
        if action == "end":
            self.end = _end_mode(args["mode"])
            return {"end": self.end}
        if action == "set_counts":
            for stream, n in args.items():
                if stream not in self.sizes:
                    raise KeyError(stream)
                self.sizes[stream] = int(n)
            return self.counts()
        if action == "record":
            return self.record(args["stream"], int(args["index"]))
        return super().control(action, args)


def _uuid(prefix: str, index: int) -> str:
    """A UUID-shaped id, unique per stream and index."""
    return f"{prefix}0000-0000-4000-8000-{index:012x}"


def _end_mode(mode: str) -> str:
    if mode not in END_MODES:
        msg = f"end mode {mode!r} is not one of {', '.join(END_MODES)}"
        raise ValueError(msg)
    return mode
