"""Token issuing and checking: OAuth2 grants and static bearer tokens."""

from __future__ import annotations

import itertools
import threading
import time
import typing as t
from dataclasses import dataclass

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
REFRESH_TOKEN = "sandbox-refresh-token"
ACCESS_TOKEN = "sandbox-access-token"

Grant = t.Literal["refresh_token", "client_credentials", "bearer"]
_ids = itertools.count(1)


@dataclass
class AuthSettings:
    """How an API's token endpoint behaves; changeable at run time."""

    expires_in: int = 3600
    rotate_refresh_tokens: bool = False


class TokenAuthority:
    """One API's tokens. Access tokens expire; refresh tokens rotate when asked to."""

    def __init__(self, grant: Grant, settings: AuthSettings | None = None) -> None:
        self.grant = grant
        self.settings = settings or AuthSettings()
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}
        self._refresh = {REFRESH_TOKEN}
        self._bearer_live = True
        self.token_requests = 0

    def issue(self, form: dict[str, str]) -> tuple[int, dict[str, t.Any]]:
        """Answer a token request (form fields): (status, JSON body)."""
        with self._lock:
            self.token_requests += 1
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
            if form.get("grant_type") != self.grant:
                return 400, {"error": "unsupported_grant_type"}
            body: dict[str, t.Any] = {"token_type": "Bearer", "expires_in": self.settings.expires_in}
            if self.grant == "refresh_token":
                given = form.get("refresh_token", "")
                if given not in self._refresh:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": f"refresh token {given} is invalid, expired or already used",
                    }
                if self.settings.rotate_refresh_tokens:
                    self._refresh.discard(given)
                    rotated = f"rt-{next(_ids)}-{int(time.time())}"
                    self._refresh.add(rotated)
                    body["refresh_token"] = rotated
            token = f"at-{self.grant}-{next(_ids)}"
            self._access[token] = time.monotonic() + self.settings.expires_in
            body["access_token"] = token
            return 200, body

    def allows(self, authorization: str | None) -> bool:
        """Whether a data request's Authorization header carries a live token."""
        if not authorization or not authorization.startswith("Bearer "):
            return False
        token = authorization.removeprefix("Bearer ")
        if self.grant == "bearer":
            return self._bearer_live and token == ACCESS_TOKEN
        with self._lock:
            expires = self._access.get(token)
        return expires is not None and time.monotonic() < expires

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (the refresh token still does)."""
        with self._lock:
            self._access.clear()

    def revoke(self) -> None:
        """Access and refresh tokens all stop working: the user withdrew consent."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()
            self._bearer_live = False
