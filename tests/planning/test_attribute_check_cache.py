"""attribute_problem remembers names it passed (MappingOptions.writable_names); the verdicts stay the checks'."""

from __future__ import annotations

from typing import Any

from shared.mapping import MappingOptions, attribute_problem

CASES: list[tuple[str, Any]] = [
    ("tier", "gold"),
    ("tier", "x" * 251),  # a known name, a value over the limit
    ("tier", 5),  # a known name, a value of another type than the declared String
    ("tier", 1.5),
    ("tier", None),
    ("age", 7),
    ("age", 2**40),  # beyond Integer
    ("age", True),
    ("flag", True),
    ("flag", "yes"),
    ("legacyId", "x"),  # reserved, valid as a name
    ("bad-name", 1),
    ("note", "n" * 300),  # declared DateTime: any string fits the type, the length check still refuses it
    ("note", "2021-01-01"),
]


def _options() -> MappingOptions:
    return MappingOptions(
        tenant="contoso.onmicrosoft.com",
        extensions_app_id="00000000-0000-0000-0000-0000000000e1",
        attribute_types={"tier": "String", "age": "Integer", "flag": "Boolean", "note": "DateTime"},
    )


def test_a_warm_cache_gives_each_value_the_verdict_a_cold_one_gives() -> None:
    warm = _options()
    for _ in range(2):
        for name, value in CASES:
            assert attribute_problem(name, name, value, warm) == attribute_problem(name, name, value, _options())
    assert warm.writable_names == {"tier", "age", "flag", "note"}
