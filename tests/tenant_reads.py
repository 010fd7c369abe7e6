"""Reading the emulated tenant back in tests, through the faults the test itself injects."""

from __future__ import annotations

import time
from typing import Any

import httpx

ATTEMPTS = 30


def get_page(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """One Graph page; a 5xx or 429 the test's fault injection answered is read again (bounded)."""
    response = httpx.get(url, headers=headers, timeout=30)
    for _ in range(ATTEMPTS):
        if response.status_code == 200:
            break
        if response.status_code != 429 and response.status_code < 500:
            break
        time.sleep(min(float(response.headers.get("Retry-After", "0") or 0), 1.0))
        response = httpx.get(url, headers=headers, timeout=30)
    assert response.status_code == 200, f"reading the tenant back: {response.status_code} {response.text[:200]}"
    page: dict[str, Any] = response.json()
    return page
