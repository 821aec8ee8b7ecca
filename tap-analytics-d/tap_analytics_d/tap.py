"""tap-analytics-d: settings and stream list."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_analytics_common import (
    AnalyticsTap,
    ConfigError,
    OAuth2Authenticator,
    common_settings,
    oauth_settings,
    page_size_setting,
)
from tap_analytics_d.streams import STREAMS, DStream, parse_timestamp


class TapAnalyticsD(AnalyticsTap):
    """API d: OAuth2 client_credentials grant; jobs incremental, the rest full table."""

    name = "tap-analytics-d"
    config_jsonschema = th.PropertiesList(
        *oauth_settings("https://api.example.com/token", refresh_token=False),
        *common_settings("https://api.example.com"),
        page_size_setting(100),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "ISO 8601 date-time: the first run syncs only jobs updated at or after it; "
                "later runs start from the bookmark."
            ),
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        start_date = self.config.get("start_date")
        if start_date:
            # The SDK does not check formats: a bad date would fail only when jobs starts.
            try:
                parse_timestamp(start_date)
            except ValueError:
                msg = f"invalid settings: start_date {start_date!r} is not an ISO 8601 date-time"
                raise ConfigError(msg) from None

    def make_auth(self) -> OAuth2Authenticator:
        """The client_credentials grant."""
        return self.oauth2("client_credentials")

    def discover_streams(self) -> list[DStream]:
        """The document's three resources."""
        return [stream(self) for stream in STREAMS]


if __name__ == "__main__":
    TapAnalyticsD.cli()
