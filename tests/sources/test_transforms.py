from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.profiles.transforms import TransformError, split_full_name, to_boolean, to_datetime, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(415) 555-0199", "US", "+14155550199"),
        ("tel:+14155550100", None, "+14155550100"),
    ],
)
def test_e164(raw: str, region: str | None, e164: str) -> None:
    assert to_e164(raw, region) == e164


def test_e164_refuses_without_echoing_the_value() -> None:
    with pytest.raises(TransformError) as caught:
        to_e164("call me 555", "US")
    assert "555" not in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        "2021-03-04T10:11:12Z",
        1614852672,
        1614852672000,
        "1614852672000",
        {"$date": "2021-03-04T10:11:12.000Z"},
        "2021-03-04T10:11:12+00:00",
    ],
)
def test_dates(raw: object) -> None:
    value = to_datetime(raw)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    assert parsed == datetime(2021, 3, 4, 10, 11, 12, tzinfo=UTC)


def test_date_only_is_midnight_utc() -> None:
    assert to_datetime("2021-03-04") == datetime(2021, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "value"), [("yes", True), ("FALSE", False), ("1", True), (0, False), (True, True)])
def test_booleans(raw: object, value: bool) -> None:
    assert to_boolean(raw) is value


def test_boolean_refuses_other_words() -> None:
    with pytest.raises(TransformError):
        to_boolean("maybe")


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Lovelace, Ada", ("Ada", "Lovelace")),
        ("Cher", ("Cher", None)),
        ("  Jean  Paul   Sartre ", ("Jean", "Paul Sartre")),
    ],
)
def test_split_full_name(full: str, parts: tuple[str | None, str | None]) -> None:
    assert split_full_name(full) == parts
