"""The emulator's tenant-setup endpoints answer as Graph documents them (docs/emulator.md, emulator/tenant_setup.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulator import EmulatorHandle
from shared.adapters.graph.client import emulator_token

GOOGLE = {"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "Google",
          "identityProviderType": "Google", "clientId": "id", "clientSecret": "Google-Secret-123"}  # fmt: skip


@pytest.fixture
def graph(start_emulator: Any) -> httpx.Client:
    handle: EmulatorHandle = start_emulator()
    token = emulator_token().token
    return httpx.Client(base_url=handle.graph_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_identity_provider_secrets_read_back_masked(graph: httpx.Client) -> None:
    created = graph.post("/identity/identityProviders", json=GOOGLE)
    assert created.status_code == 201 and created.json()["id"] == "Google-OAUTH"
    listed = graph.get("/identity/identityProviders").json()["value"]
    google = next(p for p in listed if p["id"] == "Google-OAUTH")
    assert google["clientSecret"] == "****"
    assert "Google-Secret-123" not in graph.get("/identity/identityProviders/Google-OAUTH").text
    assert graph.post("/identity/identityProviders", json=GOOGLE).status_code == 409  # one per type


@pytest.mark.parametrize(
    "body",
    [
        {**GOOGLE, "clientSecret": ""},
        {**GOOGLE, "identityProviderType": "Amazon"},
        {**GOOGLE, "@odata.type": "#microsoft.graph.samlOrWsFedProvider"},
        {
            "@odata.type": "#microsoft.graph.oidcIdentityProvider",
            "displayName": "x",
            "clientId": "c",
            "issuer": "http://insecure.example",
            "wellKnownEndpoint": "https://x/.well-known/openid-configuration",
            "responseType": "code",
            "clientAuthentication": {"clientSecret": "s"},
        },
    ],
)
def test_identity_provider_validation(graph: httpx.Client, body: dict[str, Any]) -> None:
    response = graph.post("/identity/identityProviders", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"


def test_user_flow_checks_attributes_providers_and_apps(graph: httpx.Client) -> None:
    flow = {"@odata.type": "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow", "displayName": "f",
            "onInteractiveAuthFlowStart": {"isSignUpAllowed": True},
            "onAttributeCollection": {"attributes": [{"id": "email"}, {"id": "favouriteColour"}]}}  # fmt: skip
    assert graph.post("/identity/authenticationEventsFlows", json=flow).status_code == 400  # unregistered attribute
    flow["onAttributeCollection"] = {"attributes": [{"id": "email"}]}
    flow["onAuthenticationMethodLoadStart"] = {"identityProviders": [{"id": "Facebook-OAUTH"}]}
    assert graph.post("/identity/authenticationEventsFlows", json=flow).status_code == 400  # provider not configured
    flow["onAuthenticationMethodLoadStart"] = {"identityProviders": [{"id": "EmailPassword-OAUTH"}]}
    created = graph.post("/identity/authenticationEventsFlows", json=flow)
    assert created.status_code == 201
    apps = f"/identity/authenticationEventsFlows/{created.json()['id']}/conditions/applications/includeApplications"
    assert graph.post(apps, json={"appId": "00000000-0000-4000-8000-000000000000"}).status_code == 400
    assert graph.post("/identity/authenticationEventsFlows", json=flow).status_code == 400  # displayName is unique


def test_branding_strings_by_patch_logo_by_put(graph: httpx.Client) -> None:
    org = graph.get("/organization").json()["value"][0]["id"]
    assert graph.get(f"/organization/{org}/branding").status_code == 404
    assert graph.patch(f"/organization/{org}/branding", json={"usernameHintText": "x" * 65}).status_code == 400
    assert graph.patch(f"/organization/{org}/branding", json={"bannerLogo": "AAAA"}).status_code == 400
    assert graph.patch(f"/organization/{org}/branding", json={"signInPageText": "Hi"}).status_code == 204
    assert graph.get(f"/organization/{org}/branding").json()["signInPageText"] == "Hi"
    logo = f"/organization/{org}/branding/localizations/0/bannerLogo"
    assert graph.put(logo, content=b"GIF89a", headers={"Content-Type": "image/gif"}).status_code == 400
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    assert graph.put(logo, content=png, headers={"Content-Type": "image/png"}).status_code == 204
    assert graph.get(f"/organization/{org}/branding/bannerLogo").content == png


def test_authentication_method_states(graph: httpx.Client) -> None:
    path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
    assert graph.get(f"{path}/fido2").status_code == 404  # external tenants: email OTP and SMS
    wrong = {"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "enabled"}
    assert graph.patch(f"{path}/email", json=wrong).status_code == 400
    right = {"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "state": "enabled"}
    assert graph.patch(f"{path}/email", json=right).status_code == 204
    assert graph.get(f"{path}/email").json()["state"] == "enabled"


def test_app_registration_validation_and_delete(graph: httpx.Client) -> None:
    bad_role = {"displayName": "a", "appRoles": [{"id": "not-a-guid", "value": "x", "displayName": "X",
                                                   "allowedMemberTypes": ["User"]}]}  # fmt: skip
    assert graph.post("/applications", json=bad_role).status_code == 400
    assert graph.post("/applications", json={"displayName": "a", "web": {"redirectUris": ["http://a.example"]}}
                      ).status_code == 400  # fmt: skip
    app = graph.post("/applications", json={"displayName": "a", "tags": ["t"]}).json()
    assert app["tags"] == ["t"]
    assert graph.delete(f"/applications/{app['id']}").status_code == 204
    assert graph.get(f"/applications/{app['id']}").status_code == 404


def test_extension_property_delete(graph: httpx.Client) -> None:
    holder = next(a for a in graph.get("/applications").json()["value"]
                  if a["displayName"].startswith("b2c-extensions-app"))  # fmt: skip
    path = f"/applications/{holder['id']}/extensionProperties"
    made = graph.post(path, json={"name": "tier", "dataType": "String", "targetObjects": ["User"]}).json()
    assert graph.delete(f"{path}/{made['id']}").status_code == 204
    assert made["name"] not in [p["name"] for p in graph.get(path).json()["value"]]
    assert graph.delete(f"{path}/{made['id']}").status_code == 404
