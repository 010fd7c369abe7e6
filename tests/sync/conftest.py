"""Sync test rig: legacy records, a changes.jsonl writer, and the tenant read back field by field.

`differences(tenant, legacy)` compares every mapped field (the ones the sync keeps in step) of every legacy user
with the tenant's, through Graph paging on the emulator: the figure the coexistence tests assert is 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from emulator import DEFAULT_EXTENSIONS_APP_ID, DEFAULT_TENANT
from shared.mapping import MappingOptions, MappingReject, map_user
from shared.records import LegacyUser
from shared.sync.fingerprint import local_identities, mapped_fields

EXT = DEFAULT_EXTENSIONS_APP_ID.replace("-", "")
LEGACY_ID_ATTR = f"extension_{EXT}_legacyId"
FLAG_ATTR = f"extension_{EXT}_toBeMigrated"
MAPPING = MappingOptions(tenant=DEFAULT_TENANT, extensions_app_id=DEFAULT_EXTENSIONS_APP_ID)


def source_mapping(source: str) -> MappingOptions:
    """The mapping `run --source S` uses by default: the source's shipped profile."""
    from shared.profiles import load_profile

    return load_profile(source, None).mapping_options(DEFAULT_TENANT, DEFAULT_EXTENSIONS_APP_ID)


def person(i: int, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "legacyId": f"u{i:05d}",
        "email": f"user{i}@example.com",
        "givenName": f"Given{i}",
        "surname": f"Sur{i}",
        "displayName": f"User {i}",
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


def write_jsonl(path: Path, records: Iterable[dict[str, Any]], *, append: bool = False) -> Path:
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return path


def token() -> str:
    from shared.adapters.graph.client import emulator_token

    return emulator_token().token


def tenant_users(base_url: str, extra: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Every live user by legacyId, with the mapped properties selected."""
    select = ["id", "displayName", "mail", "givenName", "surname", "mobilePhone", "accountEnabled", "identities",
              LEGACY_ID_ATTR, FLAG_ATTR, *extra]  # fmt: skip
    url: str | None = f"{base_url}/v1.0/users?$select={','.join(select)}&$top=999"
    found: dict[str, dict[str, Any]] = {}
    for _ in range(1000):
        if not url:
            break
        page = httpx.get(url, headers={"Authorization": f"Bearer {token()}"}, timeout=30).json()
        for user in page["value"]:
            found[str(user.get(LEGACY_ID_ATTR))] = user
        url = page.get("@odata.nextLink")
    return found


def differences(
    base_url: str, legacy: Mapping[str, dict[str, Any] | LegacyUser | None], mapping: MappingOptions = MAPPING
) -> list[str]:
    """One line per (user, field) where the tenant differs from the legacy state (None = deleted in legacy).

    `legacy` holds interchange records (dicts) or LegacyUsers read by a source reader; `mapping` is the one the
    import used (the source's default profile)."""
    tenant = tenant_users(base_url)
    problems: list[str] = []
    for legacy_id, record in sorted(legacy.items()):
        user = tenant.get(legacy_id)
        if record is None:
            if user is not None:
                problems.append(f"{legacy_id}: deleted in legacy, still in the tenant")
            continue
        if user is None:
            problems.append(f"{legacy_id}: missing from the tenant")
            continue
        user_record = record if isinstance(record, LegacyUser) else LegacyUser.model_validate(record)
        target = map_user(user_record, mapping)
        assert not isinstance(target, MappingReject), target
        for name, want in mapped_fields(target, FLAG_ATTR, DEFAULT_TENANT).items():
            have = (
                local_identities(user.get("identities") or [], DEFAULT_TENANT)
                if name == "identities"
                else user.get(name)
            )
            if have != want:
                problems.append(f"{legacy_id}.{name}: tenant {have!r} != legacy {want!r}")
    return problems


# The e2e rig (the emulator and the CLI as real processes, killed on teardown) for the rehearsal tests.
from tests.e2e.conftest import cli, cli_env, emulator_process  # noqa: E402, F401
