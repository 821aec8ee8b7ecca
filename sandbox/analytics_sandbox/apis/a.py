"""API a: unpaginated lists under `data.*`, four lists under each workspace."""

from __future__ import annotations

import re
import typing as t

from analytics_sandbox.apis.base import Answer, Query, SandboxApi, not_found
from analytics_sandbox.data import email, maybe, person, timestamp, title

_CHILD = re.compile(r"^/v1/workspaces/([^/]+)/(views|trash|users|folders)$")


class ApiA(SandboxApi):
    """Ten workspaces per scale unit; the first has empty child lists; users recur."""

    name = "a"
    grant = "refresh_token"
    token_path = "/oauth/v2/token"

    def __init__(self, scale: int = 1, seed: int = 7) -> None:
        super().__init__(scale, seed)
        rng = self.rng("top")
        self.users = [
            {
                "emailId": email(i, rng),
                "role": maybe(rng, rng.choice(["admin", "editor", "viewer"])),
                "status": maybe(rng, rng.random() < 0.8),
                "lastLoginAt": timestamp(rng),  # not in the document: must reach the warehouse
            }
            for i in range(30 * scale)
        ]
        self.orgs = [
            {
                "orgId": f"org-{i}",
                "orgName": maybe(rng, f"{title(rng)} GmbH"),
                "createdBy": maybe(rng, person(rng)),
                "numberOfWorkspaces": maybe(rng, rng.choice([1, 2.5, 40])),
            }
            for i in range(4 * scale)
        ]
        self.dashboards = [
            {
                "viewId": f"dash-{i}",
                "viewName": maybe(rng, title(rng)),
                "createdBy": maybe(rng, person(rng)),
                "createdTime": maybe(rng, timestamp(rng)),
            }
            for i in range(12 * scale)
        ]
        self.workspaces: dict[str, dict[str, t.Any]] = {}
        self.children: dict[str, dict[str, list[dict[str, t.Any]]]] = {}
        for i in range(10 * scale):
            self._add_workspace(i)

    def _add_workspace(self, i: int) -> None:
        rng = self.rng("ws", i)
        ws_id = f"ws-{i:04d}"
        self.workspaces[ws_id] = {
            "workspaceId": ws_id,
            "workspaceName": maybe(rng, title(rng)),
            "createdBy": maybe(rng, person(rng)),
            "createdTime": maybe(rng, timestamp(rng)),
            "plan": rng.choice(["free", "team", "enterprise"]),
        }
        empty = i == 0

        def n(top: int) -> int:
            return 0 if empty else rng.randint(0, top)

        members = rng.sample(self.users, n(6))
        self.children[ws_id] = {
            "views": [
                {
                    "viewId": f"view-{i}-{j}",
                    "viewName": maybe(rng, title(rng)),
                    "createdBy": maybe(rng, person(rng)),
                    "createdTime": maybe(rng, timestamp(rng)),
                    "viewType": rng.choice(["table", "chart", "pivot"]),
                }
                for j in range(n(6))
            ],
            "trash": [
                {
                    "viewId": f"trashed-{i}-{j}",
                    "viewName": maybe(rng, title(rng)),
                    "deletedBy": maybe(rng, person(rng)),
                    "deletedTime": maybe(rng, timestamp(rng)),
                }
                for j in range(n(3))
            ],
            "users": [
                {k: v for k, v in u.items() if k != "lastLoginAt"} | {"role": maybe(rng, "member")}
                for u in members
            ],
            "folders": [
                {
                    "folderId": f"folder-{i}-{j}",
                    "folderName": maybe(rng, title(rng)),
                    "folderDesc": maybe(rng, "Ünïcode ✓ description", 0.5),
                }
                for j in range(n(4))
            ],
        }

    def handle(self, path: str, query: Query) -> Answer:
        tops = {
            "/v1/users": ("users", self.users),
            "/v1/workspaces": ("ownedWorkspaces", list(self.workspaces.values())),
            "/v1/orgs": ("orgs", self.orgs),
            "/v1/dashboards": ("ownedViews", self.dashboards),
        }
        if path in tops:
            key, rows = tops[path]
            return Answer(200, {"data": {key: rows}})
        match = _CHILD.match(path)
        if match and match.group(1) in self.children:
            kind = match.group(2)
            key = "views" if kind in ("views", "trash") else kind
            return Answer(200, {"data": {key: self.children[match.group(1)][kind]}})
        return not_found(path)

    def counts(self) -> dict[str, int]:
        def total(kind: str) -> int:
            return sum(len(c[kind]) for c in self.children.values())

        return {
            "users": len(self.users),
            "workspaces": len(self.workspaces),
            "organizations": len(self.orgs),
            "dashboards": len(self.dashboards),
            "views": total("views"),
            "trash": total("trash"),
            "workspace_users": total("users"),
            "folders": total("folders"),
        }

    def control(self, action: str, args: dict[str, t.Any]) -> t.Any:
        if action == "delete_workspace":
            ws_id = args["workspaceId"]
            self.workspaces.pop(ws_id)
            return {"deleted": ws_id, "children": self.children.pop(ws_id)}
        if action == "vanish_workspace_children":
            # The workspace is still listed, but its lists answer 404: gone mid-run.
            ws_id = args["workspaceId"]
            return {"vanished": ws_id, "children": self.children.pop(ws_id)}
        if action == "workspace_ids":
            return list(self.workspaces)
        return super().control(action, args)
