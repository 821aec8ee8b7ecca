"""A local stand-in for the five analytics APIs (DESIGN.md, Sandbox)."""

from analytics_sandbox.server import Sandbox

__all__ = ["Sandbox"]
