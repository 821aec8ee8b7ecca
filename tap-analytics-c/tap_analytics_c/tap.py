"""tap-analytics-c: settings and stream list."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_analytics_c.streams import STREAMS, CStream, SpaceStream
from tap_analytics_common import AnalyticsTap, ConfigError, StaticBearerAuthenticator, common_settings


class TapAnalyticsC(AnalyticsTap):
    """API c: a static bearer token, cursor pagination, spaces named in the settings."""

    name = "tap-analytics-c"
    config_jsonschema = th.PropertiesList(
        th.Property(
            "access_token",
            th.StringType,
            required=True,
            secret=True,
            title="Access token",
            description="Static bearer token of the API.",
        ),
        th.Property(
            "space_ids",
            th.ArrayType(th.StringType),
            title="Space IDs",
            description=(
                "Spaces whose insights_traffic and content are synced (the API lists no "
                "spaces); required when either stream is selected."
            ),
        ),
        *common_settings("https://api.example.com"),
    ).to_dict()

    def make_auth(self) -> StaticBearerAuthenticator:
        """The static bearer token."""
        return StaticBearerAuthenticator(self.config["access_token"])

    def discover_streams(self) -> list[CStream]:
        """The document's five resources."""
        return [stream(self) for stream in STREAMS]

    def before_sync(self) -> None:
        """Check `space_ids` before the first request, not after the other streams ran."""
        selected = [s for s in self.streams.values() if isinstance(s, SpaceStream) and s.selected]
        if any(not s.space_ids() for s in selected):
            msg = (
                "space_ids is empty or missing: insights_traffic and content run once per "
                "space id; set space_ids or deselect both streams"
            )
            raise ConfigError(msg)


if __name__ == "__main__":
    TapAnalyticsC.cli()
