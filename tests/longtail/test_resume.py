"""apply_long_tail resumes after a crash at any step (fakes at the PolicyWriter and vault ports, a real journal)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from shared.longtail import LongTailJournal, LongTailUser, apply_long_tail
from shared.sync.errors import GraphBusy

FLAG = "extension_x_toBeMigrated"
USERS = [LongTailUser(f"oid-{n:03d}", f"u{n}", f"u{n}@example.org", None) for n in range(30)]


class Crash(BaseException):
    """The process dies here (kill -9). Raised inside asyncio.run, which then cancels every other task at its
    next await, so no step of another user runs after it either."""


class Tenant:
    def __init__(self, crash_after_patches: int | None = None, busy: set[str] | None = None) -> None:
        self.patches: dict[str, list[dict[str, Any]]] = {}
        self.emails: dict[str, str] = {}
        self.crash_after = crash_after_patches
        self.busy = busy or set()

    async def update_user(self, object_id: str, patch: dict[str, Any]) -> None:
        await asyncio.sleep(0.001)  # a Graph call suspends: other users' steps interleave with it
        if object_id in self.busy:
            raise GraphBusy("429 after 5 tries")
        self.patches.setdefault(object_id, []).append(patch)
        if self.crash_after is not None and sum(map(len, self.patches.values())) >= self.crash_after:
            raise Crash

    async def ensure_email_method(self, object_id: str, address: str) -> None:
        self.emails.setdefault(object_id, address)


class Vault:
    def __init__(self, ids: Sequence[str], crash_on: str | None = None) -> None:
        self.ids = set(ids)
        self.crash_on = crash_on

    async def delete(self, object_id: str) -> None:
        await asyncio.sleep(0)
        self.ids.discard(object_id)
        if object_id == self.crash_on:
            self.crash_on = None
            raise Crash  # deleted, but the journal never heard


async def _pages(users: Sequence[LongTailUser]) -> AsyncIterator[list[LongTailUser]]:
    yield list(users)


def _still_flagged(vault: Vault) -> list[LongTailUser]:
    """What find_long_tail yields on a re-run: users whose flag is still true and hash still vaulted."""
    return [u for u in USERS if u.object_id in vault.ids]


def _apply(users: Sequence[LongTailUser], policy: str, tenant: Tenant, vault: Vault, journal: LongTailJournal):
    return asyncio.run(apply_long_tail(_pages(users), policy, FLAG, tenant, vault, journal))  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", ["reset", "email-otp", "disable"])
def test_a_crash_mid_patch_then_a_rerun_leaves_every_user_done_and_no_hash(tmp_path: Path, policy: str):
    vault = Vault([u.object_id for u in USERS])
    journal = LongTailJournal(tmp_path / "longtail.db")
    crashing = Tenant(crash_after_patches=12)
    with pytest.raises(Crash):
        _apply(USERS, policy, crashing, vault, journal)
    assert 0 < len(USERS) - len(vault.ids) < len(USERS)  # some purged before the crash, not all

    tenant = Tenant()
    tenant.patches = crashing.patches
    tenant.emails = crashing.emails
    # The re-run's tenant listing no longer shows the patched users as flagged: the journal carries them.
    flagged = [u for u in _still_flagged(vault) if u.object_id not in crashing.patches]
    outcome = _apply(flagged, policy, tenant, vault, journal)

    assert vault.ids == set()
    assert set(tenant.patches) == {u.object_id for u in USERS}
    assert all(p[-1][FLAG] is False for p in tenant.patches.values())
    assert journal.counts() == {policy: {"purged": len(USERS)}}
    assert outcome.busy == 0 and outcome.refused == {}
    if policy == "email-otp":
        assert tenant.emails == {u.object_id: u.email for u in USERS}
    journal.close()


def test_a_crash_between_vault_delete_and_journal_and_graph_busy_both_finish_on_the_next_run(tmp_path: Path):
    vault = Vault([u.object_id for u in USERS], crash_on=USERS[5].object_id)
    journal = LongTailJournal(tmp_path / "longtail.db")
    with pytest.raises(Crash):
        _apply(USERS, "reset", Tenant(), vault, journal)
    assert journal.open_count() > 1  # the crash stopped the others too
    busy = Tenant(busy={USERS[20].object_id})
    first = _apply([], "reset", busy, vault, journal)
    assert first.busy == 1 and USERS[20].object_id in vault.ids
    assert journal.open_count() == 1
    second = _apply([], "reset", Tenant(), vault, journal)
    assert second.purged == 1 and vault.ids == set() and journal.open_count() == 0
    journal.close()
