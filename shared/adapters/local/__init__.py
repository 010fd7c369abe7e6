"""Local mode: an embedded, durable SQLite queue and ledger, and files under the state directory."""
