"""What every sandbox API provides to the server."""

from __future__ import annotations

import random
import typing as t
from dataclasses import dataclass

from analytics_sandbox.auth import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Grant

Query = dict[str, str]
Body = t.Any


@dataclass
class Answer:
    """A JSON answer: status and body."""

    status: int
    body: Body


class SandboxApi:
    """One API: its token grant and paths, its data, and control actions for tests.

    Subclasses set `name`, `grant`, `token_path` and implement `handle`, `counts`.
    """

    name: t.ClassVar[str]
    grant: t.ClassVar[Grant]
    token_path: t.ClassVar[str | None] = None
    """Path of the token endpoint under the API's prefix (None for static bearer)."""

    def __init__(self, scale: int = 1, seed: int = 7) -> None:
        self.scale = scale
        self.seed = seed
        self.base_url: str | None = None
        """Where the server serves this API (set once it is bound), for absolute links."""

    def rng(self, *parts: object) -> random.Random:
        """A generator seeded by the sandbox seed and `parts`: same data every run."""
        return random.Random("|".join(map(str, (self.seed, self.name, *parts))))

    def tap_config(self, base_url: str) -> dict[str, t.Any]:
        """Settings that point the API's tap at this sandbox (its published demo credentials)."""
        config: dict[str, t.Any] = {"base_url": base_url}
        if self.grant != "bearer":
            config |= {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            config["token_url"] = base_url + (self.token_path or "")
        if self.grant == "refresh_token":
            config["refresh_token"] = REFRESH_TOKEN
        if self.grant == "bearer":
            config["access_token"] = ACCESS_TOKEN
        return config

    def handle(self, path: str, query: Query) -> Answer:
        """Answer a GET on `path` (without the API prefix)."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        """Rows per stream that a full sync must load (tests compare against this)."""
        raise NotImplementedError

    def control(self, action: str, args: dict[str, t.Any]) -> Body:
        """A test's change to the data (e.g. delete a workspace); unknown actions fail."""
        msg = f"unknown action {action!r} for API {self.name}"
        raise ValueError(msg)


def not_found(path: str) -> Answer:
    """The answer for an unknown path."""
    return Answer(404, {"error": "not_found", "path": path})
