"""The sandbox's APIs, by the letter of their tap."""

from __future__ import annotations

from analytics_sandbox.apis.a import ApiA
from analytics_sandbox.apis.b import ApiB
from analytics_sandbox.apis.base import SandboxApi
from analytics_sandbox.apis.c import ApiC
from analytics_sandbox.apis.d import ApiD
from analytics_sandbox.apis.e import ApiE

API_CLASSES: dict[str, type[SandboxApi]] = {cls.name: cls for cls in (ApiA, ApiB, ApiC, ApiD, ApiE)}
