"""OAuth 2.0 client-credentials tokens for legacy admin APIs (Auth0 Management API, Keycloak service accounts).

`ClientCredentialsToken.header()` returns `{"Authorization": "Bearer …"}`, fetching a token on first use and
again 60 s before it expires. The token and the client secret never appear in a log line or exception: a
failed token request says which token URL refused and with what status, nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from shared.sync.feeds.errors import FeedAuthError, FeedMisconfigured
from shared.sync.feeds.http import LegacyHttp

_EARLY_S = 60.0


class ClientCredentialsToken:
    def __init__(
        self,
        source: str,
        token_url: str,
        client_id: str | None,
        client_secret: SecretStr | None,
        *,
        form: bool,
        extra: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id or client_secret is None:
            raise FeedMisconfigured(
                f"{source}: needs a client id and secret "
                "(LEGACY_CLIENT_ID / LEGACY_CLIENT_SECRET or a credentials file)"
            )
        self.source = source
        self.token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._form = form
        self._extra = extra or {}
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires = 0.0
        self.http: LegacyHttp | None = None  # set by the feed: the token request shares its rate gate

    def forget(self) -> None:
        self._token = None

    async def header(self) -> dict[str, str]:
        if self._token is None or self._clock() >= self._expires - _EARLY_S:
            await self._fetch()
        assert self._token is not None
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    async def _fetch(self) -> None:
        assert self.http is not None
        payload: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
            **self._extra,
        }
        reply = await (
            self.http.request("POST", self.token_url, data=payload, authorize=False)
            if self._form
            else self.http.request("POST", self.token_url, json=payload, authorize=False)
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        token = body.get("access_token")
        if reply.status != 200 or not isinstance(token, str):
            raise FeedAuthError(f"{self.source}: the token endpoint refused the client credentials ({reply.status})")
        self._token = SecretStr(token)
        expires_in = body.get("expires_in")
        self._expires = self._clock() + (float(expires_in) if isinstance(expires_in, int | float) else 300.0)
