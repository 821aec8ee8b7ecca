"""API c: a static bearer token and cursor pages (`next.page`, sent back as `?page=`).

Organizations list their members (the same person in several organizations); spaces have
traffic and content, but no endpoint lists them: the tap gets space ids from its settings.
Every list is built lazily from record indices, so a million users cost no memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import typing as t
from dataclasses import dataclass

from analytics_sandbox.apis.base import Answer, Query, SandboxApi, not_found
from analytics_sandbox.data import EPOCH, WORDS, email, maybe, person, timestamp, title

if t.TYPE_CHECKING:
    from collections.abc import Callable

Record = dict[str, t.Any]
End = t.Literal["null", "absent"]

_MEMBERS = re.compile(r"^/v1/orgs/org-(\d{4,})/members$")
_SPACE = re.compile(r"^/v1/spaces/spc-(\d{3,})/(insights/traffic|content)$")
_USER_FIELDS = ("object", "id", "displayName", "email", "photoURL", "urls")
STREAMS = ("users", "organizations", "org_members", "insights_traffic", "content")


@dataclass(frozen=True)
class Listing:
    """One list endpoint: its records, and the variations the document's cursor rule allows.

    end: the last page has `next: null` or no `next` at all. gap: the first page's cursor
    leads to an empty page that still carries a cursor. trailing: the last full page
    still carries a cursor, to an empty page that ends the list.
    """

    stream: str
    tag: str
    """Names the list inside its cursors: a cursor of another list is refused."""
    key: str
    total: int
    make: Callable[[int], Record]
    end: End = "null"
    gap: bool = False
    trailing: bool = False


class ApiC(SandboxApi):
    """Users, organizations (the first without members), members shared between
    organizations, and spaces: the first with neither traffic nor content, the second
    without traffic, the third without content.

    Options: `counts` overrides users/organizations/spaces (totals) and org_members/
    insights_traffic/content (records per organization or space that has any);
    `page_size` (records per page), `single_user` (/v1/user answers one object, not a
    list), `repeat_cursor` (a stream whose pages after the first repeat their cursor).
    """

    name = "c"
    grant = "bearer"
    token_path = None

    def __init__(
        self,
        scale: int = 1,
        seed: int = 7,
        *,
        counts: dict[str, int] | None = None,
        page_size: int = 5,
        single_user: bool = False,
        repeat_cursor: str | None = None,
    ) -> None:
        super().__init__(scale, seed)
        self.overrides = dict(counts or {})
        self.page_size = page_size
        self.single_user = single_user
        self.repeat_cursor = repeat_cursor
        self.n_users = self.overrides.get("users", 37 * scale)
        self.n_orgs = self.overrides.get("organizations", 6 * scale)
        self.n_spaces = self.overrides.get("spaces", 5 * scale)

    # -- data, lazily from indices ------------------------------------------------

    def user(self, i: int) -> Record:
        rng = self.rng("user", i)
        user_id = f"u{i:07d}"
        return {
            "object": "user",
            "id": user_id,
            "displayName": maybe(rng, person(rng), 0.1),
            "email": maybe(rng, email(i, rng), 0.1),
            "photoURL": maybe(rng, f"https://avatars.example.com/{user_id}.png", 0.4),
            "urls": {"location": f"https://api.example.com/v1/users/{user_id}"},
            "locale": rng.choice(["en", "fr", "de", "ja", "pt-BR"]),  # not in the document
        }

    def organization(self, i: int) -> Record:
        rng = self.rng("org", i)
        org_id = f"org-{i:04d}"
        domains = ["example.org", "example.com", "exämple.de", "例え.jp"]
        return {
            "object": "organization",
            "id": org_id,
            "type": "org",
            "title": maybe(rng, f"{title(rng)} Ltd"),
            "createdAt": maybe(rng, timestamp(rng)),
            "defaultRole": maybe(rng, rng.choice(["read", "comment", "edit", "admin"])),
            "emailDomains": maybe(rng, rng.sample(domains, rng.randint(0, 2))),
            "inviteLinks": maybe(rng, rng.random() < 0.5),
            "plan": maybe(rng, rng.choice(["free", "plus", "pro", "enterprise"])),
            "useCase": maybe(rng, rng.choice(["documentation", "internalWiki", "productDocs"]), 0.4),
            "urls": {
                "location": f"https://api.example.com/v1/orgs/{org_id}",
                "app": f"https://app.example.com/o/{org_id}/",
            },
            "hostname": maybe(rng, f"docs-{i}.example.org", 0.5),  # not in the document
        }

    def member_count(self, org: int) -> int:
        if org == 0:
            return 0
        count = self.overrides.get("org_members") or self.rng("org", org, "members").randint(6, 14)
        return min(count, self.n_users)

    def member(self, org: int, j: int) -> Record:
        """Organization `org` has the users from index 5·org on: neighbours share people."""
        rng = self.rng("member", org, j)
        user = self.user((org * 5 + j) % self.n_users)
        return {
            "object": "member",
            "id": user["id"],
            "role": maybe(rng, rng.choice(["admin", "create", "edit", "review", "comment", "read"])),
            "disabled": maybe(rng, rng.random() < 0.1, 0.05),
            "sso": maybe(rng, rng.random() < 0.3),
            "joinedAt": maybe(rng, timestamp(rng)),
            "lastSeenAt": maybe(rng, timestamp(rng), 0.3),
            "spaces": maybe(rng, rng.randint(0, 12)),
            "teams": maybe(rng, rng.randint(0, 4)),
            "user": {key: user[key] for key in _USER_FIELDS},
            "invitedBy": maybe(rng, person(rng), 0.5),  # not in the document
        }

    def space_ids(self) -> list[str]:
        return [f"spc-{s:03d}" for s in range(self.n_spaces)]

    def traffic_count(self, space: int) -> int:
        if space in (0, 1):
            return 0
        return self.overrides.get("insights_traffic") or self.rng("space", space, "traffic").randint(8, 40)

    def traffic(self, space: int, day: int) -> Record:
        """One day of views; every space counts the same days, so days repeat across spaces."""
        rng = self.rng("traffic", space, day)
        views = rng.randint(0, 5000)
        return {
            "timestamp": (EPOCH + dt.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "count": maybe(rng, views, 0.05),
            "uniqueVisitors": views // 3,  # not in the document
        }

    def content_count(self, space: int) -> int:
        if space in (0, 2):
            return 0
        return self.overrides.get("content") or self.rng("space", space, "content").randint(3, 25)

    def content(self, space: int, j: int) -> Record:
        rng = self.rng("content", space, j)
        return self._page(rng, f"spc-{space:03d}-p{j}", "", depth=0)

    def _page(self, rng: t.Any, page_id: str, parent_path: str, depth: int) -> Record:
        kind = rng.choice(["document", "document", "group", "link"] if depth < 2 else ["document"])
        name = title(rng)
        slug = re.sub(r"\W+", "-", name.lower(), flags=re.UNICODE).strip("-") or page_id
        path = f"{parent_path}/{slug}".lstrip("/")
        children = {"group": rng.randint(1, 3), "document": rng.randint(0, 2)}.get(kind, 0)
        children = children if depth < 2 else 0
        page: Record = {
            "id": page_id,
            "type": kind,
            "kind": "sheet" if kind != "link" else None,
            "title": name,
            "slug": slug,
            "path": path,
            "documentId": f"doc-{page_id}" if kind == "document" else None,
            "icon": maybe(rng, rng.choice(["📄", "🚀", "book", "☕"]), 0.6),
            "cover": maybe(rng, {"id": f"cover-{page_id}", "height": 240}, 0.7),
            "layout": {"cover": rng.random() < 0.3, "title": True, "outline": rng.random() < 0.5}
            if kind != "link"
            else None,
            "urls": {"app": f"https://app.example.com/s/{page_id}"},
            "pages": [self._page(rng, f"{page_id}-{k}", path, depth + 1) for k in range(children)],
            "description": maybe(rng, f"Über {rng.choice(WORDS)}", 0.4),  # not in the document
        }
        if kind == "link":
            page["target"] = {"url": f"https://example.org/{slug}"}
        return page

    # -- paging -------------------------------------------------------------------

    def _cursor(self, tag: str, offset: int, gap: bool) -> str:
        raw = f"{tag}|{offset}|{'gap' if gap else 'page'}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _read_cursor(self, tag: str, cursor: str) -> tuple[int, bool] | None:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            got_tag, offset, kind = raw.split("|")
            if got_tag != tag or kind not in ("gap", "page"):
                return None
            return int(offset), kind == "gap"
        except ValueError:
            return None

    def _page_of(self, listing: Listing, query: Query) -> Answer:
        """One page of the list, with the cursor to the next one."""
        offset, gap = 0, False
        if "page" in query:
            read = self._read_cursor(listing.tag, query["page"])
            if read is None:
                return Answer(400, {"error": "invalid_cursor", "page": query["page"]})
            offset, gap = read
        size, total = self.page_size, listing.total
        nxt: str | None = None
        if gap:
            items: list[Record] = []
            nxt = self._cursor(listing.tag, offset, gap=False)
        else:
            items = [listing.make(k) for k in range(offset, min(offset + size, total))]
            if offset + size < total:
                nxt = self._cursor(listing.tag, offset + size, gap=listing.gap and offset == 0)
            elif listing.trailing and offset < total:
                nxt = self._cursor(listing.tag, total, gap=False)
            if self.repeat_cursor == listing.stream and offset > 0:
                nxt = query["page"]
        body: Record = {"object": "list", listing.key: items, "count": len(items)}
        if nxt is not None:
            body["next"] = {"page": nxt}
        elif listing.end == "null":
            body["next"] = None
        return Answer(200, body)

    # -- the API --------------------------------------------------------------------

    def handle(self, path: str, query: Query) -> Answer:
        if path == "/v1/user" and self.single_user:
            return Answer(200, {"data": self.user(0)})
        listing = self._listing(path)
        return self._page_of(listing, query) if listing else not_found(path)

    def _listing(self, path: str) -> Listing | None:
        """The list at `path`, each with its own way of paging and ending."""
        if path == "/v1/user":
            return Listing("users", "user", "data", self.n_users, self.user, "null", gap=True)
        if path == "/v1/orgs":
            return Listing(
                "organizations", "orgs", "items", self.n_orgs, self.organization, "absent", gap=True
            )
        match = _MEMBERS.match(path)
        if match and int(match.group(1)) < self.n_orgs:
            org = int(match.group(1))
            return Listing(
                "org_members",
                f"members-{org}",
                "items",
                self.member_count(org),
                lambda j: self.member(org, j),
                "null" if org % 2 else "absent",
                gap=org % 3 == 1,
                trailing=org % 4 == 3,
            )
        match = _SPACE.match(path)
        if not match or int(match.group(1)) >= self.n_spaces:
            return None
        space = int(match.group(1))
        if match.group(2) == "content":
            return Listing(
                "content",
                f"content-{space}",
                "pages",
                self.content_count(space),
                lambda j: self.content(space, j),
                "null" if space % 2 else "absent",
                gap=space % 2 == 1,
                trailing=space % 4 == 2,
            )
        return Listing(
            "insights_traffic",
            f"traffic-{space}",
            "views",
            self.traffic_count(space),
            lambda d: self.traffic(space, d),
            "absent" if space % 2 else "null",
            gap=space % 2 == 0,
            trailing=space % 3 == 0,
        )

    def counts(self) -> dict[str, int]:
        return {
            "users": 1 if self.single_user else self.n_users,
            "organizations": self.n_orgs,
            "org_members": sum(self.member_count(o) for o in range(self.n_orgs)),
            "insights_traffic": sum(self.traffic_count(s) for s in range(self.n_spaces)),
            "content": sum(self.content_count(s) for s in range(self.n_spaces)),
        }

    def space_counts(self, space_ids: list[str]) -> dict[str, int]:
        """Rows of the per-space streams that a sync of just these spaces must load."""
        spaces = [int(s.removeprefix("spc-")) for s in dict.fromkeys(space_ids)]
        return {
            "insights_traffic": sum(self.traffic_count(s) for s in spaces),
            "content": sum(self.content_count(s) for s in spaces),
        }

    def shared_members(self) -> dict[str, list[str]]:
        """Member ids found in more than one organization, with those organizations."""
        orgs: dict[str, list[str]] = {}
        for o in range(self.n_orgs):
            for j in range(self.member_count(o)):
                orgs.setdefault(self.member(o, j)["id"], []).append(f"org-{o:04d}")
        return {member: found for member, found in orgs.items() if len(found) > 1}

    def tap_config(self, base_url: str) -> dict[str, t.Any]:
        """The bearer token, plus every space: the API has no endpoint that lists them."""
        return super().tap_config(base_url) | {"space_ids": self.space_ids()}

    def control(self, action: str, args: dict[str, t.Any]) -> t.Any:
        if action == "space_ids":
            return self.space_ids()
        if action == "single_user":
            self.single_user = bool(args.get("on", True))
            return {"single_user": self.single_user}
        if action == "repeat_cursor":
            stream = args.get("stream")
            if stream is not None and stream not in STREAMS:
                msg = f"unknown stream {stream!r}"
                raise ValueError(msg)
            self.repeat_cursor = stream
            return {"repeat_cursor": stream}
        if action == "shared_members":
            return self.shared_members()
        return super().control(action, args)
