"""The plan's Entra constraints, and which of them block an import until the operator accepts them.

A blocking constraint is one the tenant would enforce part-way through the import: the object quota
(users + applications per tenant) and the custom-attribute limit (100 per user, so at most 100
extension properties are worth creating). Numbers come from shared/entra_limits.py (docs/limits.md).
`plan` and `run` exit 3 naming the constraint unless `--accept-constraint NAME` is given.
"""

from __future__ import annotations

from typing import Any

from shared.entra_limits import MAX_EXTENSION_VALUES_PER_USER, OBJECT_QUOTA

EXIT_CONSTRAINT = 3
OBJECT_QUOTA_NAME = "object-quota"
CUSTOM_ATTRIBUTES_NAME = "custom-attributes"
BLOCKING_NAMES = (OBJECT_QUOTA_NAME, CUSTOM_ATTRIBUTES_NAME)


def object_quota_row(to_import: int, quota: int = OBJECT_QUOTA) -> dict[str, Any]:
    over = to_import >= quota  # the b2c-extensions-app is an object too
    default = " (the default)" if quota == OBJECT_QUOTA else ""
    return {
        "name": OBJECT_QUOTA_NAME,
        "blocking": over,
        "rule": f"tenant object quota: {quota:,} users + apps{default}",
        "value": to_import,
        "ok": not over,
        "note": f"{to_import:,} users to import reach the tenant's object quota of {quota:,}; "
        "raise it with a support request before the import"
        if over
        else f"{to_import / quota:.1%} of the quota, before the tenant's existing objects",
    }


def custom_attributes_row(max_per_user: int, properties: int) -> dict[str, Any]:
    limit = MAX_EXTENSION_VALUES_PER_USER
    over = max_per_user > limit or properties > limit
    return {
        "name": CUSTOM_ATTRIBUTES_NAME,
        "blocking": over,
        "rule": f"custom attributes: ≤ {limit} per user",
        "value": max(max_per_user, properties),
        "ok": not over,
        "note": f"{properties} extension properties to create; the most on one user: {max_per_user}"
        + (f" — over {limit}: users above it are rejected; map fewer attributes" if over else ""),
    }


def cannot_block(records: int, most_attributes: int, attribute_names: int, quota: int) -> bool:
    """True when no blocking constraint can fire, from upper bounds read off every record of the export: the
    records (≥ the users to import), the most attributes on one record plus the flag and legacy id (≥ the most
    on one user), the distinct attribute names plus those two (≥ the extension properties to create)."""
    limit = MAX_EXTENSION_VALUES_PER_USER
    return records < quota and most_attributes + 2 <= limit and attribute_names + 2 <= limit


def unaccepted_blockers(constraints: list[dict[str, Any]], accepted: list[str]) -> list[dict[str, Any]]:
    return [c for c in constraints if c.get("blocking") and c.get("name") not in accepted]


def unknown_acceptances(accepted: list[str]) -> list[str]:
    return [a for a in accepted if a not in BLOCKING_NAMES]


def blocker_line(blocker: dict[str, Any]) -> str:
    """The one stderr line for a blocking constraint: what it is, and the two ways on."""
    return (
        f"error: blocking constraint {blocker['name']}: {blocker['note']} "
        f"(or pass --accept-constraint {blocker['name']})"
    )
