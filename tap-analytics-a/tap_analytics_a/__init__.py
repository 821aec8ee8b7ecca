"""Singer tap for analytics API a."""
