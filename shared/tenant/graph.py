"""The Graph calls `tenant plan/apply/export` make, through msgraph-sdk's request builders and models.

Bodies cross this seam as JSON objects (Graph's own shapes), turned into the SDK's models with kiota's JSON
parse node, so the diff compares what Graph returns with what we would send. The two onPasswordSubmit types
(custom extension, listener) are documented only in beta (graph docs api-reference/beta/resources/
onpasswordsubmitcustomextension.md, onpasswordsubmitlistener.md): they go through the same SDK builders on a
client whose base URL is `/beta` (`BETA_KINDS`). Errors raise TenantGraphError with status and code only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter
from msgraph.generated.applications.item.application_item_request_builder import ApplicationItemRequestBuilder
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.application import Application
from msgraph.generated.models.authentication_condition_application import AuthenticationConditionApplication
from msgraph.generated.models.authentication_event_listener import AuthenticationEventListener
from msgraph.generated.models.authentication_events_flow import AuthenticationEventsFlow
from msgraph.generated.models.authentication_method_configuration import AuthenticationMethodConfiguration
from msgraph.generated.models.custom_authentication_extension import CustomAuthenticationExtension
from msgraph.generated.models.extension_property import ExtensionProperty
from msgraph.generated.models.identity_provider_base import IdentityProviderBase
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.oidc_identity_provider import OidcIdentityProvider
from msgraph.generated.models.oidc_response_type import OidcResponseType
from msgraph.generated.models.organizational_branding import OrganizationalBranding
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.service_principals.service_principals_request_builder import ServicePrincipalsRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

BETA_KINDS = frozenset({"customAuthenticationExtensions", "authenticationEventListeners"})
MODELS: dict[str, Any] = {
    "applications": Application,
    "identityProviders": IdentityProviderBase,
    "customAuthenticationExtensions": CustomAuthenticationExtension,
    "authenticationEventListeners": AuthenticationEventListener,
    "authenticationEventsFlows": AuthenticationEventsFlow,
}


class TenantGraphError(Exception):
    """A Graph call failed: the message names the call, HTTP status and Graph error code (never a body)."""

    def __init__(self, call: str, status: int | None, code: str) -> None:
        super().__init__(f"{call} failed: HTTP {status} {code}")
        self.status = status
        self.code = code


def to_model(data: dict[str, Any], model: Any) -> Any:
    parsed = JsonParseNode(data).get_object_value(model)
    if isinstance(parsed, OidcIdentityProvider) and isinstance(data.get("responseType"), str):
        # msgraph-sdk 1.65 parses responseType as a flags collection but writes one enum value, silently
        # dropping a collection: keep the single value so it reaches Graph.
        parsed.response_type = OidcResponseType(data["responseType"])
    return parsed


def to_json(model: Parsable | None) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, OidcIdentityProvider) and isinstance(model.response_type, list) and model.response_type:
        model.response_type = model.response_type[0]  # see to_model
    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    loaded: dict[str, Any] = json.loads(writer.get_serialized_content())
    return loaded


T = TypeVar("T")


async def _call(call: str, action: Callable[[], Awaitable[T]]) -> T:
    try:
        return await action()
    except ODataError as exc:
        code = exc.error.code if exc.error and exc.error.code else "unknown"
        raise TenantGraphError(call, exc.response_status_code, code) from None


@dataclass
class TenantGraph:
    """`v1` has base URL …/v1.0, `beta` …/beta; both share one credential."""

    v1: GraphServiceClient
    beta: GraphServiceClient

    def _collection(self, kind: str) -> Any:
        client = self.beta if kind in BETA_KINDS else self.v1
        builders: dict[str, Callable[[], Any]] = {
            "applications": lambda: client.applications,
            "identityProviders": lambda: client.identity.identity_providers,
            "customAuthenticationExtensions": lambda: client.identity.custom_authentication_extensions,
            "authenticationEventListeners": lambda: client.identity.authentication_event_listeners,
            "authenticationEventsFlows": lambda: client.identity.authentication_events_flows,
        }
        return builders[kind]()

    def _item(self, kind: str, object_id: str) -> Any:
        collection = self._collection(kind)
        by = {
            "applications": "by_application_id",
            "identityProviders": "by_identity_provider_base_id",
            "customAuthenticationExtensions": "by_custom_authentication_extension_id",
            "authenticationEventListeners": "by_authentication_event_listener_id",
            "authenticationEventsFlows": "by_authentication_events_flow_id",
        }[kind]
        return getattr(collection, by)(object_id)

    async def list_objects(self, kind: str) -> list[dict[str, Any]]:
        builder = self._collection(kind)
        items: list[dict[str, Any]] = []
        page = await _call(f"GET {kind}", builder.get)
        while page is not None:
            items += [to_json(v) for v in page.value or []]
            if not page.odata_next_link:
                break
            page = await _call(f"GET {kind}", builder.with_url(page.odata_next_link).get)
        return items

    async def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        model = to_model(body, MODELS[kind])
        return to_json(await _call(f"POST {kind}", lambda: self._collection(kind).post(model)))

    async def update(self, kind: str, object_id: str, body: dict[str, Any]) -> None:
        model = to_model(body, MODELS[kind])
        await _call(f"PATCH {kind}/{object_id}", lambda: self._item(kind, object_id).patch(model))

    async def delete(self, kind: str, object_id: str) -> None:
        await _call(f"DELETE {kind}/{object_id}", self._item(kind, object_id).delete)

    # ---- applications: the certificate and extension properties ------------------------------
    async def key_credentials(self, app_object_id: str) -> list[dict[str, Any]]:
        """keyCredentials with their `key` (Graph returns it only on `$select` of one application)."""
        query = ApplicationItemRequestBuilder.ApplicationItemRequestBuilderGetQueryParameters(
            select=["id", "keyCredentials"]
        )
        app = await _call(
            f"GET applications/{app_object_id}",
            lambda: self.v1.applications.by_application_id(app_object_id).get(
                request_configuration=RequestConfiguration(query_parameters=query)
            ),
        )
        return list(to_json(app).get("keyCredentials") or [])

    async def extension_properties(self, app_object_id: str) -> list[dict[str, Any]]:
        builder = self.v1.applications.by_application_id(app_object_id).extension_properties
        page = await _call("GET extensionProperties", builder.get)
        return [to_json(p) for p in (page.value if page and page.value else [])]

    async def create_extension_property(self, app_object_id: str, body: dict[str, Any]) -> None:
        model = to_model(body, ExtensionProperty)
        builder = self.v1.applications.by_application_id(app_object_id).extension_properties
        await _call("POST extensionProperties", lambda: builder.post(model))

    async def delete_extension_property(self, app_object_id: str, property_id: str) -> None:
        builder = self.v1.applications.by_application_id(app_object_id).extension_properties
        item = builder.by_extension_property_id(property_id)
        await _call(f"DELETE extensionProperties/{property_id}", item.delete)

    # ---- service principals and admin consent (app role assignments) --------------------------
    async def service_principal(self, app_id: str) -> dict[str, Any] | None:
        """The service principal of `app_id` in this tenant (`$filter=appId eq`), or None."""
        query = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
            filter=f"appId eq '{app_id}'"
        )
        page = await _call(
            "GET servicePrincipals",
            lambda: self.v1.service_principals.get(request_configuration=RequestConfiguration(query_parameters=query)),
        )
        found = page.value if page and page.value else []
        return to_json(found[0]) if found else None

    async def create_service_principal(self, app_id: str, tags: list[str]) -> dict[str, Any]:
        model = ServicePrincipal(app_id=app_id, tags=tags)
        return to_json(await _call("POST servicePrincipals", lambda: self.v1.service_principals.post(model)))

    async def delete_service_principal(self, sp_id: str) -> None:
        item = self.v1.service_principals.by_service_principal_id(sp_id)
        await _call(f"DELETE servicePrincipals/{sp_id}", item.delete)

    async def app_role_assignments(self, sp_id: str) -> list[dict[str, Any]]:
        """The app roles granted to this service principal (its application permissions)."""
        builder = self.v1.service_principals.by_service_principal_id(sp_id).app_role_assignments
        page = await _call("GET appRoleAssignments", builder.get)
        return [to_json(a) for a in (page.value if page and page.value else [])]

    async def grant_app_role(self, resource_sp_id: str, principal_sp_id: str, app_role_id: str) -> None:
        """Admin consent to an application permission: POST /servicePrincipals/{resource}/appRoleAssignedTo."""
        model = AppRoleAssignment(
            principal_id=uuid.UUID(principal_sp_id),
            resource_id=uuid.UUID(resource_sp_id),
            app_role_id=uuid.UUID(app_role_id),
        )
        builder = self.v1.service_principals.by_service_principal_id(resource_sp_id).app_role_assigned_to
        await _call("POST appRoleAssignedTo", lambda: builder.post(model))

    # ---- the user flow's applications ---------------------------------------------------------
    def _flow_apps(self, flow_id: str) -> Any:
        item = self.v1.identity.authentication_events_flows.by_authentication_events_flow_id(flow_id)
        return item.conditions.applications.include_applications

    async def flow_app_ids(self, flow_id: str) -> list[str]:
        page = await _call("GET includeApplications", self._flow_apps(flow_id).get)
        return [a.app_id for a in (page.value if page and page.value else []) if a.app_id]

    async def add_flow_app(self, flow_id: str, app_id: str) -> None:
        model = AuthenticationConditionApplication(app_id=app_id)
        await _call("POST includeApplications", lambda: self._flow_apps(flow_id).post(model))

    async def remove_flow_app(self, flow_id: str, app_id: str) -> None:
        item = self._flow_apps(flow_id).by_authentication_condition_application_app_id(app_id)
        await _call("DELETE includeApplications", item.delete)

    # ---- branding and the authentication methods policy ---------------------------------------
    async def organization_id(self) -> str:
        page = await _call("GET organization", self.v1.organization.get)
        if not page or not page.value or not page.value[0].id:
            raise TenantGraphError("GET organization", 200, "noOrganization")
        return page.value[0].id

    async def branding(self, org_id: str) -> dict[str, Any]:
        try:
            return to_json(await _call("GET branding", self.v1.organization.by_organization_id(org_id).branding.get))
        except TenantGraphError as exc:
            if exc.status == 404:  # no default branding yet
                return {}
            raise

    async def update_branding(self, org_id: str, body: dict[str, Any]) -> None:
        model = to_model(body, OrganizationalBranding)
        branding = self.v1.organization.by_organization_id(org_id).branding
        await _call("PATCH branding", lambda: branding.patch(model))

    async def banner_logo(self, org_id: str) -> bytes:
        try:
            logo = await _call(
                "GET bannerLogo", self.v1.organization.by_organization_id(org_id).branding.banner_logo.get
            )
        except TenantGraphError as exc:
            if exc.status == 404:
                return b""
            raise
        return logo or b""

    async def put_banner_logo(self, org_id: str, image: bytes, content_type: str) -> None:
        logo = (
            self.v1.organization.by_organization_id(org_id)
            .branding.localizations.by_organizational_branding_localization_id("0")
            .banner_logo
        )
        await _call("PUT bannerLogo", lambda: logo.put(image, content_type))

    def _method(self, method: str) -> Any:
        configs = self.v1.policies.authentication_methods_policy.authentication_method_configurations
        return configs.by_authentication_method_configuration_id(method)

    async def method_configuration(self, method: str) -> dict[str, Any]:
        return to_json(await _call(f"GET authenticationMethodConfigurations/{method}", self._method(method).get))

    async def update_method_configuration(self, method: str, body: dict[str, Any]) -> None:
        model = to_model(body, AuthenticationMethodConfiguration)
        await _call(f"PATCH authenticationMethodConfigurations/{method}", lambda: self._method(method).patch(model))
