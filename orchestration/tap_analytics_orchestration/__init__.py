"""A Dagster code location: `dagster dev -m tap_analytics_orchestration` shows the `sync_tenants` job."""

from __future__ import annotations

import dagster as dg

from tap_analytics_orchestration.jobs import sync_tenants

defs = dg.Definitions(jobs=[sync_tenants])

__all__ = ["defs", "sync_tenants"]
