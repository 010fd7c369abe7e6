"""Fixed identifiers of the emulated tenant, shared by the server, the CLI and the tests."""

from __future__ import annotations

# Fixed, valid GUIDs so test fixtures and state files stay stable across runs.
DEFAULT_TENANT = "contoso.onmicrosoft.com"
DEFAULT_TENANT_ID = "2f8b7c1e-4d3a-4b6e-9a51-0c7d3e8f1a20"
DEFAULT_EXTENSIONS_APP_ID = "5f3c2a1b-7e4d-4c8a-9b6f-0e1d2c3b4a59"
DEFAULT_EXTENSIONS_APP_OBJECT_ID = "8a1d6e2f-3b4c-4d5e-8f70-1a2b3c4d5e6f"
# Used when a bearer token carries neither `appid` nor `azp`.
DEFAULT_CLIENT_APP_ID = "11111111-2222-4333-8444-555555555555"
EXTENSIONS_APP_DISPLAY_NAME = "b2c-extensions-app. Do not modify. Used by AADB2C for storing user data."
