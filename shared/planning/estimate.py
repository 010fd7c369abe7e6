"""How long an import will take under Graph's write quotas (docs/limits.md, throttling).

One POST /users per valid user, one POST per extension property, plus the writes that follow a user
(`follow_up`: one POST per MFA method, …; see shared/planning/report.py `follow_up_writes`). Writes
are limited per app registration (3,000 / 150 s) and per tenant (18,000 / 300 s); several apps
approach the tenant limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

APP_WRITES, APP_WINDOW_S = 3_000, 150
TENANT_WRITES, TENANT_WINDOW_S = 18_000, 300


@dataclass(frozen=True)
class ImportEstimate:
    writes: int
    apps: int
    per_app_rate: float
    tenant_rate: float
    rate: float
    seconds: float
    limited_by: str
    writes_by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "writes": self.writes,
            "writes_by_kind": dict(self.writes_by_kind),
            "apps": self.apps,
            "writes_per_second": round(self.rate, 2),
            "per_app_writes_per_second": round(self.per_app_rate, 2),
            "tenant_writes_per_second": round(self.tenant_rate, 2),
            "limited_by": self.limited_by,
            "seconds": round(self.seconds),
            "human": human_duration(self.seconds),
            "apps_to_reach_tenant_limit": apps_for_tenant_limit(),
        }


def apps_for_tenant_limit() -> int:
    per_app = APP_WRITES / APP_WINDOW_S
    tenant = TENANT_WRITES / TENANT_WINDOW_S
    return int(-(-tenant // per_app))


def estimate_import(
    users: int, extension_properties: int, apps: int, follow_up: Mapping[str, int] | None = None
) -> ImportEstimate:
    per_app = APP_WRITES / APP_WINDOW_S
    tenant = TENANT_WRITES / TENANT_WINDOW_S
    combined = per_app * max(apps, 1)
    rate = min(combined, tenant)
    by_kind = {"users": users, "extension properties": extension_properties, **(follow_up or {})}
    writes = sum(by_kind.values())
    return ImportEstimate(
        writes=writes,
        apps=max(apps, 1),
        per_app_rate=per_app,
        tenant_rate=tenant,
        rate=rate,
        seconds=writes / rate if writes else 0.0,
        limited_by="tenant" if combined >= tenant else "app registrations",
        writes_by_kind=by_kind,
    )


def human_duration(seconds: float) -> str:
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
