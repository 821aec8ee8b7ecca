"""One HTTP client per tap run: session, auth, retries and the bound on requests in flight."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import typing as t
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from tap_analytics_common import interrupt
from tap_analytics_common.budget import RequestBudget
from tap_analytics_common.errors import ApiError, AuthError, TapError
from tap_analytics_common.origins import check_origin, origin
from tap_analytics_common.retry import RETRY_STATUSES, RetryPolicy, asked_retry_after

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

_TRANSIENT = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    ConnectionResetError,
)
_ERROR_BODY_BYTES = 4096


def describe_failure(exc: BaseException, timeout: float) -> str:
    """A failed try in words: a body that stalls mid-response is a read timeout too.

    requests reports a read that times out while the body streams in as a
    ConnectionError wrapping urllib3's ReadTimeoutError; say what it is.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connect timed out after {timeout:g}s (ConnectTimeout)"
    if isinstance(exc, requests.exceptions.Timeout) or any(
        isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in exc.args
    ):
        return f"read timed out after {timeout:g}s (ReadTimeout)"
    return f"connection failed ({type(exc).__name__})"


class RefreshingAuth(t.Protocol):
    """An authenticator that can replace an access token the API rejected."""

    def __call__(self, r: requests.PreparedRequest, /) -> requests.PreparedRequest: ...

    def refresh_rejected(self, authorization: str | None) -> None:
        """Refresh once for a request whose Authorization header got a 401."""

    def is_current(self, authorization: str | None) -> bool:
        """Whether that header carries the token in use now (no refresh replaced it since)."""


def url_path(url: str) -> str:
    """The path of a URL: error messages name it, never the query (cursors, tokens)."""
    return urlsplit(url).path or "/"


class ApiClient:
    """Sends every request of a tap run; shared by all its streams and threads.

    Retries 429/5xx/timeouts/dropped connections with backoff, honours Retry-After
    (a 429 pauses every thread, not just the one that got it), refreshes the token
    once after a 401, keeps at most `max_in_flight` requests open at once, and starts
    them no faster than the request budget allows. Once stopped, it starts none.
    """

    def __init__(
        self,
        *,
        auth: RefreshingAuth | None,
        policy: RetryPolicy,
        timeout: float,
        user_agent: str,
        max_in_flight: int = 4,
        max_requests_per_minute: int | None = None,
        sleep: Callable[[float], t.Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        allowed_origins: Iterable[str] | None = None,
    ) -> None:
        self.auth = auth
        self.allowed_origins = (
            None if allowed_origins is None else frozenset(origin(url) for url in allowed_origins)
        )
        """Where requests may go (base_url's and token_url's origins); None: anywhere."""
        self.policy = policy
        self.timeout = timeout
        self.max_in_flight = max(1, max_in_flight)
        self.stopped = threading.Event()
        self.sleep = sleep or self._wait
        self.clock = clock
        self.logger = logger or logging.getLogger("tap_analytics_common")
        self.budget = RequestBudget(per_minute=max_requests_per_minute, logger=self.logger, clock=clock)
        self._in_flight = 0
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.max_in_flight + 2)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0
        self._settings: dict[str, dict[str, t.Any]] = {}
        self._errors = threading.local()
        self._holding = threading.local()

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, t.Any] | str | None = None,
        data: Mapping[str, t.Any] | None = None,
        authenticate: bool = True,
    ) -> requests.Response:
        """Send one request, retrying as the policy says; raise a one-line TapError."""
        interrupt.check()  # after SIGTERM/SIGINT no new request starts
        if self.allowed_origins is not None:
            check_origin(url, self.allowed_origins, what)
        auth = self.auth if authenticate else None
        refreshed = False
        retry = 0
        while True:
            request = requests.Request(method, url, params=params, data=data, auth=auth)
            problem, retry_after, status, prepared = self._send(request)
            if isinstance(problem, requests.Response):
                return problem
            if status == 401 and auth is not None:
                rejected = prepared.headers.get("Authorization")
                # Fails only when the token a refresh gave is rejected: a repeat that went out
                # with a token another thread's refresh has replaced since is sent again.
                if refreshed and auth.is_current(rejected):
                    msg = (
                        f"{what}: the API rejected the access token for {method} "
                        f"{url_path(url)} even after a refresh (401); check the credentials"
                    )
                    raise AuthError(msg)
                refreshed = True
                auth.refresh_rejected(rejected)
                continue
            if status is not None and status not in RETRY_STATUSES:
                msg = f"{what}: {method} {url_path(url)} answered {problem}"
                raise ApiError(msg, status, getattr(self._errors, "body", b""))
            # The repeat was not rejected: a 401 on a later retry is a token that expired
            # since (a long retry under a short token lifetime), and gets its own refresh.
            refreshed = False
            retry += 1
            if retry > self.policy.max_retries:
                msg = (
                    f"{what}: {method} {url_path(url)} failed after "
                    f"{self.policy.max_tries} tries, last: {problem}"
                )
                raise ApiError(msg, status)
            delay = self.policy.wait(retry, retry_after)
            if status == 429:
                self._pause(delay)
            asked = asked_retry_after(retry_after)
            if asked is not None and asked > delay:
                self.logger.warning(
                    "%s: %s %s asked to wait %.0fs (Retry-After); waiting %.0fs, the cap",
                    what,
                    method,
                    url_path(url),
                    asked,
                    delay,
                )
            self.logger.warning(
                "%s: %s %s gave %s; retry %d of %d in %.1fs",
                what,
                method,
                url_path(url),
                problem,
                retry,
                self.policy.max_retries,
                delay,
            )
            self.sleep(delay)

    def _send(
        self, request: requests.Request
    ) -> tuple[requests.Response | str, str | None, int | None, requests.PreparedRequest]:
        """One try: the response when it succeeded, else (problem, Retry-After, status).

        The request is prepared (its token set) only once it may leave: a token that
        expires during a pause is not sent.
        """
        settings = self._environment_settings(request.url or "")
        try:
            with self._slot():
                self._wait_for_budget()  # checked last, so no request leaves during a pause
                prepared = self.session.prepare_request(request)  # may fetch a token, in this slot
                self._count_in_flight(+1)
                try:
                    response = self.session.send(prepared, timeout=self.timeout, **settings)
                finally:
                    others = self._count_in_flight(-1)  # not yet counted in what the API says is left
                self.budget.observe(response.headers, others)
        except _TRANSIENT as exc:
            return describe_failure(exc, self.timeout), None, None, prepared
        if response.status_code < 400:
            return response, None, None, prepared
        self._errors.body = response.content[:_ERROR_BODY_BYTES]  # for ApiError.body
        problem = f"{response.status_code} {response.reason or ''}".strip()
        return problem, response.headers.get("Retry-After"), response.status_code, prepared

    def _environment_settings(self, url: str) -> dict[str, t.Any]:
        """Proxies and CA bundle from the environment, as Session.request reads them.

        Read once per host: requests re-reads the environment on every call, which
        costs more than parsing the page.
        """
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        if key not in self._settings:
            self._settings[key] = dict(self.session.merge_environment_settings(key, {}, None, None, None))
        return self._settings[key]

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        """One of the `max_in_flight` slots; a token request made while preparing a data
        request runs in that request's slot (taking a second could wait forever)."""
        if getattr(self._holding, "slot", False):
            yield
            return
        with self._slots:
            self._holding.slot = True
            try:
                yield
            finally:
                self._holding.slot = False

    def _pause(self, seconds: float) -> None:
        with self._pause_lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _count_in_flight(self, change: int) -> int:
        """Track requests on the wire; returns how many are in flight now."""
        with self._pause_lock:
            self._in_flight += change
            return self._in_flight

    def stop(self) -> None:
        """Start no more requests, and cut short every wait (retries, pauses, budget)."""
        self.stopped.set()

    def _wait(self, seconds: float) -> None:
        """Sleep, cut short by a stop of the run or a signal (which raises Interrupted)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopped.wait(min(left, 0.1)):
                return
            interrupt.check()

    def _wait_for_budget(self) -> None:
        """Wait out a 429 pause, then for the request budget to allow a start."""
        while True:
            interrupt.check()
            if self.stopped.is_set():
                msg = "the run was stopped before this request"
                raise TapError(msg)
            with self._pause_lock:
                wait = self._paused_until - self.clock()
            if wait <= 0:
                wait = self.budget.wait_time()
                if wait <= 0:
                    return
            self.sleep(wait)
