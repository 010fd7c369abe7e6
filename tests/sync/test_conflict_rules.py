"""Conflict rules (docs/sync.md): legacy wins while Entra still holds what we last wrote; an Entra-side edit of a
field legacy didn't change stays; when both changed, the rule decides and the conflict is recorded with both
values; a legacy disable and delete always apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from cli.run_cmd import execute_run
from cli.sync_cmd import execute_sync
from shared.sync.sqlite_store import SqliteSyncStore
from tests.conftest import settings_for
from tests.sync.conftest import person, tenant_users, token, write_jsonl


class Rig:
    def __init__(self, emulator: Any, tmp: Path) -> None:
        self.emulator, self.state, self.drop, self.seq = emulator, tmp / "state", tmp / "changes.jsonl", 0
        self.drop.write_text("")

    async def sync(self, *records: dict[str, Any], op: str = "update", **settings: Any) -> dict[str, Any]:
        lines = []
        for record in records:
            self.seq += 1
            lines.append({**record, "op": op, "seq": self.seq})
        write_jsonl(self.drop, lines, append=True)
        return await execute_sync("jsonl", settings_for(self.emulator, self.state, **settings), feed=str(self.drop),
                                  snapshot=None, every=None, once=True, show_progress=False)  # fmt: skip

    def entra_edit(self, legacy_id: str, **properties: Any) -> None:
        object_id = tenant_users(self.emulator.base_url)[legacy_id]["id"]
        httpx.patch(f"{self.emulator.base_url}/v1.0/users/{object_id}", json=properties,
                    headers={"Authorization": f"Bearer {token()}"}, timeout=10).raise_for_status()  # fmt: skip

    def user(self, legacy_id: str) -> dict[str, Any]:
        return tenant_users(self.emulator.base_url)[legacy_id]

    async def conflicts(self) -> list[Any]:
        store = SqliteSyncStore(self.state / "sync.db")
        try:
            return await store.conflicts("jsonl")
        finally:
            store.close()


async def rig_with_users(start_emulator: Any, tmp_path: Path, n: int) -> Rig:
    emulator = start_emulator(time_scale=50)
    rig = Rig(emulator, tmp_path)
    export = write_jsonl(tmp_path / "export.jsonl", [person(i) for i in range(n)])
    await execute_run(export, "jsonl", settings_for(emulator, rig.state), show_progress=False)
    return rig


async def test_entra_edits_of_fields_legacy_did_not_change_stay(start_emulator, tmp_path):
    rig = await rig_with_users(start_emulator, tmp_path, 1)
    await rig.sync(person(0, givenName="First"))
    rig.entra_edit("u00000", surname="EditedInEntra")
    await rig.sync(person(0, givenName="Second"))
    user = rig.user("u00000")
    assert (user["givenName"], user["surname"]) == ("Second", "EditedInEntra")
    assert await rig.conflicts() == []


async def test_both_changed_before_cutover_legacy_wins_and_the_conflict_is_recorded(start_emulator, tmp_path):
    rig = await rig_with_users(start_emulator, tmp_path, 1)
    await rig.sync(person(0, givenName="First"))
    rig.entra_edit("u00000", surname="EditedInEntra")
    summary = await rig.sync(person(0, givenName="First", surname="EditedInLegacy"))
    assert rig.user("u00000")["surname"] == "EditedInLegacy"
    [conflict] = await rig.conflicts()
    assert (conflict.field, conflict.legacy_value, conflict.entra_value, conflict.resolution) == (
        "surname", "EditedInLegacy", "EditedInEntra", "legacy")  # fmt: skip
    assert summary["conflicts"] == 1


async def test_after_cutover_entra_wins_profile_fields_but_disable_and_delete_apply(start_emulator, tmp_path):
    rig = await rig_with_users(start_emulator, tmp_path, 2)
    cutover = {"SYNC_CUTOVER_AT": datetime.now(UTC) - timedelta(hours=1)}
    await rig.sync(person(0), person(1), **cutover)
    rig.entra_edit("u00000", surname="Self-service")
    await rig.sync(person(0, surname="Legacy-side", disabled=True), **cutover)
    user = rig.user("u00000")
    assert user["surname"] == "Self-service", "Entra wins a profile conflict after cutover"
    assert user["accountEnabled"] is False, "a legacy disable always applies"
    [conflict] = await rig.conflicts()
    assert (conflict.resolution, conflict.entra_value, conflict.legacy_value) == ("entra", "Self-service",
                                                                                "Legacy-side")  # fmt: skip
    await rig.sync({"legacyId": "u00001"}, op="delete", **cutover)
    assert "u00001" not in tenant_users(rig.emulator.base_url), "a legacy delete always applies"


async def test_rule_entra_wins_keeps_entra_and_legacy_wins_overrides(start_emulator, tmp_path):
    rig = await rig_with_users(start_emulator, tmp_path, 2)
    await rig.sync(person(0), person(1))
    rig.entra_edit("u00000", displayName="Entra Zero")
    rig.entra_edit("u00001", displayName="Entra One")
    await rig.sync(person(0, displayName="Legacy Zero"), SYNC_CONFLICT_RULE="entra_wins")
    await rig.sync(person(1, displayName="Legacy One"), SYNC_CONFLICT_RULE="legacy_wins",
                   SYNC_CUTOVER_AT=datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    assert rig.user("u00000")["displayName"] == "Entra Zero"
    assert rig.user("u00001")["displayName"] == "Legacy One"
    assert sorted(c.resolution for c in await rig.conflicts()) == ["entra", "legacy"]


async def test_delete_policy_disable_disables_instead(start_emulator, tmp_path):
    rig = await rig_with_users(start_emulator, tmp_path, 1)
    await rig.sync({"legacyId": "u00000"}, op="delete", SYNC_DELETE_POLICY="disable")
    assert rig.user("u00000")["accountEnabled"] is False
