"""API d: jobs by offset/limit in no particular order; connections and workspaces by a `next` cursor.

Records are generated from their index, so a million jobs cost no memory; only changed
and added jobs are stored. The `next` cursor comes in two forms, chosen by the `next_form`
option or the `next_form` control action: an opaque token (sent back as `?next=`) or the
absolute URL of the next page (followed as is).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import typing as t
import uuid

from analytics_sandbox.apis.base import Answer, Query, SandboxApi, not_found
from analytics_sandbox.data import WORDS, maybe, timestamp, title

NextForm = t.Literal["token", "url"]
MAX_LIMIT = 100
"""The server caps `limit` here, silently, as real APIs do."""
CURSOR_PAGE = 10
"""Records per cursor page (the document gives cursor streams no page-size parameter)."""
BIG_INT = 2**53 + 1
"""bytesSynced of every 50th job: a JSON number a float cannot hold exactly."""
DEFAULT_COUNTS = {"jobs": 250, "connections": 45, "workspaces": 12}
JOB_STATUSES = ["succeeded", "failed", "running", "cancelled", "incomplete", "pending"]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApiD(SandboxApi):
    """Jobs (shuffled, changeable, growable), connections and workspaces; both cursor forms."""

    name = "d"
    grant = "client_credentials"
    token_path = "/token"

    def __init__(
        self,
        scale: int = 1,
        seed: int = 7,
        *,
        counts: dict[str, int] | None = None,
        next_form: NextForm = "token",
        jobs_total: bool = False,
    ) -> None:
        super().__init__(scale, seed)
        sizes = {k: v * scale for k, v in DEFAULT_COUNTS.items()} | (counts or {})
        self.n_jobs = sizes["jobs"]
        self.n_connections = sizes["connections"]
        self.n_workspaces = sizes["workspaces"]
        self.next_form: NextForm = self._check_form(next_form)
        self.jobs_total = jobs_total
        """Whether job pages carry `total` (the document does not promise one)."""
        self.changed: dict[int, dict[str, t.Any]] = {}
        self.changes = 0
        self._order_for = (-1, 1, 0)

    # -- data ----------------------------------------------------------------------

    def _uuid(self, *parts: object) -> str:
        return str(uuid.UUID(int=self.rng("uuid", *parts).getrandbits(128), version=4))

    def workspace(self, i: int) -> dict[str, t.Any]:
        rng = self.rng("workspace", i)
        enabled = rng.random() < 0.5
        return {
            "workspaceId": self._uuid("workspace", i),
            "dataResidency": maybe(rng, rng.choice(["auto", "us", "eu"])),
            "name": maybe(rng, f"{title(rng)} {i}"),
            "notifications": maybe(
                rng,
                {
                    "failure": {"email": {"enabled": enabled}, "webhook": {"enabled": False, "url": None}},
                    "success": {"email": {"enabled": not enabled}},
                    "connectionUpdate": {"email": {"enabled": True}},
                },
            ),
            "organizationId": self._uuid("org", i % 3),  # not in the document: goes to `extra`
        }

    def connection(self, i: int) -> dict[str, t.Any]:
        rng = self.rng("connection", i)
        created = 1_700_000_000 + rng.randrange(50_000_000)
        return {
            "connectionId": self._uuid("connection", i),
            "createdAt": maybe(rng, created + 0.25 if i % 7 == 0 else created),
            "dataResidency": maybe(rng, rng.choice(["auto", "us", "eu"])),
            "destinationId": maybe(rng, self._uuid("destination", rng.randrange(5))),
            "name": maybe(rng, f"{title(rng)} → warehouse"),
            "namespaceDefinition": maybe(rng, rng.choice(["source", "destination", "custom_format"])),
            "namespaceFormat": maybe(rng, "${SOURCE_NAMESPACE}"),
            "nonBreakingSchemaUpdatesBehavior": maybe(
                rng, rng.choice(["ignore", "disable_connection", "propagate_columns", "propagate_fully"])
            ),
            "prefix": maybe(rng, rng.choice(["", "raw_", "stg_"])),
            "schedule": maybe(
                rng,
                {"scheduleType": "cron", "cronExpression": "0 0 * * * ?", "basicTiming": None}
                if rng.random() < 0.5
                else {"scheduleType": "manual"},
            ),
            "sourceId": maybe(rng, self._uuid("source", rng.randrange(8))),
            "status": maybe(rng, rng.choice(["active", "inactive", "deprecated"])),
            "tags": maybe(
                rng,
                [
                    {"tagId": self._uuid("tag", k), "name": WORDS[k % len(WORDS)], "color": "#3366ff"}
                    for k in rng.sample(range(6), rng.randint(0, 2))
                ],
            ),
            "workspaceId": maybe(rng, self._uuid("workspace", rng.randrange(max(self.n_workspaces, 1)))),
            "configurations": {"streams": [{"name": "users", "syncMode": "incremental_append"}]},  # extra
        }

    def job(self, i: int) -> dict[str, t.Any]:
        """Job number `i`: generated, or as a control action last changed it."""
        if i in self.changed:
            return dict(self.changed[i])
        rng = self.rng("job", i)
        minutes = rng.randrange(1, 240)
        return {
            "jobId": 100_000 + i,
            "lastUpdatedAt": timestamp(rng),
            "bytesSynced": BIG_INT if i % 50 == 0 else maybe(rng, rng.randrange(10**10)),
            "connectionId": maybe(rng, self._uuid("connection", rng.randrange(max(self.n_connections, 1)))),
            "duration": maybe(rng, f"PT{minutes // 60}H{minutes % 60}M{rng.randrange(60)}S"),
            "jobType": maybe(rng, rng.choice(["sync", "reset", "refresh", "clear"])),
            "rowsSynced": maybe(rng, rng.randrange(10**7)),
            "startTime": maybe(rng, timestamp(rng)),
            "status": maybe(rng, rng.choice(JOB_STATUSES)),
            "attempts": rng.randint(1, 3),  # not in the document: goes to `extra`
        }

    def _order(self) -> tuple[int, int]:
        """(step, shift) of the list order: position p holds job (step * p + shift) mod n.

        An affine permutation shuffles the jobs without holding a list of them; it
        changes when jobs are added, as an unordered API's order may.
        """
        n = self.n_jobs
        if self._order_for[0] != n:
            rng = self.rng("order", n)
            step = rng.randrange(1, n) if n > 1 else 1
            while math.gcd(step, n) != 1:
                step += 1
            self._order_for = (n, step, rng.randrange(max(n, 1)))
        return self._order_for[1], self._order_for[2]

    def _job_at(self, position: int) -> dict[str, t.Any]:
        step, shift = self._order()
        return self.job((step * position + shift) % self.n_jobs)

    # -- requests ------------------------------------------------------------------

    def handle(self, path: str, query: Query) -> Answer:
        if path == "/v1/jobs":
            return self._jobs(query)
        if path == "/v1/connections":
            return self._cursor_page("connections", self.n_connections, self.connection, query, "null")
        if path == "/v1/workspaces":
            return self._cursor_page("workspaces", self.n_workspaces, self.workspace, query, "absent")
        return not_found(path)

    def _jobs(self, query: Query) -> Answer:
        unknown = set(query) - {"offset", "limit"}
        if unknown:
            return Answer(400, {"error": f"unknown parameters: {sorted(unknown)}"})
        try:
            offset = int(query.get("offset", "0"))
            limit = min(int(query.get("limit", str(MAX_LIMIT))), MAX_LIMIT)
        except ValueError:
            return Answer(400, {"error": "offset and limit must be integers"})
        if offset < 0 or limit < 1:
            return Answer(400, {"error": "offset must be >= 0 and limit >= 1"})
        end = min(offset + limit, self.n_jobs)
        body: dict[str, t.Any] = {"data": [self._job_at(p) for p in range(offset, end)]}
        if self.jobs_total:
            body["total"] = self.n_jobs
        return Answer(200, body)

    def _cursor_page(
        self,
        stream: str,
        total: int,
        make: t.Callable[[int], dict[str, t.Any]],
        query: Query,
        end: t.Literal["null", "absent"],
    ) -> Answer:
        unknown = set(query) - {"next"}
        if unknown:
            return Answer(400, {"error": f"unknown parameters: {sorted(unknown)}"})
        start = 0
        if "next" in query:
            decoded = self._read_token(stream, query["next"])
            if decoded is None:
                return Answer(400, {"error": "invalid next cursor"})
            start = decoded
        stop = min(start + CURSOR_PAGE, total)
        body: dict[str, t.Any] = {"data": [make(i) for i in range(start, stop)]}
        if stop < total:
            body["next"] = self._next(stream, stop)
        elif end == "null":
            body["next"] = None
        return Answer(200, body)

    def _token(self, stream: str, start: int) -> str:
        return base64.urlsafe_b64encode(f"{stream}:{start}:{self.seed}".encode()).decode().rstrip("=")

    def _read_token(self, stream: str, token: str) -> int | None:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            name, start, _ = text.split(":")
        except ValueError:
            return None
        return int(start) if name == stream and start.isdigit() else None

    def _next(self, stream: str, start: int) -> str:
        """The cursor to the page at `start`, in the chosen form (the server sets base_url)."""
        token = self._token(stream, start)
        if self.next_form == "token":
            return token
        return f"{self.base_url}/v1/{stream}?next={token}"

    # -- tests ---------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {"jobs": self.n_jobs, "connections": self.n_connections, "workspaces": self.n_workspaces}

    def control(self, action: str, args: dict[str, t.Any]) -> t.Any:
        """next_form {form}; change_jobs {count | jobIds}; add_jobs {count}; jobs."""
        if action == "next_form":
            self.next_form = self._check_form(args["form"])
            return {"next_form": self.next_form}
        if action == "change_jobs":
            return self._change_jobs(args)
        if action == "add_jobs":
            return self._add_jobs(int(args["count"]))
        if action == "jobs":
            return [self.job(i) for i in range(self.n_jobs)]
        return super().control(action, args)

    def _change_jobs(self, args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        """Bump lastUpdatedAt to now and change status and rowsSynced: the jobs a re-sync must bring."""
        self.changes += 1
        if "jobIds" in args:
            indices = [int(job_id) - 100_000 for job_id in args["jobIds"]]
            if not all(0 <= i < self.n_jobs for i in indices):
                msg = "no such job"
                raise KeyError(msg)
        else:
            indices = self.rng("change", self.changes).sample(range(self.n_jobs), int(args["count"]))
        now = _now()
        changed = []
        for i in indices:
            job = self.job(i)
            job["lastUpdatedAt"] = now
            job["status"] = "failed" if job["status"] == "succeeded" else "succeeded"
            job["rowsSynced"] = (job["rowsSynced"] or 0) + 1
            self.changed[i] = job
            changed.append(dict(job))
        return changed

    def _add_jobs(self, count: int) -> list[dict[str, t.Any]]:
        """New jobs updated now (the list order is reshuffled, as an unordered API may do)."""
        first = self.n_jobs
        self.n_jobs += count
        now = _now()
        added = []
        for i in range(first, self.n_jobs):
            job = self.job(i) | {"lastUpdatedAt": now, "status": "running"}
            self.changed[i] = job
            added.append(dict(job))
        return added

    @staticmethod
    def _check_form(form: str) -> NextForm:
        if form not in ("token", "url"):
            msg = f"next_form must be 'token' or 'url', not {form!r}"
            raise ValueError(msg)
        return t.cast("NextForm", form)
