"""`run` with a [groups] row that maps a legacy role to an app role: every user with the role gets exactly one
appRoleAssignment on the app's service principal, read back through Graph, and the report counts them; a
second run re-sends them all and still leaves one each (Graph's duplicate 400 reads back as in place)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import Cli, run_args

ROLE_ID = "6d1f8a52-2c3b-4a77-9a0e-0c8f1d2e3b4a"
PROFILE = """source = "jsonl"
[groups.map.vip]
group = "VIP customers"
app = "Contoso Shop"
role = "Premium"
"""


def test_app_role_assignments_once_and_counted(tmp_path: Path, emulator_process: Any, cli: Cli) -> None:
    from shared.adapters.graph.client import emulator_token

    emulator = emulator_process(time_scale=100, seed=5)
    graph = httpx.Client(base_url=f"{emulator.base_url}/v1.0", timeout=30,
                         headers={"Authorization": "Bearer " + emulator_token().token})  # fmt: skip
    role = {"id": ROLE_ID, "value": "Premium", "displayName": "Premium", "description": "Premium customers",
            "isEnabled": True, "allowedMemberTypes": ["User"]}  # fmt: skip
    app = graph.post("/applications", json={"displayName": "Contoso Shop", "appRoles": [role]})
    assert app.status_code == 201, app.text
    assert graph.post("/servicePrincipals", json={"appId": app.json()["appId"]}).status_code == 201
    export = tmp_path / "export.jsonl"
    vip = {f"R{i:03d}" for i in range(60) if i % 3 == 0}
    lines = [
        json.dumps({"legacyId": f"R{i:03d}", "email": f"r{i}@example.com", "groups": ["vip"] if i % 3 == 0 else []})
        for i in range(60)
    ]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = tmp_path / "mapping.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    state = tmp_path / "state"
    args = [*run_args(export, emulator, state, time_scale=100, chunk_size=25), "--mapping", str(profile)]
    for _ in range(2):
        done = cli.run(args, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
    legacy_of = {object_id: legacy_id for object_id, legacy_id in emulator.tenant_users()}
    holders: Counter[str] = Counter()
    for object_id, legacy_id in legacy_of.items():
        for assignment in graph.get(f"/users/{object_id}/appRoleAssignments").json()["value"]:
            assert assignment["appRoleId"] == ROLE_ID
            holders[legacy_id] += 1
    assert set(holders) == vip, f"missing {sorted(vip - set(holders))[:5]}, extra {sorted(set(holders) - vip)[:5]}"
    assert max(holders.values()) == 1, "duplicate app-role assignments (want 0)"
    for report_path in sorted((state / "runs").glob("*/report.json")):
        groups = json.loads(report_path.read_text())["groups"]
        assert (groups["app_roles"], groups["memberships"]) == (len(vip), len(vip)), groups
        assert groups["app_roles_failed"] == groups["memberships_failed"] == 0, groups
