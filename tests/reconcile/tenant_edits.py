"""Changing the emulated tenant behind the tool's back, through Graph calls, as an administrator would."""

from __future__ import annotations

from typing import Any

import httpx

from shared.adapters.graph.client import emulator_token
from tests.tenant_reads import get_page


def headers() -> dict[str, str]:
    return {"Authorization": "Bearer " + emulator_token().token, "Content-Type": "application/json"}


def list_users(base_url: str, select: str) -> list[dict[str, Any]]:
    url: str | None = f"{base_url}/v1.0/users?$select={select}&$top=999"
    found: list[dict[str, Any]] = []
    while url:
        page = get_page(url, headers())
        found.extend(page["value"])
        url = page.get("@odata.nextLink")
    return found


def patch_user(base_url: str, object_id: str, body: dict[str, Any]) -> None:
    response = httpx.patch(f"{base_url}/v1.0/users/{object_id}", json=body, headers=headers(), timeout=30)
    assert response.status_code == 204, response.text


def delete_user(base_url: str, object_id: str) -> None:
    response = httpx.delete(f"{base_url}/v1.0/users/{object_id}", headers=headers(), timeout=30)
    assert response.status_code == 204, response.text


def create_foreign_user(base_url: str, tenant: str, email: str) -> str:
    body = {
        "accountEnabled": True, "displayName": f"Foreign {email}", "mail": email,
        "identities": [{"signInType": "emailAddress", "issuer": tenant, "issuerAssignedId": email}],
        "passwordProfile": {"password": "Foreign-Passw0rd!", "forceChangePasswordNextSignIn": False},
        "passwordPolicies": "DisablePasswordExpiration",
    }  # fmt: skip
    response = httpx.post(f"{base_url}/v1.0/users", json=body, headers=headers(), timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
