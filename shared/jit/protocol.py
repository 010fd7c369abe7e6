"""Entra's OnPasswordSubmit wire format: the request fields we use and the four response actions.

Request and response shapes are the ones in Microsoft's JIT migration guide (entra-docs
external-id/customers/how-to-migrate-users-jit.md) and docs/limits.md. Unknown request fields are ignored
(Entra adds fields over time); the fields below are required.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REQUEST_TYPE = "microsoft.graph.authenticationEvent.passwordSubmit"
CALLOUT_DATA_TYPE = "microsoft.graph.onPasswordSubmitCalloutData"
RESPONSE_DATA_TYPE = "microsoft.graph.onPasswordSubmitResponseData"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class CalloutUser(_Wire):
    id: str = Field(min_length=1, max_length=128)


class AuthenticationContext(_Wire):
    correlation_id: str = Field(alias="correlationId", min_length=1, max_length=128)
    user: CalloutUser


class CalloutData(_Wire):
    odata_type: Literal["microsoft.graph.onPasswordSubmitCalloutData"] = Field(alias="@odata.type")
    tenant_id: str = Field(alias="tenantId")
    encrypted_password_context: str = Field(alias="encryptedPasswordContext", min_length=1)
    authentication_context: AuthenticationContext = Field(alias="authenticationContext")


class PasswordSubmitRequest(_Wire):
    type: Literal["microsoft.graph.authenticationEvent.passwordSubmit"]
    data: CalloutData


class Action(StrEnum):
    MIGRATE_PASSWORD = "MigratePassword"
    UPDATE_PASSWORD = "UpdatePassword"
    RETRY = "Retry"
    BLOCK = "Block"


def action_body(action: Action, nonce: str, *, title: str | None = None, message: str | None = None) -> bytes:
    """The 200 response body: exactly one action and the nonce from the decrypted password context."""
    item: dict[str, Any] = {"@odata.type": f"microsoft.graph.passwordSubmit.{action.value}"}
    if action is Action.BLOCK:
        if title:
            item["title"] = title
        if message:
            item["message"] = message
    body = {"data": {"@odata.type": RESPONSE_DATA_TYPE, "actions": [item], "nonce": nonce}}
    return json.dumps(body, separators=(",", ":")).encode()


# Failure bodies say nothing about why: the status code is all a caller learns.
GENERIC_FAILURE_BODY = b'{"error":"request_failed"}'
UNAUTHORIZED_BODY = b'{"error":"unauthorized"}'
