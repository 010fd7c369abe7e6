"""Legacy roles as the interchange record's `groups`, so the profile's `[groups]` table maps them (docs/groups.md).

In: the fields a reader built and the role/group names a source carries. Out: `fields["groups"]` extended in
order, each name once (a group and a role of the same name are one legacy name to map). Empty names are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def add_groups(fields: dict[str, Any], names: Iterable[Any]) -> None:
    have = fields.get("groups")
    groups: list[str] = list(have) if isinstance(have, list) else []
    for name in names:
        if isinstance(name, str) and name and name not in groups:
            groups.append(name)
    if groups:
        fields["groups"] = groups


def string_list(value: Any) -> list[str]:
    """`value` when it is a list (of strings; anything else in it is skipped), else []."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
