"""Reconcile after an import against the emulator: exactly the differences an administrator made, nothing else."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from cli.run_cmd import execute_run
from tests.conftest import SAMPLE, emulator_stats, set_faults, settings_for
from tests.reconcile.tenant_edits import create_foreign_user, delete_user, list_users, patch_user

LEGACY_USERS = 244  # samples/users.jsonl: 250 records, 6 rejected by the import (and by reconcile)


def _import(emulator, state: Path) -> None:
    run = asyncio.run(execute_run(SAMPLE, "jsonl", settings_for(emulator, state), show_progress=False))
    assert run.created == LEGACY_USERS


def _reconcile(emulator, state: Path, tmp: Path) -> tuple[int, dict, str]:
    out, js = tmp / "reconcile.html", tmp / "reconcile.json"
    result = CliRunner().invoke(app, [
        "reconcile", str(SAMPLE), "--source", "jsonl", "--state", str(state), "--out", str(out), "--json", str(js),
        "--graph-url", emulator.base_url, "--tenant", emulator.server.config.tenant,
    ])  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(js.read_text()), out.read_text()


def test_untouched_import_reconciles_with_no_differences(start_emulator, tmp_path):
    emulator = start_emulator(time_scale=20)
    _import(emulator, tmp_path / "state")
    code, report, page = _reconcile(emulator, tmp_path / "state", tmp_path)
    assert code == 0
    assert report["differences"] == 0 and report["differenceList"] == []
    assert report["legacyUsers"] == report["tenantUsers"] == report["matchedUsers"] == LEGACY_USERS
    assert report["legacyRejected"] == 6
    assert sum(report["flagStates"].values()) == LEGACY_USERS
    assert report["flagStates"].get("jit_pending", 0) > 0  # the sample's hashed users wait for JIT
    assert "No differences" in page and "<svg" in page and "<script" not in page


def test_reconcile_reports_exactly_the_37_changed_5_deleted_and_3_foreign_users(start_emulator, tmp_path):
    emulator = start_emulator(time_scale=20)
    state, base = tmp_path / "state", emulator.base_url
    _import(emulator, state)
    users = sorted(list_users(base, "id,displayName,surname,accountEnabled"), key=lambda u: u["id"])
    assert len(users) == LEGACY_USERS
    made: set[tuple[str, str, str | None]] = set()
    for user in users[:25]:
        patch_user(base, user["id"], {"displayName": user["displayName"] + " (edited)"})
        made.add(("field_mismatch", user["id"], "displayName"))
    for user in users[25:30]:
        patch_user(base, user["id"], {"surname": "Changed-in-Entra"})
        made.add(("field_mismatch", user["id"], "surname"))
    for user in users[30:37]:
        patch_user(base, user["id"], {"accountEnabled": not user["accountEnabled"]})
        made.add(("enabled_mismatch", user["id"], "accountEnabled"))
    for user in users[37:42]:
        delete_user(base, user["id"])
        made.add(("missing_in_target", user["id"], None))
    tenant = emulator.server.config.tenant
    for n in range(3):
        made.add(("orphan_not_ours", create_foreign_user(base, tenant, f"foreign{n}@example.org"), None))

    code, report, page = _reconcile(emulator, state, tmp_path)

    assert code == 1
    found = {(d["kind"], d["objectId"], d.get("field")) for d in report["differenceList"]}
    assert report["differences"] == len(report["differenceList"]) == 45
    assert found == made
    assert report["byKind"] == {"field_mismatch": 30, "enabled_mismatch": 7, "missing_in_target": 5,
                                "orphan_not_ours": 3}  # fmt: skip
    assert report["usersWithDifferences"] == 45
    edited = next(d for d in report["differenceList"] if d["field"] == "displayName")
    assert edited["actual"] == edited["expected"] + " (edited)"
    assert "45 differences" in page


def test_reconcile_reads_through_5xx_on_its_pages_and_still_finds_nothing(start_emulator, tmp_path):
    emulator = start_emulator(time_scale=20, seed=11)
    _import(emulator, tmp_path / "state")
    before = emulator_stats(emulator)["faults"]["injected"]
    set_faults(emulator, **{"503": 0.3, "500": 0.2, "seed": 11})  # reseeded: the same draws whatever the import sent
    code, report, _ = _reconcile(emulator, tmp_path / "state", tmp_path)
    injected = emulator_stats(emulator)["faults"]["injected"]
    assert sum(injected.values()) > sum(before.values()), injected  # some page reads really failed
    assert code == 0 and report["differences"] == 0
    assert report["tenantUsers"] == report["matchedUsers"] == LEGACY_USERS
