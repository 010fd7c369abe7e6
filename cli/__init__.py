"""The ciam-migrate CLI: the local host (same handlers, SQLite queue) and the operator commands."""
