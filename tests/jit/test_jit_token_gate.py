"""R17-R18: only Entra's authentication events service, with a valid token for our app, gets past the gate —
and a rejected call never reads the body (checked both at the service seam and over a real socket)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import pytest
from aiohttp import web
from jit_rig import AUDIENCE, EXTENSION_APP_ID, FakeTenant, Rig, b64url, bcrypt_hash, credential
from joserfc.jwk import RSAKey

from shared.jit.protocol import GENERIC_FAILURE_BODY, UNAUTHORIZED_BODY
from shared.jit.server import build_app


def hs256_with_public_key(tenant: FakeTenant, claims: str) -> str:
    """Algorithm confusion: an HMAC 'signed' with the published RSA public key as the secret."""
    header = b64url(b'{"alg":"HS256","kid":"entra-sig-1","typ":"JWT"}')
    secret = tenant.signing_key.as_pem(private=False)
    signature = hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(signature)}"


def forged_tokens(tenant: FakeTenant, rogue_key: RSAKey) -> dict[str, str | None]:
    now = int(time.time())
    none_header = b64url(b'{"alg":"none","kid":"entra-sig-1","typ":"JWT"}')
    azp = "99045fe1-7639-4a75-9d4a-577b6ca3810f"
    claims = b64url(json.dumps({"aud": AUDIENCE, "iss": tenant.issuer, "exp": now + 3600, "azp": azp}).encode())
    return {
        "no token": None,
        "basic scheme": "Basic dXNlcjpwYXNz",
        "empty bearer": "Bearer ",
        "garbage": "Bearer not-a-jwt",
        "expired": "Bearer " + tenant.token(exp=now - 3600, nbf=now - 7200, iat=now - 7200),
        "not yet valid": "Bearer " + tenant.token(nbf=now + 3600),
        "no exp": "Bearer " + tenant.token(exp=None),
        "bad signature": "Bearer " + tenant.token(key=rogue_key),
        "alg none": f"Bearer {none_header}.{claims}.",
        "hs256 with public key": "Bearer " + hs256_with_public_key(tenant, claims),
        "unknown kid": "Bearer " + tenant.token(header={"alg": "RS256", "kid": "rotated-away"}),
        "no kid": "Bearer " + tenant.token(header={"alg": "RS256"}),
        "wrong iss": "Bearer " + tenant.token(iss="https://evil.ciamlogin.com/x/v2.0"),
        "wrong aud": "Bearer " + tenant.token(aud="api://someone-else"),
        "wrong azp": "Bearer " + tenant.token(azp="00000000-1111-2222-3333-444444444444"),
        "no azp or appid": "Bearer " + tenant.token(azp=None),
        "v1 wrong appid": "Bearer " + tenant.token(azp=None, appid="00000000-1111-2222-3333-444444444444"),
    }


@pytest.fixture(scope="session")
def rogue(rogue_key: RSAKey) -> RSAKey:
    return rogue_key


async def test_every_forged_or_misaddressed_token_gets_401_without_the_body_being_read(
    make_rig: Any, tenant: FakeTenant, rogue: RSAKey
) -> None:
    rig: Rig = await make_rig()
    for name, authorization in forged_tokens(tenant, rogue).items():
        read = False

        async def read_body(limit: int) -> bytes:
            nonlocal read
            read = True
            raise AssertionError("body read before the token was accepted")

        answer = await rig.service.handle(authorization, 100, read_body)
        assert (name, answer.status, answer.body, read) == (name, 401, UNAUTHORIZED_BODY, False)
    assert rig.verifications == []


async def test_valid_v2_and_v1_tokens_and_the_client_id_audience_are_accepted(
    make_rig: Any, tenant: FakeTenant
) -> None:
    rig: Rig = await make_rig()
    await rig.vault.store(credential("oid-1", bcrypt_hash("Right-Passw0rd")))
    for token in (
        tenant.token(),
        tenant.token(azp=None, appid="99045fe1-7639-4a75-9d4a-577b6ca3810f", ver="1.0"),
        tenant.token(aud=EXTENSION_APP_ID),
        tenant.token(aud=[AUDIENCE, "other"]),
    ):
        status, body = await rig.call(tenant.body("oid-1", "wrong"), token=token)
        assert status == 200 and isinstance(body, dict)
        assert body["data"]["actions"][0]["@odata.type"] == "microsoft.graph.passwordSubmit.Retry"


async def test_unknown_kid_refreshes_the_jwks_once_then_stays_cached(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig(JWKS_REFRESH_MIN_INTERVAL_S=3600)
    await rig.call(tenant.body("oid-x", "pw"))
    fetches = tenant.jwks_fetches
    for _ in range(20):
        status, _ = await rig.call(
            tenant.body("oid-x", "pw"), token=tenant.token(header={"alg": "RS256", "kid": "new"})
        )
        assert status == 401
    assert tenant.jwks_fetches <= fetches + 1  # a flood of unknown kids cannot make us hammer the authority


async def test_key_rollover_is_picked_up(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig(JWKS_REFRESH_MIN_INTERVAL_S=0)
    await rig.call(tenant.body("oid-x", "pw"))
    new_key = RSAKey.generate_key(2048, parameters={"kid": "entra-sig-2"})
    tenant.extra_keys.append(new_key.as_dict(private=False))
    status, _ = await rig.call(
        tenant.body("oid-x", "pw"), token=tenant.token(key=new_key, header={"alg": "RS256", "kid": "entra-sig-2"})
    )
    assert status == 200


async def _raw_post_without_body(port: int, authorization: str | None, timeout: float) -> bytes:
    """Send headers announcing a body, then never send it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        "POST /api/password-submit HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Content-Length: 4000",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), timeout)
    except TimeoutError:
        return b""
    finally:
        writer.close()


async def test_over_a_socket_a_bad_token_is_answered_while_the_body_is_still_missing(
    make_rig: Any, tenant: FakeTenant, rogue: RSAKey
) -> None:
    rig: Rig = await make_rig()
    runner = web.AppRunner(build_app(rig.service, max_body_bytes=64 * 1024))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        for authorization in (None, "Bearer " + tenant.token(key=rogue), "Bearer " + tenant.token(aud="api://x")):
            response = await _raw_post_without_body(port, authorization, timeout=2.0)
            assert response.startswith(b"HTTP/1.1 401"), response[:40]
        # Control: with a valid token the server does wait for the body, so the 401s above came before any read.
        assert await _raw_post_without_body(port, "Bearer " + tenant.token(), timeout=0.5) == b""
    finally:
        await runner.cleanup()


async def test_a_bearer_token_over_8_kb_gets_the_constant_body_and_nothing_is_logged(
    make_rig: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp refuses headers over 8 KB itself; its own 400 echoed the token's first bytes and logged a traceback."""
    from shared.jit.server import JitRunner

    rig: Rig = await make_rig()
    runner = JitRunner(build_app(rig.service, max_body_bytes=64 * 1024))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    canary = "CANARYTOKEN" + "x" * 9000
    caplog.set_level(logging.DEBUG)
    try:
        response = await _raw_post_without_body(port, f"Bearer {canary}", timeout=5.0)
    finally:
        await runner.cleanup()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request"), response[:60]
    assert body == GENERIC_FAILURE_BODY
    assert b"CANARY" not in response
    assert "CANARY" not in caplog.text and "Traceback" not in caplog.text
