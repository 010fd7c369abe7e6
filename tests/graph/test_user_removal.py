"""GraphUserRemoval against the emulator: DELETE /users/{id} through $batch under injected 503s and throttling;
a second delete of the same ids answers 404 (already gone), and the users wait in deleted items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from shared.adapters.graph.client import emulator_token
from shared.adapters.graph.lanes import build_directory
from shared.adapters.graph.removal import GraphUserRemoval
from tests.conftest import emulator_stats, set_faults, settings_for

USERS = 60


def create(emulator: Any, n: int) -> list[str]:
    headers = {"Authorization": "Bearer " + emulator_token().token}
    ids = []
    for i in range(n):
        body = {"displayName": f"R {i}", "accountEnabled": True,
                "identities": [{"signInType": "emailAddress", "issuer": emulator.server.config.tenant,
                                "issuerAssignedId": f"r{i}@example.com"}],
                "passwordProfile": {"password": "Str0ng-Pass-1!", "forceChangePasswordNextSignIn": False},
                "passwordPolicies": "DisablePasswordExpiration"}  # fmt: skip
        answer = httpx.post(f"{emulator.base_url}/v1.0/users", json=body, headers=headers, timeout=10)
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    return ids


async def test_deletes_finish_under_503s_and_a_repeat_is_already_gone(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(time_scale=100)
    ids = create(emulator, USERS)
    set_faults(emulator, **{"503": 0.3, "seed": 3})
    directory = build_directory(settings_for(emulator, tmp_path, SHARED_QUOTA=False))
    removal = GraphUserRemoval(directory)
    try:
        read = await removal.read_users(ids, ["id", "createdDateTime"])
        assert {a.status for a in read.values()} == {"ok"} and all(a.properties["id"] == oid for oid, a in read.items())
        first = await removal.delete_users(ids)
        assert {a.status for a in first.values()} <= {"ok", "absent"}  # a retried 503'd delete may meet 404
        assert sum(a.status == "ok" for a in first.values()) >= 1
        assert emulator_stats(emulator)["users"] == 0
        set_faults(emulator)
        again = await removal.delete_users(ids)
        assert {a.status for a in again.values()} == {"absent"}
        reread = await removal.read_users(ids[:5], ["id"])
        assert {a.status for a in reread.values()} == {"absent"}
    finally:
        await directory.close()
    headers = {"Authorization": "Bearer " + emulator_token().token}
    restorable = httpx.get(f"{emulator.base_url}/v1.0/directory/deletedItems/{ids[0]}", headers=headers, timeout=10)
    assert restorable.status_code == 200 and restorable.json()["id"] == ids[0]


class CountingBudget:
    """The tenant-wide budget, counting the writes taken from it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.taken = 0

    async def acquire(self, n: int) -> None:
        self.taken += n
        await self.inner.acquire(n)

    def block_for(self, seconds: float) -> None:
        self.inner.block_for(seconds)


async def test_deletes_draw_on_the_write_quota_and_reads_do_not(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(time_scale=100)
    ids = create(emulator, USERS)
    directory = build_directory(settings_for(emulator, tmp_path, SHARED_QUOTA=False))
    budget = directory.tenant_budget = CountingBudget(directory.tenant_budget)
    removal = GraphUserRemoval(directory)
    try:
        await removal.read_users(ids, ["id"])
        assert budget.taken == 0
        answers = await removal.delete_users(ids)
    finally:
        await directory.close()
    assert [a.status for a in answers.values()] == ["ok"] * USERS
    assert budget.taken == USERS and emulator_stats(emulator)["users"] == 0
