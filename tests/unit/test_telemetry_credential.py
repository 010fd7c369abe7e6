"""Application Insights with local auth off: the exporter gets `credential=` exactly when the app setting
APPLICATIONINSIGHTS_AUTHENTICATION_STRING says `Authorization=AAD` (what infra/main.bicep sets)."""

from __future__ import annotations

from typing import Any

from azure.identity import ManagedIdentityCredential

from shared.bootstrap import configure_telemetry, telemetry_credential
from shared.config import Settings

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/"


def configured(**settings: Any) -> dict[str, Any] | None:
    seen: list[dict[str, Any]] = []
    on = configure_telemetry(Settings(**settings), configure=lambda **options: seen.append(options))
    assert on == bool(seen)
    return seen[0] if seen else None


def test_aad_authentication_passes_the_managed_identity_as_credential() -> None:
    options = configured(APPLICATIONINSIGHTS_CONNECTION_STRING=CONNECTION,
                         APPLICATIONINSIGHTS_AUTHENTICATION_STRING="Authorization=AAD")  # fmt: skip
    assert options is not None and options["connection_string"] == CONNECTION
    assert isinstance(options["credential"], ManagedIdentityCredential)


def test_a_client_id_picks_that_user_assigned_identity() -> None:
    credential = telemetry_credential("ClientId=11111111-2222-3333-4444-555555555555; Authorization=aad")
    assert isinstance(credential, ManagedIdentityCredential)


def test_without_aad_no_credential_and_without_a_connection_string_no_telemetry() -> None:
    options = configured(APPLICATIONINSIGHTS_CONNECTION_STRING=CONNECTION)
    assert options is not None and "credential" not in options
    assert telemetry_credential("Authorization=Key") is None and telemetry_credential(None) is None
    assert configured(APPLICATIONINSIGHTS_CONNECTION_STRING=None) is None
    assert configured(APPLICATIONINSIGHTS_CONNECTION_STRING="") is None  # an empty app setting counts as unset
