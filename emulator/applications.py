"""`/applications` reads and `/applications/{id}/extensionProperties` (graph docs
api/application-list.md, api/application-post-extensionproperty.md, api/extensionproperty-delete.md: DELETE
…/extensionProperties/{id} → 204; the values users hold are no longer served). The tenant starts with the
b2c-extensions-app; extension properties can be registered on any application it holds."""

from __future__ import annotations

from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import not_found, object_conflict
from emulator.extensions import new_extension_property
from emulator.odata_filter import parse_app_filter


def find(tenant: EmulatedTenant, key: str) -> dict[str, Any]:
    apps = tenant.state.applications
    app = apps.get(key)
    if app is None and key.startswith("(appId="):
        app_id = key[len("(appId=") :].strip(")").strip("'")
        app = next((a for a in apps.values() if a["appId"] == app_id), None)
    if app is None:
        raise not_found(key)
    return app


def list_applications(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    apps = list(tenant.state.applications.values())
    expression = ctx.query.get("filter")
    if expression:
        app_id = parse_app_filter(expression)
        apps = [a for a in apps if a["appId"].lower() == app_id.lower()]
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#applications", "value": apps})


def get_application(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    app = find(tenant, key)
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#applications/$entity", **app})


def list_extension_properties(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    app = find(tenant, key)
    props = [p.to_graph() for p in tenant.state.extension_properties.values() if p.app_object_id == app["id"]]
    context = f"{ctx.base_url}/$metadata#applications('{app['id']}')/extensionProperties"
    return Reply(200, {"@odata.context": context, "value": props})


def create_extension_property(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    app = find(tenant, key)
    prop = new_extension_property(ctx.body, app["appId"], app["id"], app["displayName"])
    if prop.name in tenant.state.extension_properties:
        raise object_conflict("name")
    tenant.state.extension_properties[prop.name] = prop
    tenant.state.dirty = True
    context = f"{ctx.base_url}/$metadata#applications('{app['id']}')/extensionProperties/$entity"
    return Reply(201, {"@odata.context": context, **prop.to_graph()})


def delete_extension_property(tenant: EmulatedTenant, key: str, property_id: str) -> Reply:
    app = find(tenant, key)
    prop = next(
        (p for p in tenant.state.extension_properties.values() if p.id == property_id and p.app_object_id == app["id"]),
        None,
    )
    if prop is None:
        raise not_found(property_id)
    del tenant.state.extension_properties[prop.name]
    for user in tenant.state.users.values():
        user.data.pop(prop.name, None)
    tenant.state.dirty = True
    return Reply(204)
