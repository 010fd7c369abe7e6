"""The plan as data: PlanResult → the plan.json document (user-facing keys; see docs/sources.md).

Keys: total, valid, rejected, by_reason, identities, passwords, mfa, attributes, groups, quality,
duplicates, constraints, does_not_map, estimate, warnings, rejects (first examples). No user values.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from shared.entra_limits import OBJECT_QUOTA
from shared.groups import GroupMapping
from shared.mapping import extension_properties_for
from shared.planning.constraints import custom_attributes_row, object_quota_row
from shared.planning.estimate import estimate_import
from shared.planning.inventory import OTHER
from shared.planning.run import PlanResult

# Sign-in providers External ID federates with out of the box; others need a custom OIDC/SAML setup.
BUILT_IN_PROVIDERS = frozenset({"google.com", "facebook.com", "apple"})
ENTRA_MFA = frozenset({"phone", "email"})


def plan_metadata(plan: PlanResult, generated_at: datetime | None = None) -> dict[str, str]:
    """When and with what the plan was made: time (UTC), tool version, source, the mapping profile's digest."""
    from importlib import metadata  # only a written plan needs it; `run` checks a credential without it

    profile_json = plan.profile.model_dump_json()
    return {
        "generated_at": (generated_at or datetime.now(UTC)).replace(microsecond=0).isoformat(),
        "version": metadata.version("ciam-migrate"),
        "source": plan.source,
        "profile_sha256": hashlib.sha256(profile_json.encode()).hexdigest()[:16],
    }


def plan_document(plan: PlanResult, *, object_quota: int = OBJECT_QUOTA) -> dict[str, Any]:
    inv = plan.inventory
    options = plan.options
    attributes = {
        name: {
            "users": seen.users,
            "maps_to": options.extension_name(options.attribute_renames.get(name, name)),
            "type": options.attribute_types.get(name) or _type_of(seen.types),
            "too_long": seen.too_long,
        }
        for name, seen in sorted(inv.attributes.items())
    }
    extension_count = len(extension_properties_for({n: "" for n in inv.attributes}, options))
    groups = _groups(inv.groups, options.groups)
    estimate = estimate_import(inv.valid, extension_count, plan.apps, follow_up_writes(plan))
    return {
        "source": plan.source,
        "export": plan.export,
        "tenant": plan.tenant,
        "total": inv.total,
        "valid": inv.valid,
        "rejected": inv.rejected,
        "by_reason": dict(inv.by_reason.most_common()),
        "identities": {
            "kinds": dict(inv.identity_kinds.most_common()),
            "federated_by_provider": dict(inv.federated_by_provider.most_common()),
            "create_federated": options.create_federated,
        },
        "passwords": {
            "kinds": dict(inv.password_kinds.most_common()),
            "hash_algorithms": dict(inv.hash_algorithms.most_common()),
            "paths": dict(inv.password_paths.most_common()),
            # users on the reset path although their record brings a password, by reason code
            "reset_fallbacks": dict(inv.reset_fallbacks.most_common()),
            "mode": options.password_mode,
        },
        "mfa": {
            "users": inv.users_with_mfa,
            "methods": dict(inv.mfa_methods.most_common()),
            "importable": dict(inv.method_writes.most_common()),
            "not_importable": dict(inv.method_skips.most_common()),
        },
        "phones": {"verified": inv.phones["verified"], "unverified": inv.phones["unverified"]},
        "attributes": attributes,
        # The one count of custom attributes: the extension properties the import creates.
        "custom_attributes": {"properties": extension_count, "most_on_one_user": inv.max_attributes_per_user},
        "attributes_untracked": inv.attributes_overflow,
        "groups": {
            "users": inv.users_with_groups,
            "distinct": len(inv.groups) if OTHER not in inv.groups else None,
            "members": dict(inv.groups.most_common(50)),
            **groups,
        },
        "disabled": inv.disabled,
        "quality": _quality(plan),
        "duplicates": {
            "legacy_ids": inv.duplicates["legacy_ids"],
            "emails": inv.duplicates["emails"],
            "usernames": inv.duplicates["usernames"],
            "federated_ids": inv.duplicates["federated_ids"],
        },
        "constraints": _constraints(plan, extension_count, object_quota),
        "does_not_map": _does_not_map(plan),
        "estimate": estimate.as_dict(),
        "warnings": list(plan.warnings),
        "rejects": list(inv.rejects),
    }


def follow_up_writes(plan: PlanResult) -> dict[str, int]:
    """The writes that follow a valid user's create, by kind: what the estimate adds to one POST per user."""
    inv = plan.inventory
    writes = {"mfa methods": sum(inv.method_writes.values())}
    if plan.options.groups.active:
        groups = _groups(inv.groups, plan.options.groups)
        writes.update({"group memberships": groups["memberships"], "app-role assignments": groups["app_roles"],
                       "groups created": groups["creates"]})  # fmt: skip
    return writes


def _groups(members: Counter[str], mapping: GroupMapping) -> dict[str, Any]:
    """Each legacy group/role: what it maps to (or `unmapped` / `ignored`), and the writes that makes.

    Memberships are counted per (legacy name, user): two legacy names mapped to one Entra group count twice,
    so `memberships` is an upper bound (exact when the table maps names one to one)."""
    rows: dict[str, dict[str, Any]] = {}
    memberships = app_roles = 0
    unmapped: dict[str, int] = {}
    for name, users in members.most_common():
        target = mapping.targets.get(name)
        if target is None:
            status = "ignored" if name in mapping.ignore else "unmapped"
            if status == "unmapped":
                unmapped[name] = users
            rows[name] = {"users": users, "maps_to": status}
            continue
        parts = [f"group {target.group!r}"] if target.group else []
        if target.app_role is not None:
            parts.append(f"app role {target.app_role.role!r} of {target.app_role.app!r}")
        memberships += users if target.group else 0
        app_roles += users if target.app_role is not None else 0
        rows[name] = {"users": users, "maps_to": " + ".join(parts)}
    creates = len(mapping.entra_groups()) if mapping.create_missing else 0
    return {
        "mapping": dict(list(rows.items())[:MAX_ROWS]),
        "unmapped": unmapped,
        "memberships": memberships,
        "app_roles": app_roles,
        "creates": creates,
    }


def _quality(plan: PlanResult) -> dict[str, int]:
    """The data-quality figures every plan shows (zeros included), then anything else observed."""
    inv = plan.inventory
    reasons = inv.by_reason
    fixed = {
        "invalid emails": reasons["invalid_email"],
        "duplicate legacyIds": inv.duplicates["legacy_ids"],
        "same email on two users": inv.duplicates["emails"],
        "over-long values": reasons["identity_too_long"]
        + reasons["property_too_long"]
        + reasons["attribute_too_long"]
        + inv.quality["display name over 256 characters (truncated)"],
        "non-ASCII passwords": inv.quality["non-ASCII password (JIT asks for a new one)"],
        "unsupported hash algorithms": inv.quality["unsupported hash algorithm"],
        "invalid phone numbers": reasons["invalid_phone"] + inv.quality["phone not E.164 (left out)"],
    }
    shown = {
        "display name over 256 characters (truncated)",
        "non-ASCII password (JIT asks for a new one)",
        "unsupported hash algorithm",
        "phone not E.164 (left out)",
    }
    fixed.update((k, v) for k, v in inv.quality.most_common() if k not in shown)
    return fixed


def _type_of(types: Any) -> str:
    names = set(types)
    if names == {"bool"}:
        return "Boolean"
    if names == {"int"}:
        return "Integer"
    return "String"


def _constraints(plan: PlanResult, extension_count: int, object_quota: int) -> list[dict[str, Any]]:
    inv = plan.inventory
    identity_rule_breaks = sum(
        inv.by_reason[c] for c in ("invalid_email", "invalid_username", "identity_too_long", "duplicate_identity")
    )
    return [
        object_quota_row(inv.valid, object_quota),
        custom_attributes_row(inv.max_attributes_per_user, extension_count),
        {
            "rule": "identity rules (valid email, username charset, ≤ 64 characters, unique)",
            "value": identity_rule_breaks,
            "ok": identity_rule_breaks == 0,
            "name": "identity-rules",
            "blocking": False,
            "note": "users breaking them are rejected (see by_reason)",
        },
        {
            "rule": "password policy (8–256 ASCII, 3 of 4 classes) for plaintext passwords",
            "value": inv.by_reason["password_not_ascii"] + inv.by_reason["password_too_weak"],
            "ok": True,
            "name": "password-policy",
            "blocking": False,
            "note": "weak or non-ASCII plaintext goes the JIT path unless password mode is 'plaintext'",
        },
    ]


def _does_not_map(plan: PlanResult) -> list[dict[str, Any]]:
    inv = plan.inventory
    rows: list[dict[str, Any]] = [
        {"feature": feature, "users": users} for feature, users in plan.unmapped.counts.most_common(MAX_ROWS)
    ]
    if inv.mfa_methods.get("totp"):
        rows.append(
            {
                "feature": "TOTP authenticator apps (External ID offers email OTP and SMS)",
                "users": inv.mfa_methods["totp"],
            }
        )
    if inv.users_with_groups and not plan.options.groups.active:
        rows.append(
            {"feature": "group memberships (map them in the profile's groups.map)", "users": inv.users_with_groups}
        )
    for name, users in list(_groups(inv.groups, plan.options.groups)["unmapped"].items())[:MAX_ROWS]:
        if plan.options.groups.active:
            rows.append({"feature": f"legacy group {name!r} (not in the profile's groups.map)", "users": users})
    if inv.identity_kinds.get("federated") and not plan.options.create_federated:
        rows.append(
            {
                "feature": "federated links (pre-creating social users is off; users link on first sign-in)",
                "users": inv.identity_kinds["federated"],
            }
        )
    for provider, users in inv.federated_by_provider.items():
        if provider not in BUILT_IN_PROVIDERS:
            rows.append({"feature": f"identity provider '{provider}' (needs a custom OIDC/SAML setup)", "users": users})
    if inv.identity_kinds.get("username"):
        rows.append(
            {
                "feature": "username sign-in (preview in External ID; enable it in the tenant)",
                "users": inv.identity_kinds["username"],
            }
        )
    fallbacks = inv.reset_fallbacks.total()
    if inv.password_paths.get("reset", 0) > fallbacks:
        rows.append(
            {
                "feature": "no usable password: these users reset on first sign-in",
                "users": inv.password_paths["reset"] - fallbacks,
            }
        )
    for reason, users in inv.reset_fallbacks.most_common():
        rows.append({"feature": f"password hash not usable ({reason}): these users reset instead", "users": users})
    return rows


MAX_ROWS = 50
