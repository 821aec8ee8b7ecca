"""Singer tap for analytics API b."""
