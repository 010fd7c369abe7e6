"""Builds a JitService from JitSettings and a state directory, once. Local layout under <state>:

vault.db               sealed legacy hashes (SqliteCredentialVault), written by the import stage
keys/kek.key           the vault's key-encryption key (LocalKeyWrapper), created 0600 on first use
keys/jit-attempt.key   keys the Entra-retry fingerprint, unless JIT.ATTEMPT_KEY is set
jit.db                 lockout counters, retry dedupe, outcomes
"""

from __future__ import annotations

import base64
from pathlib import Path

from shared.jit.decision import JitVault, LegacyPasswordCheck, PasswordDecider, Verifier
from shared.jit.password_context import PasswordContextDecryptor, load_decryption_key
from shared.jit.service import JitService
from shared.jit.settings import JitSettings
from shared.jit.state import JitStateStore
from shared.jit.tokens import OidcKeys, TokenValidator
from shared.passwords import verify
from shared.ports import Telemetry
from shared.sealing import Sealer
from shared.vault import open_local_vault


def _decryption_key_material(settings: JitSettings) -> bytes:
    if settings.DECRYPTION_KEY is not None:
        return settings.DECRYPTION_KEY.get_secret_value().encode("ascii")
    if settings.DECRYPTION_KEY_FILE:
        return Path(settings.DECRYPTION_KEY_FILE).read_bytes()
    raise ValueError("set JIT.DECRYPTION_KEY (PEM or base64 PKCS#12) or JIT.DECRYPTION_KEY_FILE")


def _attempt_key(settings: JitSettings, state_dir: Path) -> bytes:
    if settings.ATTEMPT_KEY is not None:
        return base64.b64decode(settings.ATTEMPT_KEY.get_secret_value())
    path = state_dir / "keys" / "jit-attempt.key"
    Sealer.from_key_file(path)  # creates a random 32-byte key file (0600) on first use
    return base64.b64decode(path.read_text(encoding="ascii").strip())


async def open_jit_service(
    settings: JitSettings,
    *,
    state_dir: Path,
    telemetry: Telemetry,
    vault: JitVault | None = None,
    live_check: LegacyPasswordCheck | None = None,
    verifier: Verifier = verify,
) -> JitService:
    """Everything wired; the OIDC metadata is fetched lazily (and cached) by the first request or `warm`."""
    if not settings.AUTHORITY:
        raise ValueError("set JIT.AUTHORITY, e.g. https://<domain>.ciamlogin.com/<tenantId>/v2.0")
    keys = OidcKeys(
        settings.AUTHORITY,
        tenant_id=settings.TENANT_ID,
        ttl_s=settings.JWKS_CACHE_TTL_S,
        refresh_min_interval_s=settings.JWKS_REFRESH_MIN_INTERVAL_S,
        timeout_s=settings.METADATA_TIMEOUT_S,
    )
    state = JitStateStore(state_dir / "jit.db")
    decider = PasswordDecider(
        settings,
        vault or open_local_vault(str(state_dir)),
        state,
        telemetry,
        attempt_key=_attempt_key(settings, state_dir),
        verifier=verifier,
        live_check=live_check,
    )
    await decider.warm()
    decryptor = PasswordContextDecryptor(load_decryption_key(_decryption_key_material(settings)), settings)
    return JitService(settings, TokenValidator(settings, keys), decryptor, decider, state, telemetry, keys=keys)
