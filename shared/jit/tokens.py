"""Bearer token validation for Entra's custom-extension calls, done before the request body is read.

Checks, in order: a Bearer token; header `alg` in the allow-list (so `none` and HS* are refused before any key
is touched); a `kid` present in the authority's JWKS (OIDC metadata, cached; an unknown kid refreshes the cache
at most once per interval); the RS256 signature; `exp`/`nbf` with a small skew; `iss`; `aud`; and `azp` (v2) or
`appid` (v1) equal to the Entra authentication events service. Any failure raises TokenRejected(reason): the
reason is a short code for telemetry, never token content.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from shared.config import JitSettings
from shared.jit.segments import json_segment

MAX_TOKEN_CHARS = 16 * 1024


class TokenRejected(Exception):
    """The caller is not Entra's authentication events service for our app: answer 401, read nothing more."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MetadataUnavailable(Exception):
    """OIDC metadata or JWKS could not be fetched (transient): answer 503 so Entra's retry may succeed."""


@dataclass(frozen=True)
class CallerClaims:
    """What we keep from a valid token (no raw token)."""

    issuer: str
    audience: str
    caller_app_id: str
    tenant_id: str | None


def _check_authority(authority: str) -> str:
    parts = urlsplit(authority)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("the JIT authority must be https (http only on loopback, for tests and rehearsals)")
    return authority.rstrip("/")


class OidcKeys:
    """The authority's signing keys and issuer, from `<authority>/.well-known/openid-configuration`."""

    def __init__(
        self,
        authority: str,
        *,
        tenant_id: str | None,
        ttl_s: float,
        refresh_min_interval_s: float,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._authority = _check_authority(authority)
        self._tenant_id = tenant_id
        self._ttl_s = ttl_s
        self._refresh_min_interval_s = refresh_min_interval_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._keys: KeySet | None = None
        self._issuer: str | None = None
        self._fetched_at = float("-inf")
        self._session: aiohttp.ClientSession | None = None

    async def issuer(self) -> str:
        await self._ensure(force=False)
        assert self._issuer is not None
        return self._issuer

    async def key_for(self, kid: str) -> RSAKey | None:
        await self._ensure(force=False)
        key = self._find(kid)
        if key is None and self._clock() - self._fetched_at >= self._refresh_min_interval_s:
            await self._ensure(force=True)  # key rollover: Entra published a new key since our last fetch
            key = self._find(kid)
        return key

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _find(self, kid: str) -> RSAKey | None:
        if self._keys is None:
            return None
        for key in self._keys.keys:
            if key.kid == kid and isinstance(key, RSAKey):
                return key
        return None

    async def _ensure(self, *, force: bool) -> None:
        if not force and self._keys is not None and self._clock() - self._fetched_at < self._ttl_s:
            return
        async with self._lock:
            if not force and self._keys is not None and self._clock() - self._fetched_at < self._ttl_s:
                return
            if force and self._clock() - self._fetched_at < self._refresh_min_interval_s:
                return  # another request refreshed while we waited
            await self._fetch()

    async def _fetch(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            metadata = await self._get_json(f"{self._authority}/.well-known/openid-configuration")
            jwks_uri = metadata["jwks_uri"]
            issuer = str(metadata["issuer"])
            _check_authority(jwks_uri)
            jwks = await self._get_json(jwks_uri)
            # Only RSA signing keys; Entra's JWKS entries also carry x5c/x5t, which we don't need.
            usable = [k for k in jwks.get("keys", []) if k.get("kty") == "RSA" and k.get("use", "sig") == "sig"]
            trimmed = [{n: k[n] for n in ("kty", "n", "e", "kid") if n in k} for k in usable]
            keys = KeySet.import_key_set({"keys": trimmed})
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError, JoseError) as exc:
            if self._keys is not None:
                return  # keep serving the keys we have; the next refresh retries
            raise MetadataUnavailable(f"OIDC metadata or JWKS unavailable ({type(exc).__name__})") from exc
        self._keys = keys
        self._issuer = issuer.replace("{tenantid}", self._tenant_id) if self._tenant_id else issuer
        self._fetched_at = self._clock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.get(url) as response:
            response.raise_for_status()
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data


def _b64json(segment: str) -> dict[str, Any]:
    data = json_segment(segment)
    if data is None:
        raise TokenRejected("malformed")
    return data


class TokenValidator:
    def __init__(self, settings: JitSettings, keys: OidcKeys, *, now: Callable[[], float] = time.time) -> None:
        if not settings.AUDIENCES:
            raise ValueError("JIT.AUDIENCES must name the extension app (client id or api:// URI)")
        self._settings = settings
        self._keys = keys
        self._now = now

    async def validate(self, authorization: str | None) -> CallerClaims:
        token = self._bearer(authorization)
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("malformed")
        header = _b64json(parts[0])
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._settings.TOKEN_ALGORITHMS:
            raise TokenRejected("algorithm")  # covers alg "none" and HMAC-with-the-public-key confusion
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("unknown_kid")
        key = await self._keys.key_for(kid)
        if key is None:
            raise TokenRejected("unknown_kid")
        try:
            jws.deserialize_compact(token, key, algorithms=self._settings.TOKEN_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise TokenRejected("signature") from exc
        return await self._check_claims(_b64json(parts[1]))

    @staticmethod
    def _bearer(authorization: str | None) -> str:
        if not authorization:
            raise TokenRejected("missing")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("missing")
        return token

    async def _check_claims(self, claims: dict[str, Any]) -> CallerClaims:
        now, skew = self._now(), self._settings.CLOCK_SKEW_S
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or now > exp + skew:
            raise TokenRejected("expired")
        if nbf is not None and (not isinstance(nbf, int | float) or now < nbf - skew):
            raise TokenRejected("not_yet_valid")
        issuers = self._settings.ISSUERS or [await self._keys.issuer()]
        issuer = claims.get("iss")
        if issuer not in issuers:
            raise TokenRejected("issuer")
        audiences = claims.get("aud")
        audience_list = [audiences] if isinstance(audiences, str) else audiences if isinstance(audiences, list) else []
        matched = next((a for a in audience_list if a in self._settings.AUDIENCES), None)
        if matched is None:
            raise TokenRejected("audience")
        caller = claims.get("azp", claims.get("appid"))
        if caller != self._settings.CALLER_APP_ID:
            raise TokenRejected("caller")
        tid = claims.get("tid")
        return CallerClaims(str(issuer), str(matched), str(caller), tid if isinstance(tid, str) else None)
