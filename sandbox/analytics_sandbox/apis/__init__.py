"""The sandbox's APIs, by the letter of their tap."""

from __future__ import annotations

from analytics_sandbox.apis.a import ApiA
from analytics_sandbox.apis.base import SandboxApi

API_CLASSES: dict[str, type[SandboxApi]] = {cls.name: cls for cls in (ApiA,)}
