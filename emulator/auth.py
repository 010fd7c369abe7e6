"""Bearer token → calling app registration id.

Without client apps configured, signatures are NOT checked: the token only says who is calling, so
several app registrations can share a tenant's quota. With client apps (EmulatorConfig.client_apps),
only tokens this emulator's token endpoint issued are accepted (`TokenSigner.verify`), so the app id
of every request is one a credential proved; others → 401.

No or malformed token → 401 InvalidAuthenticationToken; `exp` in the past → 401 as well.
"""

from __future__ import annotations

import base64
import json
import time

from emulator.errors import GraphError
from emulator.identity_platform import TokenRejected, TokenSigner

_CACHE_LIMIT = 4096


class TokenReader:
    def __init__(self, default_app_id: str, signer: TokenSigner | None = None) -> None:
        self.default_app_id = default_app_id
        self.signer = signer
        self._cache: dict[str, tuple[str, float | None]] = {}

    def app_id(self, authorization: str | None) -> str:
        if not authorization:
            raise _unauthorized("Access token is empty.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Access token is empty.")
        token = token.strip()
        cached = self._cache.get(token)
        if cached is None:
            cached = self._decode(token)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = cached
        app_id, expires = cached
        if expires is not None and expires < time.time():
            raise _unauthorized("Lifetime validation failed, the token is expired.")
        return app_id

    def _decode(self, token: str) -> tuple[str, float | None]:
        if self.signer is not None:
            try:
                claims = self.signer.verify(token)
            except TokenRejected as exc:
                raise _unauthorized(str(exc)) from exc
            app_id = claims.get("appid") or claims.get("azp")
            if not app_id:
                raise _unauthorized("The token has no appid or azp claim.")
            return str(app_id), float(claims["exp"])
        parts = token.split(".")
        if len(parts) != 3:
            raise _unauthorized("IDX14100: JWT is not well formed, there are no dots (.).")
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _unauthorized("IDX14102: Unable to decode the payload of the token.") from exc
        if not isinstance(claims, dict):
            raise _unauthorized("IDX14102: Unable to decode the payload of the token.")
        app_id = claims.get("appid") or claims.get("azp") or self.default_app_id
        exp = claims.get("exp")
        return str(app_id), float(exp) if isinstance(exp, int | float) else None


def _unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": 'Bearer realm=""'})
