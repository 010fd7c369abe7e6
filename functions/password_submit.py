"""HTTP trigger for Entra's OnPasswordSubmit custom authentication extension: POST /api/password-submit.

Anonymous at the Functions level on purpose: the handler validates Entra's bearer token itself (the host's keys
would not be sent by Entra). Thin: headers + body → shared JitService → response. shared.bootstrap builds the
service once per worker from settings (JIT__* app settings, STATE_DIR). With Azure storage settings
(STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL) it reads the shared Table vault (VAULT_TABLE, KEY_VAULT_KEY_ID
or VAULT_KEK); lockout counters (JIT__LOCKOUT_TABLE), retry dedupe and outcomes (JIT__ATTEMPTS_TABLE) are Tables every
instance shares; without Azure storage they stay in <STATE_DIR>/jit.db.
"""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import jit_service
from shared.jit.service import BodyTooLarge
from shared.stages import stage

STAGE = stage("password_submit")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.route(route=STAGE.route, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def password_submit(req: func.HttpRequest) -> func.HttpResponse:
    """Entra's password submit in; exactly one action with the echoed nonce out (or a bodiless-detail failure)."""
    service = await jit_service()

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
