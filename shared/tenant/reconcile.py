"""Plan and apply tenant.toml against a tenant: one walk, in dependency order, writing only when `apply`.

In: a TenantFile, a TenantGraph, the file's folder. Out: one Change per object (create / update / unchanged /
delete) and, for [jit], what the endpoint needs (flag, audience, extension and listener ids). Idempotent: an
object is matched by our tag or marker (apps: tags; custom extension and user flow: description), compared on
the fields we declare, and written only when they differ, so a second apply sends no write. Nothing is deleted
unless `prune`, and prune only deletes objects carrying our tag/marker, or — identity providers and extension
properties, which cannot carry one — named in our tenant record (ownership.py). Secrets are resolved only for a
create and never compared.
Every app registered gets its service principal, and the JIT extension app admin consent (consent.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.tenant import desired as d
from shared.tenant.consent import PLANNED, ServicePrincipals
from shared.tenant.graph import MODELS, TenantGraph, to_json, to_model
from shared.tenant.model import TenantFile
from shared.tenant.ownership import Ownership
from shared.tenant.secrets import SecretResolver

Action = Literal["create", "update", "unchanged", "delete"]


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: Action
    fields: tuple[str, ...] = ()  # names of the fields that differ, never their values
    beta: bool = False


@dataclass
class JitWiring:
    flag_attribute: str
    extension_app_id: str
    audience: str
    extension_id: str
    listener_id: str


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    jit: JitWiring | None = None
    app_ids: dict[str, str] = field(default_factory=dict)  # app key → appId

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]


def covers(actual: Any, wanted: Any) -> bool:
    """Does Graph's `actual` already say everything `wanted` says? Extra fields Graph adds don't count."""
    if wanted in (None, [], {}) and actual in (None, [], {}):
        return True
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            covers(actual.get(k), v) for k, v in wanted.items() if not (k == "@odata.type" and k not in actual)
        )
    if isinstance(wanted, list):
        return isinstance(actual, list) and len(actual) == len(wanted) and all(map(covers, actual, wanted))
    return bool(actual == wanted)


def normalised(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` as the SDK would send it (enum casing, @odata.type), so it compares with what Graph returns."""
    return to_json(to_model(body, MODELS[kind]))


def differing(actual: dict[str, Any], wanted: dict[str, Any], ignore: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(k for k in wanted if k not in ignore and k != "@odata.type" and not covers(actual.get(k), wanted[k]))


class Reconciler(ServicePrincipals, Ownership):
    def __init__(
        self,
        graph: TenantGraph,
        tenant: TenantFile,
        base: Path,
        *,
        apply: bool,
        prune: bool,
        secrets: SecretResolver | None = None,
    ) -> None:
        self.graph = graph
        self.tenant = tenant
        self.base = base
        self.apply = apply
        self.prune = prune
        self.secrets = secrets or SecretResolver({})
        self.out = Outcome()
        self._holder_id = ""
        self._wanted_properties: set[str] = set()

    def _note(self, kind: str, name: str, action: Action, fields: tuple[str, ...] = ()) -> None:
        beta = kind in ("custom authentication extension", "authentication event listener")
        self.out.changes.append(Change(kind, name, action, fields, beta))

    async def run(self) -> Outcome:
        apps = await self.graph.list_objects("applications")
        managed = {k: a for a in apps if (k := d.managed_key(a)) is not None}
        self._load_record(managed)
        try:
            await self._walk(apps, managed)
        except BaseException:
            await self._save_record(failing=True)  # what was created stays known as ours
            raise
        await self._save_record()
        return self.out

    async def _walk(self, apps: list[dict[str, Any]], managed: dict[str, dict[str, Any]]) -> None:
        full_names = await self._extension_properties(apps)
        for app in self.tenant.apps:
            found = await self._object("applications", "application", app.key, managed.get(app.key), d.app_body(app))
            self.out.app_ids[app.key] = found.get("appId", PLANNED)
            await self._service_principal(app.key, found)  # app roles are assigned through it (docs/groups.md)
        extension_id = await self._jit(managed.get(d.JIT_APP_KEY), full_names)
        idp_ids = await self._identity_providers()
        await self._user_flow(full_names, idp_ids)
        await self._branding()
        await self._mfa()
        if self.prune:
            await self._prune(managed, extension_id)

    async def _object(
        self,
        kind: str,
        label: str,
        name: str,
        actual: dict[str, Any] | None,
        body: dict[str, Any],
        ignore: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Create `body` when there is no `actual`, else patch the fields that differ. Returns the object."""
        if actual is None:
            self._note(label, name, "create")
            if not self.apply:
                return {"id": PLANNED}
            return await self.graph.create(kind, await self._with_secrets(body))
        changed = differing(actual, normalised(kind, body), ignore)
        self._note(label, name, "update" if changed else "unchanged", changed)
        if changed and self.apply:
            patch = {k: body[k] for k in changed}
            if "@odata.type" in body:
                patch["@odata.type"] = body["@odata.type"]
            await self.graph.update(kind, actual["id"], patch)
        return actual

    async def _with_secrets(self, body: dict[str, Any]) -> dict[str, Any]:
        resolved = dict(body)
        for key in d.SECRET_FIELDS:
            value = resolved.get(key)
            if isinstance(value, str):
                resolved[key] = await self.secrets.resolve(value)
            elif isinstance(value, dict) and isinstance(value.get("clientSecret"), str):
                resolved[key] = {**value, "clientSecret": await self.secrets.resolve(value["clientSecret"])}
        return resolved

    # ---- extension properties (pruned only when ours: ownership.py) ---------------------------
    async def _extension_properties(self, apps: list[dict[str, Any]]) -> dict[str, str]:
        holder = next((a for a in apps if str(a.get("displayName", "")).startswith("b2c-extensions-app")), None)
        if holder is None:
            from shared.tenant.model import TenantFileError

            raise TenantFileError("the tenant has no b2c-extensions-app to hold extension properties")
        wanted = d.extension_properties(self.tenant, self.base, holder["appId"])
        have = {p["name"]: p for p in await self.graph.extension_properties(holder["id"])}
        for full, data_type in wanted.items():
            short = full.split("_", 2)[2]
            existing = have.get(full)
            if existing is not None:
                if str(existing.get("dataType", "")).lower() != data_type.lower():
                    raise ValueError(
                        f"extension property {short} is {existing.get('dataType')} in the tenant but {data_type} in "
                        "tenant.toml; Graph cannot change a type: register the attribute under another name"
                    )
                self._note("extension property", short, "unchanged")
                continue
            self._note("extension property", short, "create")
            self.owned.extension_properties.add(short)
            if self.apply:
                body = {"name": short, "dataType": data_type, "targetObjects": ["User"]}
                await self.graph.create_extension_property(holder["id"], body)
        self._holder_id = str(holder["id"])
        self._wanted_properties = {full.split("_", 2)[2] for full in wanted}
        return d.short_names(wanted)

    # ---- JIT: extension app + certificate, custom extension, listener ------------------------
    async def _jit(self, app_actual: dict[str, Any] | None, names: dict[str, str]) -> str | None:
        jit = self.tenant.jit
        ours = [
            e
            for e in await self.graph.list_objects("customAuthenticationExtensions")
            if e.get("description") == d.MARKER
        ]
        if jit is None:
            return None
        cert = d.load_certificate(jit, self.base)
        app = await self._object("applications", "application", d.JIT_APP_KEY, app_actual, d.jit_app_body(jit))
        app_id = app.get("appId", PLANNED)
        audience = d.jit_audience(jit, app_id)
        keys = d.jit_keys_body(cert)
        if app_actual is not None or self.apply:
            have_keys = await self.graph.key_credentials(app["id"]) if app["id"] != PLANNED else []
            same = (
                (app.get("identifierUris") or []) == [audience]
                and [(k.get("keyId"), k.get("usage")) for k in have_keys] == [(cert.key_id, "Encrypt")]
                and app.get("tokenEncryptionKeyId") == cert.key_id
            )
            if not same and app_actual is not None:
                self.out.changes[-1] = Change(
                    "application",
                    d.JIT_APP_KEY,
                    "update",
                    (*self.out.changes[-1].fields, "identifierUris", "keyCredentials"),
                )
            if not same and self.apply:
                await self.graph.update("applications", app["id"], {"identifierUris": [audience], **keys})
        principal = await self._service_principal(d.JIT_APP_KEY, app)
        if jit.admin_consent:
            await self._admin_consent(principal)
        extension = await self._object(
            "customAuthenticationExtensions",
            "custom authentication extension",
            "onPasswordSubmit",
            ours[0] if ours else None,
            d.extension_body(jit, audience),
        )
        flag = names[d.flag_name(self.tenant, self.base)]
        app_ids = [self.out.app_ids[k] for k in jit.apps]
        listeners = [
            x
            for x in await self.graph.list_objects("authenticationEventListeners")
            if str(x.get("@odata.type", "")).endswith("onPasswordSubmitListener")
            and (x.get("handler") or {}).get("migrationPropertyId") == flag
        ]
        listener = await self._object(
            "authenticationEventListeners",
            "authentication event listener",
            "onPasswordSubmit",
            listeners[0] if listeners else None,
            d.listener_body(app_ids, flag, extension["id"]),
        )
        self.out.jit = JitWiring(flag, app_id, audience, extension["id"], listener["id"])
        return str(extension["id"])

    # ---- identity providers -------------------------------------------------------------------
    async def _identity_providers(self) -> dict[str, str]:
        """{provider key: id} of the declared providers."""
        actual = await self.graph.list_objects("identityProviders")
        ids: dict[str, str] = {}
        for idp in self.tenant.identity_providers:
            found = next((a for a in actual if d.idp_matches(idp, a)), None)
            if found is None:
                self.owned.identity_providers.add(idp.key)
            obj = await self._object(
                "identityProviders",
                "identity provider",
                idp.display_name,
                found,
                d.idp_body(idp),
                ignore=d.SECRET_FIELDS,
            )
            ids[idp.key] = str(obj.get("id") or d.SOCIAL_IDP_IDS.get(idp.type, PLANNED))
        return ids

    # ---- the sign-up / sign-in user flow and the apps it serves ------------------------------
    async def _user_flow(self, names: dict[str, str], idp_ids: dict[str, str]) -> None:
        flow = self.tenant.user_flow
        if flow is None:
            return
        flows = [
            f for f in await self.graph.list_objects("authenticationEventsFlows") if f.get("description") == d.MARKER
        ]
        found = next((f for f in flows if f.get("displayName") == flow.display_name), None)
        body = d.flow_body(self.tenant, [idp_ids[k] for k in flow.identity_providers], names)
        obj = await self._object("authenticationEventsFlows", "user flow", flow.display_name, found, body)
        wanted = [self.out.app_ids[k] for k in flow.apps]
        have = await self.graph.flow_app_ids(obj["id"]) if found is not None else []
        add = [a for a in wanted if a not in have]
        drop = [a for a in have if a not in wanted]
        label = f"{flow.display_name} apps"
        self._note(
            "user flow applications",
            label,
            "update" if add or drop else "unchanged",
            tuple(f"+{a}" for a in add) + tuple(f"-{a}" for a in drop),
        )
        if self.apply:
            for app_id in add:
                await self.graph.add_flow_app(obj["id"], app_id)
            for app_id in drop:
                await self.graph.remove_flow_app(obj["id"], app_id)

    # ---- branding and MFA (singletons: updated, never deleted) --------------------------------
    async def _branding(self) -> None:
        branding = self.tenant.branding
        if branding is None:
            return
        org = await self.graph.organization_id()
        body = d.branding_body(self.tenant)
        actual = await self.graph.branding(org)
        changed = differing(actual, body)
        logo = None
        if branding.banner_logo_file:
            logo = d.read_logo(self.base / branding.banner_logo_file)
            if await self.graph.banner_logo(org) != logo[0]:
                changed += ("bannerLogo",)
        self._note("company branding", "default", "update" if changed else "unchanged", changed)
        if self.apply and changed:
            if set(changed) - {"bannerLogo"}:
                await self.graph.update_branding(org, {k: body[k] for k in changed if k != "bannerLogo"})
            if logo is not None and "bannerLogo" in changed:
                await self.graph.put_banner_logo(org, *logo)

    async def _mfa(self) -> None:
        for method, state in d.mfa_states(self.tenant).items():
            actual = await self.graph.method_configuration(method)
            changed = () if actual.get("state") == state else ("state",)
            self._note("authentication method", method, "update" if changed else "unchanged", changed)
            if changed and self.apply:
                await self.graph.update_method_configuration(
                    method, {"@odata.type": d.METHOD_TYPES[method], "state": state}
                )

    # ---- prune: only objects carrying our tag or marker, dependants first -----------------------
    async def _prune(self, managed: dict[str, dict[str, Any]], kept_extension: str | None) -> None:
        for ext in await self.graph.list_objects("customAuthenticationExtensions"):
            if ext.get("description") != d.MARKER or ext["id"] == kept_extension:
                continue
            for listener in await self.graph.list_objects("authenticationEventListeners"):
                if ((listener.get("handler") or {}).get("customExtension") or {}).get("id") == ext["id"]:
                    await self._delete(
                        "authenticationEventListeners",
                        "authentication event listener",
                        "onPasswordSubmit",
                        listener["id"],
                    )
            await self._delete(
                "customAuthenticationExtensions",
                "custom authentication extension",
                str(ext.get("displayName")),
                ext["id"],
            )
        keep_flow = self.tenant.user_flow.display_name if self.tenant.user_flow else None
        for flow in await self.graph.list_objects("authenticationEventsFlows"):
            if flow.get("description") == d.MARKER and flow.get("displayName") != keep_flow:
                await self._delete("authenticationEventsFlows", "user flow", str(flow.get("displayName")), flow["id"])
        keep_apps = {a.key for a in self.tenant.apps} | ({d.JIT_APP_KEY} if self.tenant.jit else set())
        for key, app in managed.items():
            if key not in keep_apps:
                principal = await self.graph.service_principal(str(app.get("appId")))
                if principal is not None:  # its grants and assignments go with it
                    self._note("service principal", key, "delete")
                    if self.apply:
                        await self.graph.delete_service_principal(principal["id"])
                await self._delete("applications", "application", key, app["id"])
        # Last: the user flow no longer names a provider or attribute the file dropped.
        await self._prune_identity_providers({p.key for p in self.tenant.identity_providers})
        await self._prune_extension_properties(self._holder_id, self._wanted_properties)

    async def _delete(self, kind: str, label: str, name: str, object_id: str) -> None:
        self._note(label, name, "delete")
        if self.apply:
            await self.graph.delete(kind, object_id)
