"""Long tail against the emulator: the preview counts exactly the users still flagged; applying writes the
policy to each of them, clears the flag and leaves 0 of their hashes in the vault; a second apply does nothing."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.run_cmd import execute_run
from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.bootstrap import open_local_vault
from tests.conftest import SAMPLE, settings_for
from tests.reconcile.tenant_edits import headers, list_users, patch_user

FLAG = f"extension_{DEFAULT_EXTENSIONS_APP_ID.replace('-', '')}_toBeMigrated"


def _export(tmp: Path) -> Path:
    path = tmp / "users.jsonl"
    path.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:60]))
    return path


def _cli(emulator, state: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["longtail", "--state", str(state), "--graph-url", emulator.base_url,
                                      "--tenant", emulator.server.config.tenant, *args])  # fmt: skip
    return result.exit_code, result.output


def _flagged_with_hash(emulator, state: Path) -> set[str]:
    flagged = [u["id"] for u in list_users(emulator.base_url, f"id,{FLAG}") if u.get(FLAG) is True]
    vault = open_local_vault(str(state))
    try:
        return vault.holds_many(flagged)
    finally:
        vault.close()


@pytest.mark.parametrize("policy", ["reset", "email-otp", "disable"])
def test_long_tail_previews_then_applies_the_policy_and_purges_every_hash(start_emulator, tmp_path, policy):
    emulator = start_emulator(time_scale=20)
    state, base = tmp_path / "state", emulator.base_url
    asyncio.run(execute_run(_export(tmp_path), "jsonl", settings_for(emulator, state), show_progress=False))
    waiting = sorted(_flagged_with_hash(emulator, state))
    # Two users migrated by JIT before the deadline: flag cleared and hash deleted, as the JIT endpoint does.
    vault = open_local_vault(str(state))
    for object_id in waiting[:2]:
        patch_user(base, object_id, {FLAG: False})
        asyncio.run(vault.delete(object_id))
    hashes_before = vault.count()
    vault.close()
    still = _flagged_with_hash(emulator, state)
    assert len(still) == len(waiting) - 2 > 5

    code, out = _cli(emulator, state, "--after", "2026-01-01", "--policy", policy, "--dry-run")
    assert code == 0, out
    assert f": {len(still)} users still flagged for JIT would get {policy}" in out
    with (state / "longtail" / f"preview-{policy}.csv").open() as f:
        assert {row["objectId"] for row in csv.DictReader(f)} == still
    assert _flagged_with_hash(emulator, state) == still  # the preview changed nothing

    code, out = _cli(emulator, state, "--after", "2999-01-01", "--policy", policy)
    assert code == 2 and "has not passed" in out

    enabled_before = {u["id"]: u["accountEnabled"] for u in list_users(base, "id,accountEnabled")}
    code, out = _cli(emulator, state, "--after", "2026-01-01", "--policy", policy)
    assert code == 0, out
    assert f"{len(still)} users done" in out
    vault = open_local_vault(str(state))
    assert vault.holds_many(sorted(still)) == set()
    assert vault.count() == hashes_before - len(still)
    vault.close()
    users = {u["id"]: u for u in list_users(base, f"id,accountEnabled,passwordProfile,mail,{FLAG}")}
    for object_id in still:
        user = users[object_id]
        assert user[FLAG] is False
        if policy == "reset":
            assert user["passwordProfile"]["forceChangePasswordNextSignIn"] is True
        elif policy == "disable":
            assert user["accountEnabled"] is False
        else:
            methods = httpx.get(f"{base}/v1.0/users/{object_id}/authentication/emailMethods", headers=headers(),
                                timeout=30).json()["value"]  # fmt: skip
            assert [m["emailAddress"] for m in methods] == [user["mail"]]
    assert {oid: u["accountEnabled"] for oid, u in users.items() if oid not in still} == {
        oid: enabled for oid, enabled in enabled_before.items() if oid not in still}  # the others are untouched

    code, out = _cli(emulator, state, "--after", "2026-01-01", "--policy", policy)
    assert code == 0 and " 0 users done" in out, out

    # Reconcile knows the long tail's changes were intended: a disabled user is not an enabled mismatch.
    js = tmp_path / "reconcile.json"
    result = CliRunner().invoke(app, ["reconcile", str(tmp_path / "users.jsonl"), "--source", "jsonl", "--state",
                                      str(state), "--out", str(tmp_path / "r.html"), "--json", str(js),
                                      "--graph-url", base, "--tenant", emulator.server.config.tenant])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(js.read_text())
    assert report["flagStates"]["jit_migrated"] == len(waiting) and "jit_pending" not in report["flagStates"]
