"""HTTP trigger for Entra's OnPasswordSubmit custom authentication extension: POST /api/password-submit.

Anonymous at the Functions level on purpose: the handler validates Entra's bearer token itself (the host's keys
would not be sent by Entra). Thin: headers + body → shared JitService → response. The service is built once per
worker from settings (JIT__* app settings, STATE_DIR) and reused across invocations. With Azure storage settings
(STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL) it reads the shared Table vault (VAULT_TABLE, KEY_VAULT_KEY_ID
or VAULT_KEK); lockout counters, retry dedupe and outcomes stay in <STATE_DIR>/jit.db, per instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import azure.functions as func

from shared.config import Settings
from shared.jit.bootstrap import open_jit_service
from shared.jit.service import BodyTooLarge, JitService
from shared.stages import stage
from shared.telemetry import TallyTelemetry
from shared.vault import TableCredentialVault, open_azure_vault

STAGE = stage("password_submit")
bp = func.Blueprint()

ServiceFactory = Callable[[], Awaitable[JitService]]

_service: JitService | None = None
_lock = asyncio.Lock()


def _shared_vault(settings: Settings) -> TableCredentialVault | None:
    """With Azure storage configured, the Table vault the import stage writes (every instance sees the same
    hashes); without it (a local host), None: open_jit_service then uses <STATE_DIR>/vault.db."""
    if not (settings.STORAGE_CONNECTION_STRING or settings.TABLES_ACCOUNT_URL):
        return None
    vault = open_azure_vault(settings)
    if vault is None:
        raise ValueError("set KEY_VAULT_KEY_ID (or VAULT_KEK) so the password-submit endpoint can open the vault")
    return vault


async def _from_settings() -> JitService:
    settings = Settings()
    service = await open_jit_service(
        settings.JIT, state_dir=Path(settings.STATE_DIR), telemetry=TallyTelemetry(), vault=_shared_vault(settings)
    )
    await service.warm()
    return service


_factory: ServiceFactory = _from_settings


def configure(factory: ServiceFactory) -> None:
    """Let the composition root (or a test) decide how the service is built: ports, telemetry, vault."""
    global _factory, _service
    _factory, _service = factory, None


async def get_service() -> JitService:
    global _service
    if _service is None:
        async with _lock:
            if _service is None:
                _service = await _factory()
    return _service


@bp.function_name(STAGE.name)
@bp.route(route=STAGE.route, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def password_submit(req: func.HttpRequest) -> func.HttpResponse:
    """Entra's password submit in; exactly one action with the echoed nonce out (or a bodiless-detail failure)."""
    service = await get_service()

    async def read_body(limit: int) -> bytes:
        body = req.get_body()  # the host has buffered it; we only look after the token was accepted
        if len(body) > limit:
            raise BodyTooLarge()
        return body

    length = req.headers.get("Content-Length")
    answer = await service.handle(
        req.headers.get("Authorization"), int(length) if length and length.isdigit() else None, read_body
    )
    return func.HttpResponse(body=answer.body, status_code=answer.status, headers=answer.headers)
