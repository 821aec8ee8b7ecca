"""Singer tap for analytics API e."""
