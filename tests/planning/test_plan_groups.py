"""`plan` with a [groups] table: every legacy group is shown mapped (to a group and/or an app role), ignored or
unmapped — never dropped — and the estimate counts the membership and app-role writes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.planning.test_plan import app

PROFILE = """source = "jsonl"
[groups]
ignore = ["everyone"]
[groups.map.admins]
group = "Shop admins"
[groups.map.premium]
group = "Premium customers"
app = "Contoso Shop"
role = "Premium"
"""


def _export(path: Path) -> None:
    rows = [
        ["admins", "premium"], ["premium"], ["premium", "everyone"], ["legacy-only"], ["legacy-only", "admins"], [],
    ]  # fmt: skip
    with path.open("w", encoding="utf-8") as fh:
        for i, groups in enumerate(rows):
            fh.write(json.dumps({"legacyId": f"p{i}", "email": f"p{i}@example.com", "groups": groups}) + "\n")


def test_plan_shows_mapped_ignored_and_unmapped_groups_and_counts_their_writes(tmp_path: Path) -> None:
    export, profile = tmp_path / "export.jsonl", tmp_path / "mapping.toml"
    _export(export)
    profile.write_text(PROFILE, encoding="utf-8")
    result = CliRunner().invoke(
        app(), ["plan", str(export), "--source", "jsonl", "--mapping", str(profile), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "plan.json").read_text())
    groups = doc["groups"]
    assert groups["mapping"] == {
        "premium": {"users": 3, "maps_to": "group 'Premium customers' + app role 'Premium' of 'Contoso Shop'"},
        "admins": {"users": 2, "maps_to": "group 'Shop admins'"},
        "legacy-only": {"users": 2, "maps_to": "unmapped"},
        "everyone": {"users": 1, "maps_to": "ignored"},
    }
    assert groups["unmapped"] == {"legacy-only": 2}
    assert (groups["memberships"], groups["app_roles"]) == (5, 3)
    by_kind = doc["estimate"]["writes_by_kind"]
    assert (by_kind["group memberships"], by_kind["app-role assignments"], by_kind["groups created"]) == (5, 3, 2)
    assert doc["estimate"]["writes"] == 6 + 2 + 5 + 3 + 2  # users, extension properties, memberships, roles, groups
    features = {row["feature"]: row["users"] for row in doc["does_not_map"]}
    assert features["legacy group 'legacy-only' (not in the profile's groups.map)"] == 2
    html = (tmp_path / "plan.html").read_text()
    assert "legacy group / role" in html and "unmapped" in html and "Premium customers" in html
    assert "5 memberships, 3 app roles; 1 legacy groups unmapped" in " ".join(result.stdout.split())


def test_a_row_that_maps_to_nothing_names_its_key(tmp_path: Path) -> None:
    profile = tmp_path / "mapping.toml"
    profile.write_text('[groups.map.admins]\napp = "Contoso Shop"\n', encoding="utf-8")
    export = tmp_path / "export.jsonl"
    _export(export)
    result = CliRunner().invoke(app(), ["plan", str(export), "--source", "jsonl", "--mapping", str(profile)])
    assert result.exit_code != 0
    assert "groups.map.admins" in result.output and "'app' and 'role' go together" in result.output
