"""OAuth2 for the suite: one authenticator per tap run, shared by every stream and thread."""

from __future__ import annotations

import threading
import time
import typing as t

from singer_sdk.authenticators import OAuthAuthenticator

from tap_analytics_common.errors import ApiError, AuthError, ResponseError, TapError
from tap_analytics_common.token_errors import rejection_message

if t.TYPE_CHECKING:
    import requests

    from tap_analytics_common.client import ApiClient
    from tap_analytics_common.token_file import RefreshTokenFile

GrantType = t.Literal["refresh_token", "client_credentials"]


class OAuth2Authenticator(OAuthAuthenticator):
    """refresh_token and client_credentials grants, fixed where singer-sdk 0.54 falls short.

    The SDK's authenticator posts without our retries, refreshes only once the token
    has expired, drops a rotated refresh_token and cannot recover from a 401.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        grant_type: GrantType,
        refresh_token: str | None = None,
        token_file: RefreshTokenFile | None = None,
        early_refresh_seconds: float = 60.0,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        super().__init__(auth_endpoint=token_url, client_id=client_id, client_secret=client_secret)
        self.grant_type = grant_type
        self.token_file = token_file
        self._configured_refresh_token = refresh_token
        self.refresh_token = token_file.load(refresh_token) if token_file else refresh_token
        self.early_refresh_seconds = early_refresh_seconds
        self.clock = clock
        self.client: ApiClient | None = None
        self.token_requests = 0
        self._expires_at: float | None = None
        self._lock = threading.Lock()
        self._rejected: TapError | None = None

    @property
    def oauth_request_body(self) -> dict[str, t.Any]:
        """Form fields of the token request (RFC 6749: client credentials in the body)."""
        body = {
            "grant_type": self.grant_type,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if self.grant_type == "refresh_token":
            body["refresh_token"] = self.refresh_token
        return body

    def is_token_valid(self) -> bool:
        """Valid until shortly before expiry, so no request goes out with a dying token."""
        if self.access_token is None:
            return False
        if self._expires_at is None:
            return True
        return self.clock() < self._expires_at

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the bearer header, fetching a token first when there is none or it is due."""
        with self._lock:
            if self._rejected:
                raise self._rejected
            if not self.is_token_valid():
                self._fetch_token()
            token = self.access_token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def refresh_rejected(self, authorization: str | None) -> None:
        """After a 401: refresh unless another thread already replaced that token."""
        with self._lock:
            if self._rejected:
                raise self._rejected
            if authorization == f"Bearer {self.access_token}":
                self._fetch_token()

    def is_current(self, authorization: str | None) -> bool:
        """Whether `authorization` carries the access token in use now."""
        with self._lock:
            return authorization == f"Bearer {self.access_token}"

    def update_access_token(self) -> None:
        """Fetch a new access token now (the SDK's entry point)."""
        with self._lock:
            self._fetch_token()

    def _fetch_token(self) -> None:
        if self.token_file is None or self.grant_type != "refresh_token":
            self._request_token()
            return
        with self.token_file.locked():
            # Another run may have spent our refresh token while we waited: take its successor.
            newest = self.token_file.load(self._configured_refresh_token)
            if newest:
                self.refresh_token = newest
            self._request_token()

    def _request_token(self) -> None:
        if self.client is None:
            msg = "OAuth2Authenticator needs its ApiClient before the first request"
            raise RuntimeError(msg)
        started = self.clock()
        self.token_requests += 1
        try:
            response = self.client.request(
                "POST",
                self.auth_endpoint,
                what="token endpoint",
                data=self.oauth_request_body,
                authenticate=False,
            )
        except ApiError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                msg = rejection_message(
                    exc,
                    grant_type=self.grant_type,
                    token_source=self._token_source(),
                    secrets=[self.client_secret or "", self.refresh_token or ""],
                )
                # Other threads must not ask again: repeated bad logins can lock an account.
                self._rejected = AuthError(msg)
                raise self._rejected from None
            raise
        try:
            body = response.json()
            self.access_token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            msg = "token endpoint: the response carries no access_token"
            # Asking again gets the same answer: one token request, not one per thread.
            self._rejected = ResponseError(msg)
            raise self._rejected from None
        expires_in = body.get("expires_in")
        self.expires_in = int(expires_in) if expires_in else None
        self._expires_at = (
            started + max(self.expires_in - self.early_refresh_seconds, self.expires_in / 2)
            if self.expires_in
            else None
        )
        rotated = body.get("refresh_token")
        if rotated and rotated != self.refresh_token:
            self.refresh_token = str(rotated)
            if self.token_file:
                self.token_file.save(self.refresh_token, self._configured_refresh_token)

    def _token_source(self) -> str | None:
        """Where the refresh token in use came from, for the message when it is rejected."""
        if self.grant_type != "refresh_token":
            return None
        if self.token_file and self.refresh_token != self._configured_refresh_token:
            return f"refresh_token_file {self.token_file.path}"
        return "the refresh_token setting"


class StaticBearerAuthenticator:
    """A fixed bearer token: nothing to refresh, so a 401 fails at once."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the Authorization header."""
        request.headers["Authorization"] = self._header
        return request

    def is_current(self, authorization: str | None) -> bool:
        """Always: the token never changes."""
        return authorization == self._header

    def refresh_rejected(self, authorization: str | None) -> None:
        """A static token cannot be refreshed: the API rejected access_token."""
        msg = "the API rejected access_token (401): check the token"
        raise AuthError(msg)
