"""Singer tap for analytics API d."""
