"""tap-analytics-b: settings and stream list."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_analytics_b.streams import STREAMS, BStream
from tap_analytics_common import (
    AnalyticsTap,
    OAuth2Authenticator,
    common_settings,
    oauth_settings,
    page_size_setting,
)


class TapAnalyticsB(AnalyticsTap):
    """API b: OAuth2 refresh_token grant (the document's `client_refresh_token`), page numbers."""

    name = "tap-analytics-b"
    config_jsonschema = th.PropertiesList(
        *oauth_settings("https://api.example.com/v2/auth/token", refresh_token=True),
        *common_settings("https://api.example.com/v2"),
        page_size_setting(100),
    ).to_dict()

    def make_auth(self) -> OAuth2Authenticator:
        """The refresh_token grant."""
        return self.oauth2("refresh_token")

    def discover_streams(self) -> list[BStream]:
        """The document's eight resources."""
        return [stream(self) for stream in STREAMS]


if __name__ == "__main__":
    TapAnalyticsB.cli()
