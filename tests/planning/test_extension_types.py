"""Extension property types come from the mapping profile, never from one record (issue: data-integrity defects).

* declared types are final; undeclared ones are inferred over the WHOLE export, so the first record
  cannot decide the type for everyone, and the record that does not fit is rejected alone;
* names the product writes itself (toBeMigrated, legacyId) are refused at profile load, and an export
  attribute carrying one is a per-record reject;
* integers beyond Integer's 32 bits / LargeInteger's 64 bits, and emails with a dot at either end of
  the local part (or two in a row), are rejected by `plan` and by the run alike — exactly what the
  emulator refuses, as Graph does;
* `plan` (one read or two) and the run's plan stage agree line by line; both read the export once
  unless an attribute's values need two dataTypes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulator.extensions import _value_ok
from emulator.validation import is_email
from shared.mapping import MappingOptions, extension_properties_for
from shared.planning import plan_export
from shared.preflight import check_email, value_fits
from shared.profiles import ProfileError, load_profile
from tests.planning.test_plan_run_agree import EXTENSIONS_APP, TENANT, plan_verdicts, run_plan_reads, run_verdicts


def write_jsonl(path: Path, attributes: list[dict[str, Any]], emails: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i, attrs in enumerate(attributes, start=1):
            email = emails[i - 1] if emails else f"u{i}@example.com"
            fh.write(json.dumps({"legacyId": f"id{i}", "email": email, "attributes": attrs}) + "\n")
    return path


def write_auth0(path: Path, attributes: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i, attrs in enumerate(attributes, start=1):
            fh.write(json.dumps({"user_id": f"auth0|{i:024x}", "email": f"u{i}@example.com",
                                 "user_metadata": attrs}) + "\n")  # fmt: skip
    return path


def verdicts(source: str, export: Path, tmp_path: Path, mapping_text: str = "") -> dict[int, str]:
    """The run's plan-stage verdicts, after asserting `plan`'s agree with them."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(mapping_text)
    run = run_verdicts(source, export, mapping)
    assert plan_verdicts(source, export, mapping, sorted(run)) == run
    reference = plan_export(export, load_profile(source, mapping), tenant=TENANT, types_first=True)
    assert {r["line"]: r["reason"] for r in reference.inventory.rejects} == {
        line: code for line, code in run.items() if code != "valid"
    }
    return run


@pytest.mark.parametrize("write", [write_jsonl, write_auth0])
def test_one_record_with_another_type_is_rejected_alone_whatever_its_place(write: Any, tmp_path: Path) -> None:
    for odd_line in (1, 11, 21):
        tiers: list[Any] = list(range(1, 21))
        tiers.insert(odd_line - 1, "gold")
        source = "jsonl" if write is write_jsonl else "auth0"
        run = verdicts(source, write(tmp_path / "export", [{"loyaltyTier": t} for t in tiers]), tmp_path)
        assert {line: code for line, code in run.items() if code != "valid"} == {odd_line: "attribute_type_mismatch"}


def test_a_declared_type_wins_over_the_majority(tmp_path: Path) -> None:
    export = write_jsonl(tmp_path / "export", [{"loyaltyTier": 5}, {"loyaltyTier": 6}, {"loyaltyTier": "gold"}])
    run = verdicts("jsonl", export, tmp_path, '[attributes.loyaltyTier]\nsource = "loyaltyTier"\ntype = "String"\n')
    assert run == {1: "attribute_type_mismatch", 2: "attribute_type_mismatch", 3: "valid"}


def test_an_export_attribute_named_like_the_products_own_is_rejected_alone(tmp_path: Path) -> None:
    export = write_jsonl(tmp_path / "export", [{"toBeMigrated": "yes"}, {"LegacyId": 7}, {"tier": "a"}])
    assert verdicts("jsonl", export, tmp_path) == {1: "attribute_reserved", 2: "attribute_reserved", 3: "valid"}


@pytest.mark.parametrize(
    "mapping_text",
    [
        '[attributes.toBeMigrated]\nsource = "x"\ntype = "String"\n',
        '[attributes.legacyId]\nsource = "x"\n',
        '[target.attribute_renames]\ntier = "toBeMigrated"\n',
        '[target]\nflag_attribute = "migrateMe"\n[target.attribute_renames]\ntier = "MIGRATEME"\n',
    ],
)
def test_a_profile_that_lands_an_attribute_on_a_reserved_name_is_refused_at_load(
    mapping_text: str, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(mapping_text)
    with pytest.raises(ProfileError, match="reserved"):
        load_profile("jsonl", mapping)


def test_the_product_properties_keep_their_own_types_whatever_the_records_hold() -> None:
    options = MappingOptions(tenant=TENANT, extensions_app_id=EXTENSIONS_APP)
    wanted = extension_properties_for({"toBeMigrated": "yes", "legacyId": 5, "tier": 3}, options)
    assert wanted == {
        options.extension_name("toBeMigrated"): "Boolean",
        options.extension_name("legacyId"): "String",
        options.extension_name("tier"): "Integer",
    }


BOUNDARIES = [0, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, True, "5"]


@pytest.mark.parametrize("data_type", ["Integer", "LargeInteger", "String", "Boolean"])
def test_preflight_takes_exactly_the_values_the_emulator_stores(data_type: str) -> None:
    for value in BOUNDARIES:
        assert value_fits(data_type, value) == _value_ok(data_type, value), (data_type, value)


def test_integers_beyond_their_range_are_rejected_alone_in_plan_and_run(tmp_path: Path) -> None:
    small = [{"n": i} for i in range(5)] + [{"n": 2**31}]  # Integer (declared): 2**31 does not fit
    declared = '[attributes.n]\nsource = "n"\ntype = "Integer"\n'
    run = verdicts("jsonl", write_jsonl(tmp_path / "a", small), tmp_path, declared)
    assert [run[line] for line in sorted(run)] == ["valid"] * 5 + ["attribute_out_of_range"]
    wide = [{"n": 2**40}, {"n": -(2**63)}, {"n": 2**63}, {"n": 7}]  # inferred LargeInteger: 2**63 does not fit
    run = verdicts("jsonl", write_jsonl(tmp_path / "b", wide), tmp_path)
    assert [run[line] for line in sorted(run)] == ["valid", "valid", "attribute_out_of_range", "valid"]


BAD_EMAILS = [".ann@example.com", "ann.@example.com", "an..n@example.com", "ann@example.123"]
GOOD_EMAILS = ["a.n.n@example.com", "ann+tag@example.co.uk", "o'neil@example.com"]


def test_emails_with_a_dot_at_either_end_of_the_local_part_are_rejected_as_the_emulator_refuses_them(
    tmp_path: Path,
) -> None:
    for email in BAD_EMAILS + GOOD_EMAILS:
        assert (check_email(email) is None) == is_email(email), email
    emails = BAD_EMAILS + GOOD_EMAILS
    run = verdicts("jsonl", write_jsonl(tmp_path / "export", [{}] * len(emails), emails), tmp_path)
    assert [run[line] for line in sorted(run)] == ["invalid_email"] * len(BAD_EMAILS) + ["valid"] * len(GOOD_EMAILS)


@pytest.mark.parametrize(
    ("values", "reads"),
    [
        ([{"tier": "a"}, {"n": 5}, {"n": 7}, {}], 1),
        ([{"tier": "a"}, {"n": 2**40}, {"n": -(2**40)}, {"flag": True}], 1),
        # a mix: the first read stops where it shows, then types over a whole read, then the plan's read
        ([{"tier": "a"}, {"tier": "b", "n": 5}, {"n": 2**40}, {}], 3),  # n: Integer, then LargeInteger
        ([{"tier": "a"}, {"tier": 1}, {"tier": 2}, {"tier": "b"}, {"tier": 3}], 3),
        ([{"n": 1}, {"n": 2**70}], 3),
    ],
)
def test_the_plan_stage_reads_the_export_once_unless_a_type_is_mixed(
    values: list[dict[str, Any]], reads: int, tmp_path: Path
) -> None:
    export = write_jsonl(tmp_path / "users.jsonl", values * 20)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("")
    run, state, opened = run_plan_reads("jsonl", export, mapping, chunk_size=7)  # some chunks written twice
    plan = plan_export(export, load_profile("jsonl", mapping), tenant=TENANT)
    assert opened == reads and plan.reads == reads
    assert plan_verdicts("jsonl", export, mapping, sorted(run)) == run
    assert state.mapping is not None and state.mapping.attribute_types == plan.options.attribute_types
