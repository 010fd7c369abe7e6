"""Adapters: the ports implemented over SQLite, local files, Azure services and Microsoft Graph."""
