"""Legacy-side emulators for the coexistence sync: Auth0, Okta and Keycloak, loopback only.

    handle = run_in_thread(Auth0Emulator(retention_days=1))   # handle.base_url, handle.emulator, handle.stop()
    handle.emulator.seed_sample(); handle.emulator.apply_all([Change("update", id=…, fields={…})])

Each keeps users and change logs in its vendor's documented shapes (docs/emulator.md, "Legacy-side emulators"),
enforces rate limits and retention, and has a control API (emulator.legacy.base) for tests and rehearsals.
"""

from __future__ import annotations

from emulator.legacy.auth0 import Auth0Emulator
from emulator.legacy.base import Change, LegacyEmulator, LegacyHandle, run_in_thread
from emulator.legacy.keycloak import KeycloakEmulator
from emulator.legacy.okta import OktaEmulator

EMULATORS: dict[str, type[LegacyEmulator]] = {
    "auth0": Auth0Emulator,
    "okta": OktaEmulator,
    "keycloak": KeycloakEmulator,
}

__all__ = [
    "EMULATORS",
    "Auth0Emulator",
    "Change",
    "KeycloakEmulator",
    "LegacyEmulator",
    "LegacyHandle",
    "OktaEmulator",
    "run_in_thread",
]
