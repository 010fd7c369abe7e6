"""The live `b2c` reader against the tenant emulator: users created through Graph come back as records,
across pages, with their sign-in names and extension attributes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from emulator import DEFAULT_EXTENSIONS_APP_ID, EmulatorConfig, run_in_thread
from shared.adapters.graph.client import EmulatorCredential
from shared.profiles import load_profile
from shared.sources import SourceRecord, get_reader
from shared.sources.b2c import graph_url_of


def _token() -> str:
    return asyncio.run(EmulatorCredential().get_token("x")).token


def test_live_read_pages_through_the_tenant() -> None:
    handle = run_in_thread(EmulatorConfig(port=0))
    try:
        headers = {"Authorization": f"Bearer {_token()}"}
        extension = f"extension_{DEFAULT_EXTENSIONS_APP_ID.replace('-', '')}_loyaltyTier"
        with httpx.Client(base_url=f"{handle.base_url}/v1.0", headers=headers, timeout=30) as graph:
            made = graph.post(
                f"/applications(appId='{DEFAULT_EXTENSIONS_APP_ID}')/extensionProperties",
                json={"name": "loyaltyTier", "dataType": "String", "targetObjects": ["User"]},
            )
            assert made.status_code == 201, made.text
            for i in range(1005):  # more than one page of 999
                body = {
                    "accountEnabled": i % 10 != 0,
                    "displayName": f"User {i}",
                    "identities": [
                        {
                            "signInType": "emailAddress",
                            "issuer": "contoso.onmicrosoft.com",
                            "issuerAssignedId": f"u{i}@example.com",
                        }
                    ],
                    "passwordProfile": {"password": "Xy1!aaaaaaaa", "forceChangePasswordNextSignIn": False},
                    "passwordPolicies": "DisablePasswordExpiration",
                }
                if i == 1:
                    body[extension] = "gold"
                assert graph.post("/users", json=body).status_code == 201
        options = load_profile("b2c").source_options(graph_extensions=(extension,))
        items = list(get_reader("b2c")(Path(handle.base_url), options))  # pathlib folds '//': the reader copes
        records = [i for i in items if isinstance(i, SourceRecord)]
        assert len(records) == len(items) == 1005
        emails = {r.user.email for r in records}
        assert emails == {f"u{i}@example.com" for i in range(1005)}
        assert sum(r.user.disabled for r in records) == 101
        assert [r.user.attributes for r in records if r.user.attributes] == [{"loyaltyTier": "gold"}]
    finally:
        handle.stop()


def test_graph_url_detection() -> None:
    assert graph_url_of(Path("https://graph.microsoft.com")) == "https://graph.microsoft.com"
    assert graph_url_of(Path("http://127.0.0.1:8080")) == "http://127.0.0.1:8080"
    assert graph_url_of(Path("samples/b2c/users.json")) is None
