"""Singer tap for analytics API c."""
