"""Social-only users (only federated links, no email or username) against the emulator.

With the profile's `[identities] federated = true` they are created with their federated identity
(`signInType: federated`, issuer = the identity provider, issuerAssignedId = its subject) and without a
password — Graph's create-user page: "For a social identity, none of the properties are required"
(graph docs api-reference/v1.0/api/user-post-users.md). By default (off) they are rejected with
`federated_identity_not_enabled`, and users who also have an email are created without the link.
`plan` counts them the same way (password path `federated`).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from cli.run_cmd import execute_run
from shared.planning import plan_document, plan_export
from shared.profiles import load_profile
from tests.conftest import settings_for
from tests.spine.test_run_against_emulator import _token, assert_accounted, report_of
from tests.tenant_reads import get_page

USERS = [
    {"legacyId": "s1", "displayName": "Sam Social", "identities": [{"provider": "google.com", "subject": "g-100"}]},
    {"legacyId": "s2", "identities": [{"provider": "facebook.com", "subject": "f-200"},
                                      {"provider": "google.com", "subject": "g-200"}]},
    {"legacyId": "m1", "email": "mixed@example.com", "identities": [{"provider": "google.com", "subject": "g-300"}]},
    {"legacyId": "e1", "email": "local@example.com", "password": {"plaintext": "Str0ng!Passw0rd"}},
]  # fmt: skip
FEDERATED_ON = "[identities]\nfederated = true\n"


def _export(tmp_path: Path) -> Path:
    export = tmp_path / "users.jsonl"
    export.write_text("".join(json.dumps(u) + "\n" for u in USERS))
    return export


def _by_identity(emulator, issuer: str, subject: str) -> list[dict]:  # type: ignore[type-arg]
    query = quote(f"identities/any(c:c/issuerAssignedId eq '{subject}' and c/issuer eq '{issuer}')")
    url = f"{emulator.base_url}/v1.0/users?$filter={query}&$select=id,displayName,identities,passwordPolicies"
    return list(get_page(url, {"Authorization": "Bearer " + _token()})["value"])


async def test_social_only_users_are_created_with_their_federated_identity_when_the_profile_allows(
    start_emulator, tmp_path
) -> None:
    emulator = start_emulator(time_scale=20)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(FEDERATED_ON)
    export = _export(tmp_path)
    plan = plan_document(plan_export(export, load_profile("jsonl", mapping), tenant="contoso.onmicrosoft.com"))
    assert plan["passwords"]["paths"] == {"federated": 2, "reset": 1, "plaintext": 1}, plan["passwords"]

    run = await execute_run(export, "jsonl", settings_for(emulator, tmp_path), mapping=mapping, show_progress=False)
    report = report_of(tmp_path, run)
    assert_accounted(report)
    assert report["counts"]["created"] == 4 and report["counts"]["rejected"] == 0, report["counts"]
    (sam,) = _by_identity(emulator, "google.com", "g-100")
    assert sam["displayName"] == "Sam Social"
    signs_in = [i for i in sam["identities"] if i["signInType"] != "userPrincipalName"]  # Entra adds the UPN one
    assert signs_in == [{"signInType": "federated", "issuer": "google.com", "issuerAssignedId": "g-100"}]
    assert "passwordPolicies" not in sam or sam["passwordPolicies"] is None, "a social-only user got a password"
    (two,) = _by_identity(emulator, "facebook.com", "f-200")
    assert _by_identity(emulator, "google.com", "g-200") == [two]  # both links on one user
    (mixed,) = _by_identity(emulator, "google.com", "g-300")
    assert {i["signInType"] for i in mixed["identities"]} >= {"emailAddress", "federated"}
    assert mixed["passwordPolicies"] == "DisablePasswordExpiration"  # a local account keeps its password


async def test_by_default_social_only_users_are_rejected_and_links_are_left_out(start_emulator, tmp_path) -> None:
    emulator = start_emulator(time_scale=20)
    export = _export(tmp_path)
    plan = plan_document(plan_export(export, load_profile("jsonl", None), tenant="contoso.onmicrosoft.com"))
    assert plan["by_reason"] == {"federated_identity_not_enabled": 2} and "federated" not in plan["passwords"]["paths"]

    run = await execute_run(export, "jsonl", settings_for(emulator, tmp_path), show_progress=False)
    report = report_of(tmp_path, run)
    assert report["counts"]["created"] == 2 and report["by_reason"] == {"federated_identity_not_enabled": 2}
    assert _by_identity(emulator, "google.com", "g-100") == []
    assert _by_identity(emulator, "google.com", "g-300") == []  # created, but without the link
