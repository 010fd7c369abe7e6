"""JIT test rig fixtures: a fake Entra tenant on loopback (OIDC metadata + JWKS over aiohttp on 127.0.0.1:0),
the decryption key, a temp vault, and the real JitService wired over them (helpers live in jit_rig.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from jit_rig import AUDIENCE, EXTENSION_APP_ID, TENANT_ID, FakeTenant, Rig
from joserfc.jwk import RSAKey

from shared.bootstrap import open_jit_service, open_local_vault
from shared.config import JitSettings
from shared.jit.service import JitService
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.vault import SqliteCredentialVault


@pytest.fixture(scope="session")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "entra-sig-1", "use": "sig"})


@pytest.fixture(scope="session")
def rogue_key() -> RSAKey:
    """Same kid as the real key, different key material: a forged signature."""
    return RSAKey.generate_key(2048, parameters={"kid": "entra-sig-1"})


@pytest.fixture(scope="session")
def encryption_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "jit-enc"})


@pytest.fixture(scope="session")
def other_encryption_key() -> RSAKey:
    return RSAKey.generate_key(2048)


@pytest.fixture
async def tenant(signing_key: RSAKey, encryption_key: RSAKey) -> AsyncIterator[FakeTenant]:
    """Serves /<tid>/v2.0/.well-known/openid-configuration and the JWKS on 127.0.0.1:<free port>."""
    fake = FakeTenant(signing_key, encryption_key)

    async def metadata(request: web.Request) -> web.Response:
        fake.metadata_fetches += 1
        return web.json_response(
            {
                "issuer": fake.issuer,
                "jwks_uri": f"{fake.authority.rsplit('/v2.0', 1)[0]}/discovery/v2.0/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def keys(request: web.Request) -> web.Response:
        fake.jwks_fetches += 1
        public = signing_key.as_dict(private=False) | {"use": "sig", "x5t": "ignored", "x5c": ["ignored"]}
        return web.json_response({"keys": [public, *fake.extra_keys]})

    app = web.Application()
    app.router.add_get(f"/{TENANT_ID}/v2.0/.well-known/openid-configuration", metadata)
    app.router.add_get(f"/{TENANT_ID}/discovery/v2.0/keys", keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.authority = f"http://127.0.0.1:{port}/{TENANT_ID}/v2.0"
    fake.issuer = fake.authority
    yield fake
    await runner.cleanup()


@pytest.fixture
def decryption_key_file(tmp_path: Path, encryption_key: RSAKey) -> Path:
    path = tmp_path / "jit-enc.pem"
    private = encryption_key.private_key
    assert private is not None
    path.write_bytes(
        private.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@pytest.fixture
def jit_settings(tenant: FakeTenant, decryption_key_file: Path) -> JitSettings:
    return JitSettings(
        TENANT_ID=TENANT_ID,
        AUTHORITY=tenant.authority,
        AUDIENCES=[AUDIENCE, EXTENSION_APP_ID],
        DECRYPTION_KEY_FILE=str(decryption_key_file),
        LOCKOUT_THRESHOLD=5,
        DUMMY_BCRYPT_COST=4,
    )


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def vault(state_dir: Path) -> SqliteCredentialVault:
    return open_local_vault(str(state_dir))


RigFactory = Callable[..., Any]


@pytest.fixture
async def make_rig(
    tenant: FakeTenant, jit_settings: JitSettings, state_dir: Path, vault: SqliteCredentialVault
) -> AsyncIterator[RigFactory]:
    """Builds the real service over the loopback tenant; its verifier records every verification."""
    services: list[JitService] = []

    async def build(**overrides: Any) -> Rig:
        from shared.passwords import verify

        verifications: list[str] = []

        def counting_verify(password: str, h: PasswordHash) -> bool:
            verifications.append(h.algorithm)
            return verify(password, h)

        telemetry = TallyTelemetry()
        settings = jit_settings.model_copy(update=overrides)
        service = await open_jit_service(
            settings, state_dir=state_dir, telemetry=telemetry, vault=vault, verifier=counting_verify
        )
        services.append(service)
        return Rig(service, tenant, vault, telemetry, verifications, state_dir)

    yield build
    for service in services:
        await service.close()
