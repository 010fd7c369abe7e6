"""Wave rules place every user in at most one wave, the same one every time, from the interchange fields."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from shared.records import LegacyUser
from shared.waves import Wave, WavePlan, WaveRuleError, check_field, hash_bucket, percent_waves

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def user(legacy_id: str, **fields: object) -> LegacyUser:
    return LegacyUser.model_validate({"legacyId": legacy_id, **fields})


def test_cumulative_percentages_split_a_stable_hash_into_5_20_75_percent() -> None:
    plan = WavePlan(kind="percent", waves=percent_waves([5, 25, 100]), planned_at=NOW)
    counts = Counter(plan.wave_of(user(f"u{n:05d}")) for n in range(20_000))
    assert set(counts) == {1, 2, 3}  # nobody unassigned when the last percentage is 100
    assert abs(counts[1] / 20_000 - 0.05) < 0.01
    assert abs(counts[2] / 20_000 - 0.20) < 0.015
    assert abs(counts[3] / 20_000 - 0.75) < 0.015
    # stable: the bucket is a function of the legacy id alone
    assert hash_bucket("u00042") == hash_bucket("u00042")
    assert plan.wave_of(user("u00042")) == plan.wave_of(user("u00042", email="changed@example.com"))


def test_percentages_that_do_not_rise_are_refused() -> None:
    with pytest.raises(WaveRuleError, match="cumulative"):
        percent_waves([25, 5, 100])
    with pytest.raises(WaveRuleError, match="cumulative"):
        percent_waves([50, 120])


def test_a_percentage_below_100_leaves_the_rest_unassigned() -> None:
    plan = WavePlan(kind="percent", waves=percent_waves([10]), planned_at=NOW)
    placed = Counter(plan.wave_of(user(f"u{n}")) for n in range(5000))
    assert placed[None] > 4000 and placed[1] > 300


def test_field_waves_place_by_value_and_the_first_matching_wave_wins() -> None:
    plan = WavePlan(kind="field", field="attributes.region", planned_at=NOW, waves=[
        Wave(number=1, label="eu", values=["eu"]), Wave(number=2, label="us", values=["us"]),
        Wave(number=3, label="(no value)", values=[""]),
    ])  # fmt: skip
    assert plan.wave_of(user("a", attributes={"region": "eu"})) == 1
    assert plan.wave_of(user("b", attributes={"region": "us"})) == 2
    assert plan.wave_of(user("c")) == 3
    assert plan.wave_of(user("d", attributes={"region": "apac"})) is None  # a value the plan never saw
    groups = WavePlan(kind="field", field="groups", planned_at=NOW, waves=[
        Wave(number=1, label="vip", values=["vip"]), Wave(number=2, label="staff", values=["staff"]),
    ])  # fmt: skip
    assert groups.wave_of(user("e", groups=["staff", "vip"])) == 1


def test_app_waves_read_a_list_or_a_comma_separated_text() -> None:
    plan = WavePlan(kind="apps", field="attributes.apps", planned_at=NOW, waves=[
        Wave(number=1, label="shop", values=["shop"], apps=["shop"]),
        Wave(number=2, label="blog", values=["blog"], apps=["blog"]),
    ])  # fmt: skip
    assert plan.wave_of(user("a", attributes={"apps": "blog, shop"})) == 1
    assert plan.wave_of(user("b", attributes={"apps": ["blog"]})) == 2
    assert plan.wave_of(user("c", attributes={"apps": "forum"})) is None


def test_fields_that_are_secret_or_unknown_are_refused() -> None:
    with pytest.raises(WaveRuleError, match="secrets"):
        check_field("password")
    with pytest.raises(WaveRuleError, match="not an interchange field"):
        check_field("region")
    assert check_field("attributes.region") == "attributes.region"
    assert check_field("emailVerified") == "emailVerified"
