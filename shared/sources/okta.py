"""The `okta` source: a CSV of Okta users whose columns are the user profile's attribute names
(`login`, `firstName`, `lastName`, `email`, `mobilePhone`, …) plus `id`, `status`, `created`.

Okta never exports password hashes: local users take the reset (or JIT-by-live-check) path. Users in
DEPROVISIONED or SUSPENDED status arrive disabled; STAGED/PROVISIONED users never signed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from shared.sources.assemble import extract, finish
from shared.sources.base import SourceItem, SourceOptions, SourceReject
from shared.sources.csvexport import read_rows
from shared.sources.fieldmap import FieldMap

_DISABLED_STATUSES = frozenset({"DEPROVISIONED", "SUSPENDED", "LOCKED_OUT"})
_NEVER_ACTIVE = frozenset({"STAGED", "PROVISIONED"})


def read_okta(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    fieldmap = FieldMap(options)
    id_column = fieldmap.source_of("legacyId") or "id"
    rows = read_rows(path, vendor="Okta user", id_columns=(id_column, "login"))
    for line, row in rows:
        yield row if isinstance(row, SourceReject) else map_okta_row(row, fieldmap, line)


def map_okta_row(row: dict[str, str], fieldmap: FieldMap, line: int = 0) -> SourceItem:
    """One Okta user as CSV-shaped columns (profile attributes plus id, status, created, …) → SourceRecord or
    SourceReject. The coexistence sync flattens a Users API answer into these columns and calls this."""
    id_column = fieldmap.source_of("legacyId") or "id"
    if not row.get(id_column) and row.get("login"):
        row[id_column] = row["login"]  # the import template has no id column: login is unique
    fields = extract(line, fieldmap, row)
    if isinstance(fields, SourceReject):
        return fields
    status = row.get("status", "").strip().upper()
    if status in _DISABLED_STATUSES:
        fields["disabled"] = True
    elif status in _NEVER_ACTIVE:
        fieldmap.unmapped.note(f"status {status} (never activated in Okta; arrives as an active user)")
    if row.get("secondEmail"):
        fieldmap.unmapped.note("secondEmail (Entra keeps one sign-in email; add otherMails by hand)")
    return finish(line, fields)
