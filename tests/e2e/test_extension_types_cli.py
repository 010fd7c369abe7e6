"""One record must not poison the tenant's extension properties (issue: data-integrity defects).

Through `ciam-migrate run` against the tenant emulator, which refuses a value of the wrong type or
beyond the Integer/LargeInteger range as Graph does:
* an attribute typed by most records (`loyaltyTier: 5`) keeps that type; the one record that holds
  `"gold"` is rejected alone with a reason code and the other 20 users arrive;
* a record carrying an attribute named like the product's own (`toBeMigrated`, `legacyId`) is rejected
  alone; the flag keeps its Boolean type;
* a later clean import into the same tenant succeeds;
* a tenant that already holds the property with another type stops the run before any user is sent,
  with one line naming the property, both types and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, EmulatorProcess, run_args, run_dir

TIME_SCALE = 50
CHUNK = 50


def write_users(path: Path, prefix: str, tiers: list[Any], extra: dict[int, dict[str, Any]] | None = None) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i, tier in enumerate(tiers, start=1):
            attributes: dict[str, Any] = {"loyaltyTier": tier, **(extra or {}).get(i, {})}
            record = {"legacyId": f"{prefix}{i:04d}", "email": f"{prefix.lower()}{i}@example.com",
                      "givenName": "Test", "surname": f"User{i}", "attributes": attributes}  # fmt: skip
            fh.write(json.dumps(record) + "\n")
    return path


def rejects(state: Path) -> dict[str, str]:
    lines = (run_dir(state) / "rejects.jsonl").read_text().splitlines()
    return {r["legacyId"]: r["code"] for r in map(json.loads, lines)}


def in_tenant(emulator: EmulatorProcess, prefix: str) -> set[str]:
    return {legacy_id for _, legacy_id in emulator.tenant_users() if legacy_id and legacy_id.startswith(prefix)}


def run(cli: Cli, emulator: EmulatorProcess, export: Path, state: Path) -> Any:
    return cli.run(run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK), timeout=180)


def test_one_record_with_another_type_is_rejected_alone_and_the_rest_arrive(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    # The odd record comes FIRST: the old code took the property's type from the first record seen.
    export = write_users(tmp_path / "mixed.jsonl", "M", ["gold", *range(1, 21)])
    result = run(cli, emulator, export, tmp_path / "state")
    assert rejects(tmp_path / "state") == {"M0001": "attribute_type_mismatch"}, result.stderr[-2000:]
    assert in_tenant(emulator, "M") == {f"M{i:04d}" for i in range(2, 22)}


def test_an_attribute_named_like_the_products_own_is_rejected_alone(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    extra = {1: {"toBeMigrated": "yes"}, 2: {"legacyId": 12345}}
    export = write_users(tmp_path / "reserved.jsonl", "R", list(range(1, 22)), extra)
    result = run(cli, emulator, export, tmp_path / "state")
    assert rejects(tmp_path / "state") == {"R0001": "attribute_reserved", "R0002": "attribute_reserved"}, (
        result.stderr[-2000:]
    )
    assert in_tenant(emulator, "R") == {f"R{i:04d}" for i in range(3, 22)}


def test_a_clean_import_after_a_poisoned_one_still_succeeds(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    poisoned = write_users(tmp_path / "poisoned.jsonl", "P", ["gold", *range(1, 21)], {3: {"toBeMigrated": 1}})
    run(cli, emulator, poisoned, tmp_path / "first")
    clean = write_users(tmp_path / "clean.jsonl", "C", list(range(1, 11)))
    result = run(cli, emulator, clean, tmp_path / "second")
    assert result.returncode == 0, result.stderr[-2000:]
    assert rejects(tmp_path / "second") == {}
    assert in_tenant(emulator, "C") == {f"C{i:04d}" for i in range(1, 11)}


def test_a_property_of_another_type_in_the_tenant_is_one_preflight_error(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    strings = write_users(tmp_path / "strings.jsonl", "S", ["gold"] * 5)
    assert run(cli, emulator, strings, tmp_path / "first").returncode == 0
    numbers = write_users(tmp_path / "numbers.jsonl", "N", list(range(1, 22)))
    result = run(cli, emulator, numbers, tmp_path / "second")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    line = errors[0]
    assert "_loyaltyTier" in line and "String" in line and "Integer" in line
    assert 'type = "String"' in line  # the fix
    assert in_tenant(emulator, "N") == set()  # nothing was sent
