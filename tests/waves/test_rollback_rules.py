"""Rollback deletes only users whose tenant object is the one the run created; what it cannot prove stays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.local.ledger import SqliteLedger
from shared.mapping import MappingOptions
from shared.outcomes import LedgerEntry, Outcome, RunState
from shared.ports import RemovalAnswer
from shared.rollback import Rollback

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
MAPPING = MappingOptions(tenant="contoso.onmicrosoft.com", extensions_app_id="00000000-0000-0000-0000-0000000000ab")
ATTR = MAPPING.extension_name("legacyId")


class Tenant:
    """A tenant at the UserRemoval port: object id → its properties; deletes remove them."""

    def __init__(self, users: dict[str, dict[str, object]], fail_deletes: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.users = users
        self.fail_deletes = fail_deletes
        self.deleted: list[str] = []

    async def read_users(self, object_ids: Sequence[str], select: Sequence[str]) -> dict[str, RemovalAnswer]:
        return {
            oid: RemovalAnswer(object_id=oid, status="ok", properties={k: v for k, v in self.users[oid].items()
                                                                       if k in select})
            if oid in self.users else RemovalAnswer(object_id=oid, status="absent")
            for oid in object_ids
        }  # fmt: skip

    async def delete_users(self, object_ids: Sequence[str]) -> dict[str, RemovalAnswer]:
        out = {}
        for oid in object_ids:
            if oid in self.fail_deletes:
                out[oid] = RemovalAnswer(object_id=oid, status="failed", error_code="HTTP503")
            elif self.users.pop(oid, None) is not None:
                self.deleted.append(oid)
                out[oid] = RemovalAnswer(object_id=oid, status="ok")
            else:
                out[oid] = RemovalAnswer(object_id=oid, status="absent")
        return out


class Vault:
    def __init__(self, held: set[str]) -> None:
        self.held = held

    async def delete(self, object_id: str) -> None:
        self.held.discard(object_id)


async def given_run(tmp_path: Path, created: dict[str, str], mapping: MappingOptions = MAPPING) -> SqliteLedger:
    ledger = SqliteLedger(tmp_path / "m.db")
    await ledger.save_run(RunState(run_id="r1", source="jsonl", export_ref="x", started_at=NOW, mapping=mapping))
    await ledger.record([LedgerEntry(source="jsonl", legacy_id=lid, run_id="r1", outcome=Outcome.CREATED,
                                     object_id=oid, updated_at=NOW) for lid, oid in created.items()])  # fmt: skip
    return ledger


async def test_only_objects_holding_the_ledgers_legacy_id_are_deleted(tmp_path: Path) -> None:
    ledger = await given_run(tmp_path, {"a": "o-a", "b": "o-b", "c": "o-c", "d": "o-d"})
    tenant = Tenant({"o-a": {"id": "o-a", ATTR: "a"}, "o-b": {"id": "o-b", ATTR: "someone-else"},
                     "o-d": {"id": "o-d", ATTR: "d"}}, fail_deletes={"o-d"})  # fmt: skip
    vault = Vault({"o-a", "o-b", "o-c", "o-d"})
    runs = {r.run_id: r for r in await ledger.list_runs()}
    tally = await Rollback(tenant, ledger, vault, runs).apply(await ledger.creations_of(["r1"]), lambda n: None)  # type: ignore[arg-type]
    assert tenant.deleted == ["o-a"]
    assert (tally.deleted, tally.already_gone) == (1, 1)  # o-c: 404 on read and on delete → already gone
    assert [(c.legacy_id, why) for c, why in tally.not_ours] == [("b", f"its {ATTR} is 'someone-else', not 'b'")]
    assert [c.legacy_id for c, _ in tally.failed] == ["d"] and not tally.finished
    assert vault.held == {"o-b", "o-d"}  # hashes go only with the users that went
    assert set(await ledger.get_many("jsonl", ["a", "b", "c", "d"])) == {"b", "d"}
    # run again once Graph answers: d goes too, b stays (not ours)
    tenant.fail_deletes = set()
    again = await Rollback(tenant, ledger, vault, runs).apply(await ledger.creations_of(["r1"]), lambda n: None)  # type: ignore[arg-type]
    assert tenant.deleted == ["o-a", "o-d"] and again.deleted == 1 and len(again.not_ours) == 1


async def test_without_a_legacy_id_attribute_the_creation_time_decides(tmp_path: Path) -> None:
    plain = MappingOptions(tenant=MAPPING.tenant, extensions_app_id=MAPPING.extensions_app_id, legacy_id_attribute=None)
    ledger = await given_run(tmp_path, {"new": "o-new", "old": "o-old"}, plain)
    tenant = Tenant({"o-new": {"id": "o-new", "createdDateTime": "2026-12-02T12:00:05Z"},
                     "o-old": {"id": "o-old", "createdDateTime": "2025-01-01T00:00:00Z"}})  # fmt: skip
    runs = {r.run_id: r for r in await ledger.list_runs()}
    tally = await Rollback(tenant, ledger, None, runs).apply(await ledger.creations_of(["r1"]), lambda n: None)  # type: ignore[arg-type]
    assert tenant.deleted == ["o-new"]
    assert [c.legacy_id for c, _ in tally.not_ours] == ["old"]


async def test_the_syncs_fingerprints_go_with_the_users_a_rollback_deleted(tmp_path: Path) -> None:
    from shared.sync.model import Fingerprint
    from shared.sync.sqlite_store import SqliteSyncStore

    ledger = await given_run(tmp_path, {"a": "o-a", "b": "o-b", "d": "o-d"})
    tenant = Tenant({"o-a": {"id": "o-a", ATTR: "a"}, "o-b": {"id": "o-b", ATTR: "someone-else"},
                     "o-d": {"id": "o-d", ATTR: "d"}}, fail_deletes={"o-d"})  # fmt: skip
    store = SqliteSyncStore(tmp_path / "sync.db")
    for lid in ("a", "b", "d", "untouched"):
        await store.put_fingerprint(Fingerprint(source="jsonl", legacy_id=lid, object_id=f"o-{lid}", updated_at=NOW))
    await store.put_fingerprint(Fingerprint(source="auth0", legacy_id="a", updated_at=NOW))  # another source's "a"
    runs = {r.run_id: r for r in await ledger.list_runs()}
    await Rollback(tenant, ledger, None, runs, store).apply(await ledger.creations_of(["r1"]), lambda n: None)  # type: ignore[arg-type]
    left = {fp.legacy_id async for fp in store.fingerprints("jsonl")}
    assert left == {"b", "d", "untouched"}  # a deleted; b not ours; d's delete failed (redone by the next rollback)
    assert [fp.legacy_id async for fp in store.fingerprints("auth0")] == ["a"]
    store.close()
