"""Setting declarations shared by the taps: the same name and meaning in every tap that has the setting."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th


def common_settings(base_url: str) -> list[th.Property[t.Any]]:
    """Settings every tap has."""
    return [
        th.Property(
            "base_url", th.StringType, default=base_url, title="Base URL", description="API base URL."
        ),
        th.Property(
            "request_timeout",
            th.IntegerType(minimum=1),
            default=300,
            title="Request timeout",
            description="Seconds to wait for each request.",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
        th.Property(
            "max_concurrent_requests",
            th.IntegerType(minimum=1),
            default=4,
            title="Max concurrent requests",
            description="Upper bound on requests in flight at once; 1 is strictly sequential.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=3,
            title="Max retries",
            description="Retries of 429, 5xx, timeouts and dropped connections (document: 3).",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION",
            description="Send ACTIVATE_VERSION after each full-table stream so targets mark rows "
            "deleted at the source.",
        ),
        th.Property(
            "backoff_factor",
            th.IntegerType(minimum=0),
            default=2,
            title="Backoff factor",
            description="Exponential backoff factor in seconds: waits of f, 2f, 4f (document: 2).",
        ),
    ]


def oauth_settings(token_url: str, *, refresh_token: bool) -> list[th.Property[t.Any]]:
    """OAuth2 client settings; the refresh_token grant adds the token and its file."""
    props = [
        th.Property(
            "token_url",
            th.StringType,
            default=token_url,
            title="Token URL",
            description="OAuth2 token endpoint.",
        ),
        th.Property(
            "client_id", th.StringType, required=True, title="Client ID", description="OAuth2 client id."
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            title="Client secret",
            description="OAuth2 client secret.",
        ),
    ]
    if refresh_token:
        props += [
            th.Property(
                "refresh_token",
                th.StringType,
                required=True,
                secret=True,
                title="Refresh token",
                description="OAuth2 refresh token.",
            ),
            th.Property(
                "refresh_token_file",
                th.StringType,
                title="Refresh token file",
                description=(
                    "Optional file that keeps the newest refresh token when the API "
                    "rotates it (owner-only, written atomically). It wins over "
                    "refresh_token unless refresh_token changed since it was written."
                ),
            ),
        ]
    return props


def page_size_setting(documented: int = 100) -> th.Property[t.Any]:
    """`page_size`: records per page, default the document's page size."""
    return th.Property(
        "page_size",
        th.IntegerType(minimum=1),
        default=documented,
        title="Page size",
        description=f"Records per page (document: {documented}). A server may cap larger values.",
    )
