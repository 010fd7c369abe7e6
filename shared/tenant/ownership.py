"""Which identity providers and extension properties are ours, so `--prune` deletes only those.

Neither object can carry a mark: Graph's identityProvider has no tags, notes or description, and an
extensionProperty is only name, dataType, targetObjects and isMultiValued (graph docs resources/
identityproviderbase.md, resources/extensionproperty.md) — and both live beside objects made by hand (the
b2c-extensions-app holds every custom attribute of the tenant). So apply keeps a record in the tenant: one app
registration, "ciam-migrate tenant record", tagged like our apps (key `tenant-record`), whose other tags name
what apply created: `ciam-migrate:idp:<type, or the OIDC issuer>` and `ciam-migrate:ext:<property name>`. An
object found in place (made by hand, or before this record existed) is never recorded, so never pruned.
The record is written after the objects, also when a later call fails, and only when it changes (a second apply
sends no write). A crash between a create and the record leaves that object unrecorded: kept, never deleted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from shared.tenant import desired as d
from shared.tenant.graph import TenantGraph, TenantGraphError

RECORD_KEY = "tenant-record"
IDP_TAG = "ciam-migrate:idp:"
EXT_TAG = "ciam-migrate:ext:"
RECORD_LABEL = "tenant record"
RECORD_NAME = "what apply created (identity providers, extension properties)"
ERASES = "every user's value of it is lost"


@dataclass
class Owned:
    identity_providers: set[str] = field(default_factory=set)  # provider keys: type, or the OIDC issuer
    extension_properties: set[str] = field(default_factory=set)  # short names

    @classmethod
    def from_record(cls, app: dict[str, Any] | None) -> Owned:
        tags = (app or {}).get("tags") or []
        return cls(
            {t[len(IDP_TAG) :] for t in tags if t.startswith(IDP_TAG)},
            {t[len(EXT_TAG) :] for t in tags if t.startswith(EXT_TAG)},
        )

    def tags(self) -> list[str]:
        return [
            *d.app_tags(RECORD_KEY),
            *(IDP_TAG + k for k in sorted(self.identity_providers)),
            *(EXT_TAG + n for n in sorted(self.extension_properties)),
        ]

    def copy(self) -> Owned:
        return Owned(set(self.identity_providers), set(self.extension_properties))


def _short(tag: str) -> str:
    return tag.removeprefix("ciam-migrate:")


def record_body(owned: Owned) -> dict[str, Any]:
    return {
        "displayName": "ciam-migrate tenant record",
        "description": "Names the identity providers and extension properties ciam-migrate tenant apply created, "
        "so apply --prune deletes only those. Keep it while tenant.toml manages this tenant.",
        "signInAudience": "AzureADMyOrg",
        "tags": owned.tags(),
    }


class Ownership:
    """Mixed into the Reconciler: `graph`, `apply` and `_note` are the Reconciler's."""

    graph: TenantGraph
    apply: bool
    owned: Owned
    _recorded: Owned
    _record_app: dict[str, Any] | None

    def _note(self, kind: str, name: str, action: Any, fields: tuple[str, ...] = ()) -> None:
        raise NotImplementedError

    def _load_record(self, managed: dict[str, dict[str, Any]]) -> None:
        """Take the record out of `managed` (it is no app of the file's) and read what it says is ours."""
        self._record_app = managed.pop(RECORD_KEY, None)
        self.owned = Owned.from_record(self._record_app)
        self._recorded = self.owned.copy()

    async def _save_record(self, *, failing: bool = False) -> None:
        if self.owned == self._recorded:
            if self._record_app is not None and not failing:
                self._note(RECORD_LABEL, RECORD_NAME, "unchanged")
            return
        before, after = self._recorded.tags(), self.owned.tags()
        diff = tuple(f"+{_short(t)}" for t in after if t not in before)
        diff += tuple(f"-{_short(t)}" for t in before if t not in after)
        self._note(RECORD_LABEL, RECORD_NAME, "create" if self._record_app is None else "update", diff)
        if not self.apply:
            return
        with contextlib.suppress(TenantGraphError) if failing else contextlib.nullcontext():
            if self._record_app is None:
                self._record_app = await self.graph.create("applications", record_body(self.owned))
            else:
                await self.graph.update("applications", self._record_app["id"], {"tags": after})
            self._recorded = self.owned.copy()

    async def _prune_identity_providers(self, declared: set[str]) -> None:
        present = set()
        for idp in await self.graph.list_objects("identityProviders"):
            key = d.actual_idp_key(idp)
            if key is None or key not in self.owned.identity_providers:
                continue
            present.add(key)
            if key not in declared:
                self._note("identity provider", str(idp.get("displayName") or key), "delete")
                if self.apply:
                    await self.graph.delete("identityProviders", idp["id"])
                self.owned.identity_providers.discard(key)
        self.owned.identity_providers &= present | declared  # forget what was deleted by hand

    async def _prune_extension_properties(self, holder_id: str, wanted: set[str]) -> None:
        present = set()
        for prop in await self.graph.extension_properties(holder_id):
            short = str(prop.get("name", "")).split("_", 2)[-1]
            if short not in self.owned.extension_properties:
                continue
            present.add(short)
            if short not in wanted:
                self._note("extension property", short, "delete", (ERASES,))
                if self.apply:
                    await self.graph.delete_extension_property(holder_id, str(prop["id"]))
                self.owned.extension_properties.discard(short)
        self.owned.extension_properties &= present | wanted
