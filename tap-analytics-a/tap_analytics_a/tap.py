"""tap-analytics-a: settings and stream list."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_analytics_a.streams import STREAMS, AStream
from tap_analytics_common import AnalyticsTap, OAuth2Authenticator, common_settings, oauth_settings


class TapAnalyticsA(AnalyticsTap):
    """API a: OAuth2 refresh_token grant against a token host apart from the API host."""

    name = "tap-analytics-a"
    config_jsonschema = th.PropertiesList(
        *oauth_settings("https://accounts.example.com/oauth/v2/token", refresh_token=True),
        *common_settings("https://api.example.com"),
    ).to_dict()

    def make_auth(self) -> OAuth2Authenticator:
        """The refresh_token grant."""
        return self.oauth2("refresh_token")

    def discover_streams(self) -> list[AStream]:
        """The document's eight resources."""
        return [stream(self) for stream in STREAMS]


if __name__ == "__main__":
    TapAnalyticsA.cli()
