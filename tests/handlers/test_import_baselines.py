"""import_chunk leaves the coexistence sync a baseline: given a chunk, when it is imported, then every user it
created — answered created, linked after an ambiguous retry, or found at give-up — has the fingerprint of exactly
what was sent (the sync's own `written_fingerprint`) in the sync store, and nobody else has one: not a rejected
user, not someone else's already-present user. The baseline is written before the ledger says created, so a store
failure leaves the users open and their redo records it.

Fake tenant and ledger (ports); the sync store is the real SqliteSyncStore.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from shared.handlers.import_chunk import import_chunk
from shared.mapping import MappingReject, map_user
from shared.messages import ChunkImported, ImportChunk
from shared.outcomes import Outcome
from shared.records import LegacyUser, ObjectIdentity
from shared.sync.baseline import ImportBaselines
from shared.sync.fingerprint import Digester, written_fingerprint
from shared.sync.model import Fingerprint
from shared.sync.sqlite_store import SqliteSyncStore
from tests.fakes import FakePorts
from tests.handlers.conftest import MAPPING, WORKFLOW, given_chunk, user

DIGESTER = Digester(b"k" * 32)


class FailingOnce(SqliteSyncStore):
    """A sync store whose first batch of baselines fails (Table Storage down for a moment)."""

    failed = False

    async def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("sync store unavailable")
        await super().put_fingerprints(fingerprints)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteSyncStore]:
    sqlite = SqliteSyncStore(tmp_path / "sync.db")
    yield sqlite
    sqlite.close()


async def baselines(store: SqliteSyncStore) -> dict[str, Fingerprint]:
    return {fp.legacy_id: fp async for fp in store.fingerprints("jsonl")}


def expected(fake: FakePorts, legacy: LegacyUser) -> Fingerprint:
    """The fingerprint the sync would make of this user written as the ledger's object id."""
    entry = fake.ledger.entries[("jsonl", legacy.legacy_id)]
    target = map_user(legacy, MAPPING)
    assert not isinstance(target, MappingReject) and entry.object_id is not None
    return written_fingerprint(DIGESTER, MAPPING, "jsonl", legacy, target, entry.object_id, fake.clock.now())


async def test_only_the_users_a_chunk_created_get_the_fingerprint_of_what_was_sent(store: SqliteSyncStore) -> None:
    fake = FakePorts(baselines=ImportBaselines(store, DIGESTER))
    users = [user("u1", givenName="Ada"), user("u2"), user("u3"), user("u4"), user("u5", password=None)]
    fake.directory.script("u2", "rejected")
    fake.directory.script("u3", "commit-then-conflict")  # our create committed; the retry conflicts: ours
    fake.directory.add_existing(ObjectIdentity(sign_in_type="emailAddress", issuer="contoso.onmicrosoft.com",
                                               issuer_assigned_id="u4@example.com"))  # fmt: skip

    (out,) = await import_chunk(await given_chunk(fake, users), fake.ports, WORKFLOW)

    assert isinstance(out.payload, ChunkImported), out
    assert (out.payload.created, out.payload.already_present, out.payload.failed) == (3, 1, 1)
    found = await baselines(store)
    assert set(found) == {"u1", "u3", "u5"}  # not the rejected u2, not someone else's u4
    for legacy in (users[0], users[2], users[4]):
        assert found[legacy.legacy_id] == expected(fake, legacy)
    assert found["u1"].flagged is True and found["u1"].password is not None  # a hash: JIT-flagged
    assert found["u5"].password is None and found["u5"].seq is None


async def test_a_user_found_at_give_up_is_ours_and_gets_a_baseline(store: SqliteSyncStore) -> None:
    fake = FakePorts(baselines=ImportBaselines(store, DIGESTER))
    fake.directory.script("u1", *["commit-then-throttled"] + ["throttled"] * (WORKFLOW.max_attempts - 1))
    command: ImportChunk = await given_chunk(fake, [user("u1")])
    for _ in range(WORKFLOW.max_attempts):
        (out,) = await import_chunk(command, fake.ports, WORKFLOW)
        if not isinstance(out.payload, ImportChunk):
            break
        command = out.payload
    assert fake.ledger.entries[("jsonl", "u1")].outcome == Outcome.CREATED
    assert set(await baselines(store)) == {"u1"}


async def test_a_failed_baseline_write_leaves_the_users_open_and_their_redo_records_it(tmp_path: Path) -> None:
    store = FailingOnce(tmp_path / "sync.db")
    try:
        fake = FakePorts(baselines=ImportBaselines(store, DIGESTER))
        command = await given_chunk(fake, [user("u1"), user("u2")])
        with pytest.raises(ConnectionError):
            await import_chunk(command, fake.ports, WORKFLOW)
        assert {e.outcome for e in fake.ledger.entries.values()} == {Outcome.PENDING}  # not created without one
        (out,) = await import_chunk(command, fake.ports, WORKFLOW)  # the redelivery: conflicts, linked as ours
        assert isinstance(out.payload, ChunkImported) and out.payload.created == 2, out
        assert set(await baselines(store)) == {"u1", "u2"}
        assert len(fake.directory.created_by("u1")) == 1  # still created once
    finally:
        store.close()


async def test_without_a_baseline_port_the_import_runs_as_before(store: SqliteSyncStore) -> None:
    fake = FakePorts()
    (out,) = await import_chunk(await given_chunk(fake, [user("u1")]), fake.ports, WORKFLOW)
    assert isinstance(out.payload, ChunkImported) and out.payload.created == 1
    assert await baselines(store) == {}
