"""REST behaviour shared by the tap-analytics taps: auth, retries, pagination, errors, base tap and stream."""

from tap_analytics_common.auth import OAuth2Authenticator, StaticBearerAuthenticator
from tap_analytics_common.client import ApiClient
from tap_analytics_common.errors import (
    ApiError,
    AuthError,
    ConfigError,
    PaginationError,
    ResponseError,
    TapError,
)
from tap_analytics_common.pagination import CursorPaginator, OffsetPaginator, PageNumberPaginator
from tap_analytics_common.paging import CursorStream, OffsetStream, PageNumberStream
from tap_analytics_common.retry import RetryPolicy
from tap_analytics_common.schemas import EXTRA_PROPERTY, DocumentSchemas
from tap_analytics_common.settings import common_settings, oauth_settings, page_size_setting
from tap_analytics_common.streams import AnalyticsStream
from tap_analytics_common.tap import AnalyticsTap
from tap_analytics_common.token_file import RefreshTokenFile

__all__ = [
    "EXTRA_PROPERTY",
    "AnalyticsStream",
    "AnalyticsTap",
    "ApiClient",
    "ApiError",
    "AuthError",
    "ConfigError",
    "CursorPaginator",
    "CursorStream",
    "DocumentSchemas",
    "OAuth2Authenticator",
    "OffsetPaginator",
    "OffsetStream",
    "PageNumberPaginator",
    "PageNumberStream",
    "PaginationError",
    "RefreshTokenFile",
    "ResponseError",
    "RetryPolicy",
    "StaticBearerAuthenticator",
    "TapError",
    "common_settings",
    "oauth_settings",
    "page_size_setting",
]
