"""The emulator's own token-signing key and the OIDC metadata our JIT endpoint validates against.

GET /{tenantId}/v2.0/.well-known/openid-configuration   issuer `<base>/{tenantId}/v2.0`, jwks_uri
GET /{tenantId}/discovery/v2.0/keys                     the public RS256 key (kid, use sig)

Tokens carry what Entra's do for a custom extension call (entra-docs custom-extension-overview; docs/limits.md):
iss = the authority, aud = the extension's resourceId, azp = Entra's authentication events service, tid, ver 2.0,
a one-hour lifetime. The key is generated per emulator process; restarting rotates it (a new kid).
"""

from __future__ import annotations

import time
import uuid

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

ENTRA_EVENTS_APP_ID = "99045fe1-7639-4a75-9d4a-577b6ca3810f"


class CalloutKeys:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.kid = f"emulator-{uuid.uuid4().hex[:12]}"
        self._key = RSAKey.generate_key(2048, parameters={"kid": self.kid, "use": "sig"})

    def authority(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.tenant_id}/v2.0"

    def token(self, *, authority: str, audience: str, tenant_id: str, lifetime_s: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "iss": authority,
            "aud": audience,
            "azp": ENTRA_EVENTS_APP_ID,
            "azpacr": "1",
            "tid": tenant_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "ver": "2.0",
            "sub": ENTRA_EVENTS_APP_ID,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, ENTRA_EVENTS_APP_ID)),
        }
        return jwt.encode({"alg": "RS256", "kid": self.kid, "typ": "JWT"}, claims, self._key)

    def jwks(self) -> dict[str, object]:
        return {"keys": [self._key.as_dict(private=False) | {"use": "sig", "kid": self.kid}]}

    def add_routes(self, app: web.Application) -> None:
        async def metadata(request: web.Request) -> web.Response:
            base = f"{request.scheme}://{request.host}"
            return web.json_response(
                {
                    "issuer": self.authority(base),
                    "authorization_endpoint": f"{base}/{self.tenant_id}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/{self.tenant_id}/oauth2/v2.0/token",
                    "jwks_uri": f"{base}/{self.tenant_id}/discovery/v2.0/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "tenant_region_scope": "EU",
                }
            )

        async def keys(_: web.Request) -> web.Response:
            return web.json_response(self.jwks())

        app.router.add_get(f"/{self.tenant_id}/v2.0/.well-known/openid-configuration", metadata)
        app.router.add_get(f"/{self.tenant_id}/discovery/v2.0/keys", keys)
