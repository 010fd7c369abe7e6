"""How long an import will take under Graph's write quotas (docs/limits.md, throttling), paced as the run paces it.

Writes: one POST /users per valid user, one POST per extension property, plus the writes that follow a user
(`follow_up`: one per MFA method, group membership, app-role assignment, group created; see
shared/planning/report.py `follow_up_writes`). Graph counts every write on its own, `$batch` item or not
(concepts/throttling.md "Throttling and batching"), per app registration (3,000 / 150 s) and per tenant
(18,000 / 300 s). The run sends users, MFA methods and memberships 20 to a `$batch` (groups created and extension
properties alone), so at ≤ 1 request/s per app the client is never what limits it: the time is the writes at the
rate its write budgets pace them (shared/adapters/graph/quota_lease.py `bucket_terms`, the one formula of the
shared buckets; with `lease_s` 0 it is also the process-local ThrottleBudget's): `headroom` under the quota, spread
over the window plus a lease's life, the bucket's first `capacity` writes at once — per app, capped by the tenant's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.adapters.graph.quota_lease import bucket_terms

APP_WRITES, APP_WINDOW_S = 3_000, 150
TENANT_WRITES, TENANT_WINDOW_S = 18_000, 300
BATCH_LIMIT = 20  # items per $batch (concepts/json-batching.md)
HEADROOM = 0.98  # shared/config.py WriteQuota.headroom's default
LEASE_S = 2.0  # shared/config.py QUOTA_LEASE_S's default (SHARED_QUOTA on); 0 for a process-local budget
BURST = 40  # the buckets' capacity (ThrottleBudget / SharedBudget `burst`)
ALONE = frozenset({"extension properties", "groups created"})  # one request per write, not batched


@dataclass(frozen=True)
class ImportEstimate:
    writes: int
    apps: int
    per_app_rate: float  # the quota's
    tenant_rate: float  # the quota's
    rate: float  # what the run paces itself to
    seconds: float
    limited_by: str
    writes_by_kind: dict[str, int] = field(default_factory=dict)
    requests_by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        requests = sum(self.requests_by_kind.values())
        return {
            "writes": self.writes,
            "writes_by_kind": dict(self.writes_by_kind),
            "requests": requests,
            "requests_by_kind": dict(self.requests_by_kind),
            "apps": self.apps,
            "writes_per_second": round(self.rate, 2),
            "requests_per_second": round(requests / self.seconds, 2) if self.seconds else 0.0,
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


def requests_for(by_kind: Mapping[str, int]) -> dict[str, int]:
    """$batch requests per kind of write: 20 items a request, or one each for the kinds sent alone."""
    return {kind: n if kind in ALONE else -(-n // BATCH_LIMIT) for kind, n in by_kind.items()}


def estimate_import(
    users: int,
    extension_properties: int,
    apps: int,
    follow_up: Mapping[str, int] | None = None,
    *,
    headroom: float = HEADROOM,
    lease_s: float = LEASE_S,
) -> ImportEstimate:
    apps = max(apps, 1)
    app = bucket_terms(APP_WRITES, APP_WINDOW_S, headroom=headroom, burst=BURST, lease_s=lease_s)
    tenant = bucket_terms(TENANT_WRITES, TENANT_WINDOW_S, headroom=headroom, burst=BURST, lease_s=lease_s)
    app_rate, tenant_rate = app.rate, tenant.rate
    rate, burst = min(app_rate * apps, tenant_rate), min(app.capacity * apps, tenant.capacity)
    by_kind = {"users": users, "extension properties": extension_properties, **(follow_up or {})}
    writes = sum(by_kind.values())
    return ImportEstimate(
        writes=writes,
        apps=apps,
        per_app_rate=APP_WRITES / APP_WINDOW_S,
        tenant_rate=TENANT_WRITES / TENANT_WINDOW_S,
        rate=rate,
        seconds=max(writes - burst, 0) / rate,
        limited_by="tenant" if app_rate * apps >= tenant_rate else "app registrations",
        writes_by_kind=by_kind,
        requests_by_kind=requests_for({k: v for k, v in by_kind.items() if v}),
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
