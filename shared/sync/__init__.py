"""Coexistence: legacy changes flow into Entra while both directories are live (poll changes → apply change)."""
