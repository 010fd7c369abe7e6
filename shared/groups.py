"""The group mapping: a legacy group or role name → an Entra group and/or an app role, from the mapping profile.

Pure and deterministic: planning counts with it, the assign-groups stage writes with it, so both agree.
A name the table doesn't list is *unmapped* (reported, never silently dropped); a name in `ignore` is
dropped on purpose and counted as such. Names match exactly (Keycloak's leading `/` is already stripped).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AppRoleTarget:
    """An app role: the app by appId or displayName, the role by its `value` (what tokens carry)."""

    app: str
    role: str


@dataclass(frozen=True)
class GroupTarget:
    group: str | None = None  # the Entra group's displayName
    app_role: AppRoleTarget | None = None


@dataclass(frozen=True)
class UserGrants:
    """What one user gets: Entra group names, app roles, and the legacy names that map nowhere."""

    groups: tuple[str, ...] = ()
    app_roles: tuple[AppRoleTarget, ...] = ()
    unmapped: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def writes(self) -> int:
        return len(self.groups) + len(self.app_roles)


@dataclass(frozen=True)
class GroupMapping:
    targets: dict[str, GroupTarget] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    create_missing: bool = True  # create a mapped Entra group that doesn't exist (tagged as ours)

    @property
    def active(self) -> bool:
        return bool(self.targets)

    def grants(self, legacy_groups: Iterable[str]) -> UserGrants:
        groups: dict[str, None] = {}
        roles: dict[AppRoleTarget, None] = {}
        unmapped: dict[str, None] = {}
        ignored: dict[str, None] = {}
        for name in legacy_groups:
            target = self.targets.get(name)
            if target is None:
                (ignored if name in self.ignore else unmapped)[name] = None
                continue
            if target.group:
                groups[target.group] = None
            if target.app_role is not None:
                roles[target.app_role] = None
        return UserGrants(tuple(groups), tuple(roles), tuple(unmapped), tuple(ignored))

    def entra_groups(self) -> list[str]:
        return sorted({t.group for t in self.targets.values() if t.group})

    def app_roles(self) -> list[AppRoleTarget]:
        return sorted({t.app_role for t in self.targets.values() if t.app_role}, key=lambda r: (r.app, r.role))
