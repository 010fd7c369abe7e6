"""Attribute types: the extension property dataType of every custom attribute, decided over the whole export.

A type the mapping profile declares (`[attributes.NAME] type = ...`) is final. Every other attribute's
type is inferred during planning from ALL the export's readable records, never from the first one:
* only booleans → Boolean; only integers → Integer, or LargeInteger when one of them needs 64 bits;
  only strings → String;
* a mix → the kind most records carry (a tie → String, then Integer, then Boolean). The records
  whose value is of another kind are rejected alone (`attribute_type_mismatch`, or
  `attribute_out_of_range` for an integer beyond the type's range) by map_user, in plan and run alike.
Names the product writes itself (the flag and legacy-id attributes) are not inferred: map_user
rejects a record that carries one (`attribute_reserved`). Used by `ciam-migrate plan`
(shared/planning/run.py) and the run's plan stage (shared/handlers/plan_export.py), which both read
the export with the same reader, so both decide the same types. docs/import.md, "Custom attributes".

One read is enough when every undeclared attribute keeps one dataType across the export (its values
all booleans, all strings, all 32-bit or all wider 64-bit integers): the type each value implies
(extension_data_type, what an untyped mapping uses) is then the type inferred over the whole export,
so admitting each record as it is read gives the verdicts a typed second read would. A `provisional`
tally checks that as it goes and raises MixedAttributeTypes at the first value that breaks it; the
planner then reads the export twice (types first) as before.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

from shared.mapping import MappingOptions
from shared.preflight import INT32, INT64, extension_data_type
from shared.records import SourceRecord

_TIE_ORDER = ("String", "Integer", "Boolean")


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, str):
        return "String"
    return None  # check_attribute rejects it whatever the type


class MixedAttributeTypes(Exception):
    """A provisional tally met an attribute whose values need another dataType than its earlier ones."""


class AttributeTypes:
    """The tally of one export's undeclared attributes: kinds seen per attribute name."""

    def __init__(self, options: MappingOptions, *, provisional: bool = False) -> None:
        self.options = options
        self._skip = set(options.attribute_types)
        self._kinds: dict[str, Counter[str]] = {}
        self._wide: set[str] = set()  # integer attributes with a value that needs 64 bits
        # provisional: the one dataType each name's values have implied so far (see the module docstring).
        self._implied: dict[str, str] | None = {} if provisional else None

    def observe(self, attributes: dict[str, Any]) -> None:
        """Tally one record's attributes. Raises MixedAttributeTypes (provisional only), see the module."""
        all_kinds, implied = self._kinds, self._implied
        for name, value in attributes.items():
            kinds = all_kinds.get(name)
            if kinds is None:
                if self._not_inferred(name):
                    continue
                kind = _kind(value)
                if kind is None:
                    continue
                kinds = all_kinds[name] = Counter()
            else:
                kind = _kind(value)
                if kind is None:
                    continue
            kinds[kind] += 1
            if kind == "Integer" and not INT32[0] <= value <= INT32[1]:
                if not INT64[0] <= value <= INT64[1]:
                    if implied is not None:
                        raise MixedAttributeTypes(name)  # fits no type: its inferred type depends on the others
                else:
                    self._wide.add(name)
            if implied is not None:
                data_type = extension_data_type(value)
                if implied.setdefault(name, data_type) != data_type:
                    raise MixedAttributeTypes(name)

    def _not_inferred(self, name: str) -> bool:
        """A declared type, or a name the product writes itself."""
        options = self.options
        return name in self._skip or options.attribute_renames.get(name, name).lower() in options.reserved_names

    def observe_all(self, items: Iterable[object]) -> None:
        for item in items:
            if isinstance(item, SourceRecord):
                self.observe(item.user.attributes)

    def inferred(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for name, kinds in self._kinds.items():
            most = max(kinds.values())
            kind = next(k for k in _TIE_ORDER if kinds[k] == most)
            types[name] = "LargeInteger" if kind == "Integer" and name in self._wide else kind
        return types

    def options_with_types(self) -> MappingOptions:
        """The mapping with every attribute typed: declared types win over inferred ones."""
        types = {**self.inferred(), **self.options.attribute_types}
        return dataclasses.replace(self.options, attribute_types=types)
