"""Preflight refuses what the emulator refuses, from one table (shared/entra_limits.py), for every
user property with a documented maximum (microsoftgraph/microsoft-graph-docs-contrib
api-reference/v1.0/resources/user.md: "Maximum length is N characters")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.entra_limits import USER_STRING_MAXIMA
from shared.mapping import MappingOptions, MappingReject, map_user
from shared.planning import plan_document, plan_export
from shared.preflight import check_user_properties
from shared.profiles import load_profile
from shared.reasons import Reason
from shared.records import LegacyUser
from tests.emulator.conftest import TENANT, customer

OPTIONS = MappingOptions(tenant=TENANT, extensions_app_id=DEFAULT_EXTENSIONS_APP_ID, legacy_id_attribute=None)
# LegacyUser field → the user property the mapping sends it as.
CARRIED = {"display_name": "displayName", "given_name": "givenName", "surname": "surname", "phone": "mobilePhone"}


def sendable(body: dict[str, Any]) -> dict[str, Any]:
    """The body without extension values (their registration is tested in test_extensions.py)."""
    return {k: v for k, v in body.items() if not k.startswith("extension_")}


@pytest.mark.parametrize(("prop", "limit"), sorted(USER_STRING_MAXIMA.items()))
async def test_preflight_and_emulator_refuse_the_same_lengths(http: httpx.AsyncClient, prop: str, limit: int) -> None:
    """Walks the table: over the limit both refuse, naming the property; at the limit both accept."""
    over = await http.post("/users", json=customer(f"o-{prop.lower()}@example.com", **{prop: "x" * (limit + 1)}))
    assert over.status_code == 400 and prop in over.json()["error"]["message"]
    assert check_user_properties({prop: "x" * (limit + 1)}) == (
        Reason.PROPERTY_TOO_LONG,
        f"{prop} is longer than {limit} characters",
    )
    at_limit = await http.post("/users", json=customer(f"a-{prop.lower()}@example.com", **{prop: "x" * limit}))
    assert at_limit.status_code == 201, at_limit.text
    assert check_user_properties({prop: "x" * limit}) is None


def test_every_limited_property_the_mapping_can_send_is_carried_from_a_record() -> None:
    """A fully populated record's POST body holds no limited property that CARRIED does not cover, so the
    end-to-end test below sees every limited property a migration can send."""
    full = LegacyUser(legacy_id="full", email="full@example.com", display_name="D", given_name="G", surname="S",
                      phone="+442079460958")  # fmt: skip
    mapped = map_user(full, OPTIONS)
    assert not isinstance(mapped, MappingReject)
    assert set(mapped.graph_body()) & set(USER_STRING_MAXIMA) == set(CARRIED.values())


@pytest.mark.parametrize("field", sorted(CARRIED))
@pytest.mark.parametrize("extra", [0, 1, 200])
async def test_what_the_plan_accepts_the_emulator_accepts(http: httpx.AsyncClient, field: str, extra: int) -> None:
    """For each limited property a record carries, at and over the limit: the mapping (plan and run share
    it) either refuses the record with property_too_long, or sends a body the emulator accepts — never one
    it refuses. displayName is truncated to its maximum rather than refused; mobilePhone is only sent
    when E.164 (at most 16 characters), so an over-long one is left out."""
    prop = CARRIED[field]
    value = (
        "+44" + "2" * (USER_STRING_MAXIMA[prop] - 3 + extra)
        if field == "phone"
        else "v" * (USER_STRING_MAXIMA[prop] + extra)
    )
    email = f"{field.replace('_', '')}{extra}@example.com"
    mapped = map_user(LegacyUser(legacy_id=email, email=email, **{field: value}), OPTIONS)
    if isinstance(mapped, MappingReject):
        assert extra > 0 and prop in ("givenName", "surname")
        assert mapped.code == Reason.PROPERTY_TOO_LONG and prop in mapped.message
        refused = await http.post("/users", json=customer(email, **{prop: value}))
        assert refused.status_code == 400  # the emulator refuses what the plan refused
        return
    assert prop in ("displayName", "mobilePhone") or extra == 0
    created = await http.post("/users", json=sendable(mapped.graph_body()))
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("types_first", [False, True])
def test_plan_rejects_over_long_names_in_one_read_or_two(tmp_path: Path, types_first: bool) -> None:
    """`plan` (one read, or attribute types over a first read) counts the records the emulator would refuse as
    property_too_long, and accepts the ones at the limit."""
    rows = [
        {"user_id": "auth0|a1", "email": "a1@example.com", "given_name": "g" * 65},
        {"user_id": "auth0|a2", "email": "a2@example.com", "family_name": "s" * 65},
        {"user_id": "auth0|a3", "email": "a3@example.com", "given_name": "g" * 64, "family_name": "s" * 64},
    ]
    export = tmp_path / "users.ndjson"
    export.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    plan = plan_document(plan_export(export, load_profile("auth0"), tenant=TENANT, types_first=types_first))
    assert plan["by_reason"].get("property_too_long") == 2
    assert plan["valid"] == 1
