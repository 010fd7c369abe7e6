"""`run`'s constraint check reads the export once when its bounds rule every blocker out, and plans it in full
otherwise: either way its lines are exactly those of the full plan (`plan`'s constraints)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.run_cmd import constraint_blockers
from shared.planning import plan_document, plan_export
from shared.planning.constraints import blocker_line, cannot_block, unaccepted_blockers
from shared.planning.run import export_bounds
from shared.profiles import load_profile

TENANT = "contoso.onmicrosoft.com"


def write_export(path: Path, users: int, attributes: int, *, rejected: int = 0, wide: int = 0) -> Path:
    """`users` valid users with `attributes` custom attributes each (names shared), `rejected` with a bad email,
    and one more user carrying `wide` further attribute names of its own."""
    lines = []
    for i in range(users + rejected):
        email = f"user{i}@example.com" if i < users else f"not-an-email-{i}"
        attrs = {f"a{k}": f"v{i}" for k in range(attributes)}
        lines.append({"legacyId": f"u{i}", "email": email, "attributes": attrs})
    if wide:
        extra = {f"w{k}": "x" for k in range(wide)}
        lines.append({"legacyId": "wide", "email": "wide@example.com", "attributes": extra})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def full_plan_lines(export: Path, quota: int) -> list[str]:
    profile = load_profile("jsonl", None)
    doc = plan_document(plan_export(export, profile, tenant=TENANT), object_quota=quota)
    return [blocker_line(b) for b in unaccepted_blockers(doc["constraints"], [])]


@pytest.mark.parametrize(
    ("users", "attributes", "rejected", "wide", "quota"),
    [
        (20, 3, 0, 0, 21),  # under every limit: one read
        (20, 3, 0, 0, 20),  # the quota reached
        (20, 3, 5, 0, 21),  # more records than the quota allows, but the bad ones are not imported
        (20, 3, 5, 0, 24),
        (5, 97, 0, 0, 100),  # 97 + flag + legacy id = 99 on one user
        (5, 98, 0, 0, 100),  # 100: at the limit
        (5, 99, 0, 0, 100),  # 101: over
        (5, 3, 0, 95, 100),  # many names across users, few on any one
        (5, 3, 0, 96, 100),
    ],
)
def test_the_check_says_what_the_full_plan_says(
    tmp_path: Path, users: int, attributes: int, rejected: int, wide: int, quota: int
) -> None:
    export = write_export(tmp_path / "users.jsonl", users, attributes, rejected=rejected, wide=wide)
    profile = load_profile("jsonl", None)
    assert constraint_blockers(export, profile, None, quota, []) == full_plan_lines(export, quota)


def test_the_bounds_are_read_off_every_record(tmp_path: Path) -> None:
    export = write_export(tmp_path / "users.jsonl", 10, 4, rejected=2, wide=7)
    assert export_bounds(export, load_profile("jsonl", None)) == (13, 7, 11)
    assert cannot_block(13, 7, 11, quota=14) and not cannot_block(13, 7, 11, quota=13)
    assert not cannot_block(1, 99, 0, quota=10) and not cannot_block(1, 0, 99, quota=10)
