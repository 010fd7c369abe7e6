"""Decoding one base64url JOSE segment (a header or an unsigned payload) into a JSON object."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def json_segment(segment: str) -> dict[str, Any] | None:
    """The segment as a JSON object, or None when it is not one (callers raise their own generic error)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        return None
    return data if isinstance(data, dict) else None
