"""A local stand-in for the five analytics APIs, as each tap's API.md describes them."""

from analytics_sandbox.server import Sandbox

__all__ = ["Sandbox"]
