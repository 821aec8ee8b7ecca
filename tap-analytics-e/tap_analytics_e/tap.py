"""tap-analytics-e: settings and stream list."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_analytics_common import (
    AnalyticsTap,
    OAuth2Authenticator,
    common_settings,
    oauth_settings,
    page_size_setting,
)
from tap_analytics_e.streams import STREAMS, EStream


class TapAnalyticsE(AnalyticsTap):
    """API e: OAuth2 client_credentials grant, offset/limit pagination, open schemas."""

    name = "tap-analytics-e"
    config_jsonschema = th.PropertiesList(
        *oauth_settings("https://api.example.com/oauth/token", refresh_token=False),
        *common_settings("https://api.example.com"),
        page_size_setting(100),
    ).to_dict()

    def make_auth(self) -> OAuth2Authenticator:
        """The client_credentials grant: no refresh token to keep."""
        return self.oauth2("client_credentials")

    def discover_streams(self) -> list[EStream]:
        """The document's four resources."""
        return [stream(self) for stream in STREAMS]


if __name__ == "__main__":
    TapAnalyticsE.cli()
