"""`ciam-migrate run --source b2c` with the export argument a Graph URL: a live B2C tenant's users are
imported. Two emulators: one plays the legacy B2C tenant (users created through Graph), the other the
target tenant the run writes to."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from cli.main import app
from shared.adapters.graph.client import emulator_token
from tests.conftest import emulator_stats

USERS = 1003  # more than one page of 999 from the source tenant
LEGACY_TENANT = "legacy.onmicrosoft.com"


def _user(i: int) -> dict[str, object]:
    return {
        "accountEnabled": i % 10 != 0,
        "displayName": f"User {i}",
        "identities": [
            {"signInType": "emailAddress", "issuer": LEGACY_TENANT, "issuerAssignedId": f"u{i}@example.com"}
        ],
        "passwordProfile": {"password": "Xy1!aaaaaaaa", "forceChangePasswordNextSignIn": False},
        "passwordPolicies": "DisablePasswordExpiration",
    }


def _seed(base_url: str) -> None:
    """USERS users in the legacy tenant, created through Graph $batch (20 requests per call)."""
    headers = {"Authorization": f"Bearer {emulator_token().token}"}
    with httpx.Client(base_url=f"{base_url}/v1.0", headers=headers, timeout=60) as graph:
        for start in range(0, USERS, 20):
            requests = [{"id": str(i), "method": "POST", "url": "/users", "body": _user(i),
                         "headers": {"Content-Type": "application/json"}}
                        for i in range(start, min(start + 20, USERS))]  # fmt: skip
            response = graph.post("/$batch", json={"requests": requests})
            assert response.status_code == 200, response.text
            assert {r["status"] for r in response.json()["responses"]} == {201}, response.text


def _emails(base_url: str) -> set[str]:
    headers = {"Authorization": f"Bearer {emulator_token().token}"}
    found: set[str] = set()
    url: str | None = f"{base_url}/v1.0/users?$select=identities&$top=999"
    for _ in range(10):  # bounded: two pages here
        if not url:
            break
        page = httpx.get(url, headers=headers, timeout=30).json()
        found |= {
            i["issuerAssignedId"] for u in page["value"] for i in u["identities"] if i["signInType"] == "emailAddress"
        }
        url = page.get("@odata.nextLink")
    return found


def test_run_imports_the_users_of_a_live_b2c_tenant(start_emulator, tmp_path) -> None:
    legacy, target = start_emulator(tenant=LEGACY_TENANT, time_scale=20), start_emulator(time_scale=20)
    _seed(legacy.base_url)
    state = tmp_path / "state"
    result = CliRunner().invoke(
        app,
        [
            "run",
            legacy.base_url,
            "--source",
            "b2c",
            "--graph-url",
            target.base_url,
            "--state",
            str(state),
            "--time-scale",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert emulator_stats(target)["users"] == USERS
    assert emulator_stats(legacy)["users"] == USERS  # the source tenant is only read
    assert _emails(target.base_url) == {f"u{i}@example.com" for i in range(USERS)}
    assert f"{USERS} records" in result.output and "created 1003" in result.output, result.output
