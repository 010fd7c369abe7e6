"""Opaque `$skiptoken` / `$deltatoken` values and `$top` handling shared by every collection."""

from __future__ import annotations

import base64
import json
from typing import Any

from emulator.context import RequestContext
from emulator.errors import bad_request


def encode_token(kind: str, payload: dict[str, Any]) -> str:
    raw = json.dumps({"k": kind, **payload}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, kind: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The skip token or delta token is invalid.") from exc
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise bad_request("The skip token or delta token is invalid.")
    return payload


def page_size(ctx: RequestContext, default: int, maximum: int) -> int:
    raw = ctx.query.get("top")
    if raw is None:
        return default
    try:
        top = int(raw)
    except ValueError as exc:
        raise bad_request(f"Invalid value '{raw}' for $top.") from exc
    if not 1 <= top <= maximum:
        raise bad_request(f"Invalid page size specified: '{top}'. Must be between 1 and {maximum} inclusive.")
    return top
