"""Legacy password changes during coexistence (the sync's password matrix), checked end to end: the sync applies
a changes.jsonl drop to the tenant emulator and the vault, then the real JIT endpoint answers MigratePassword
for the NEW legacy password and Retry for the old one.

* still flagged for JIT → the vaulted hash is replaced, nothing written in Entra;
* already migrated → JIT re-armed: flag back to true (and a random password), new hash vaulted;
* source without hashes → force a reset (policy `force_reset`), or leave the user alone (`leave`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from jit_rig import FakeTenant, Rig, bcrypt_hash

from cli.run_cmd import execute_run
from cli.sync_cmd import execute_sync
from tests.conftest import settings_for
from tests.sync.conftest import FLAG_ATTR, person, tenant_users, token, write_jsonl

OLD, NEW = "Old-Passw0rd!", "New-Passw0rd!"


def action(body: Any) -> str:
    return str(body["data"]["actions"][0]["@odata.type"]).rsplit(".", 1)[1]


def with_hash(i: int, password: str, **extra: Any) -> dict[str, Any]:
    hashed = bcrypt_hash(password)
    return person(i, password={"hash": {"algorithm": "bcrypt", "value": hashed.value.get_secret_value()}}, **extra)


async def sync_once(emulator: Any, state: Path, drop: Path, **settings: Any) -> dict[str, Any]:
    return await execute_sync("jsonl", settings_for(emulator, state, **settings), feed=str(drop), snapshot=None,
                              every=None, once=True, show_progress=False)  # fmt: skip


def flag_of(emulator: Any, legacy_id: str) -> Any:
    return tenant_users(emulator.base_url)[legacy_id].get(FLAG_ATTR)


def password_profile(emulator: Any, object_id: str) -> dict[str, Any]:
    url = f"{emulator.base_url}/v1.0/users/{object_id}?$select=id,passwordProfile"
    return httpx.get(url, headers={"Authorization": f"Bearer {token()}"}, timeout=10).json()["passwordProfile"]


async def test_password_change_matrix_flagged_migrated_and_no_hash(
    start_emulator: Any, make_rig: Any, tenant: FakeTenant, state_dir: Path, tmp_path: Path
) -> None:
    emulator = start_emulator(time_scale=50)
    records = [with_hash(1, OLD), with_hash(2, OLD), person(3), person(4)]
    export = write_jsonl(tmp_path / "export.jsonl", records)
    run = await execute_run(export, "jsonl", settings_for(emulator, state_dir), show_progress=False)
    assert run.created == 4
    ids = {k: v["id"] for k, v in tenant_users(emulator.base_url).items()}
    rig: Rig = await make_rig()

    # user 2 signs in to Entra with the old password: migrated (the hash is gone, Entra clears the flag)
    status, body = await rig.call(tenant.body(ids["u00002"], OLD))
    assert (status, action(body)) == (200, "MigratePassword")
    httpx.patch(f"{emulator.base_url}/v1.0/users/{ids['u00002']}", json={FLAG_ATTR: False},
                headers={"Authorization": f"Bearer {token()}"}, timeout=10).raise_for_status()  # fmt: skip
    assert flag_of(emulator, "u00001") is True and flag_of(emulator, "u00002") is False

    new1, new2 = with_hash(1, NEW), with_hash(2, NEW)
    drop = write_jsonl(tmp_path / "changes.jsonl", [
        {**new1, "op": "password", "seq": 1}, {**new2, "op": "password", "seq": 2},
        {**person(3), "op": "password", "seq": 3},
    ])  # fmt: skip
    summary = await sync_once(emulator, state_dir, drop)
    assert summary["counters"].get("password_vaulted") == 1 and summary["counters"].get("password_rearmed") == 1
    assert summary["counters"].get("password_reset") == 1, summary["counters"]

    # flagged: nothing written in Entra (still flagged); the JIT endpoint now knows only the new password
    assert flag_of(emulator, "u00001") is True
    # migrated: re-armed, so the next sign-in is checked against the new legacy password
    assert flag_of(emulator, "u00002") is True
    for legacy_id in ("u00001", "u00002"):
        status, body = await rig.call(tenant.body(ids[legacy_id], OLD))
        assert (legacy_id, status, action(body)) == (legacy_id, 200, "Retry")
        status, body = await rig.call(tenant.body(ids[legacy_id], NEW))
        assert (legacy_id, status, action(body)) == (legacy_id, 200, "MigratePassword")

    # no hash, policy force_reset: the user must reset; the JIT endpoint has nothing for them
    assert password_profile(emulator, ids["u00003"])["forceChangePasswordNextSignIn"] is True
    assert flag_of(emulator, "u00003") is False

    # no hash, policy leave: nothing changes
    before = password_profile(emulator, ids["u00004"])
    write_jsonl(drop, [{**person(4), "op": "password", "seq": 4}], append=True)
    left = await sync_once(emulator, state_dir, drop, SYNC_NO_HASH_PASSWORD_POLICY="leave")
    assert left["counters"].get("password_reset") == 1, "leave resets nobody"
    assert password_profile(emulator, ids["u00004"]) == before

    # secrets never at rest in the clear: not in the queue, the ledger or the sync store
    canaries = [reveal_secrets_value(r) for r in (new1, new2)]
    for db in ("migration.db", "sync.db"):
        raw = b"".join(p.read_bytes() for p in state_dir.glob(f"{db}*"))
        assert not any(c.encode() in raw for c in canaries), f"a password hash in {db}"


def reveal_secrets_value(record: dict[str, Any]) -> str:
    return str(record["password"]["hash"]["value"])
