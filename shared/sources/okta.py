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
        if isinstance(row, SourceReject):
            yield row
            continue
        if not row.get(id_column) and row.get("login"):
            row[id_column] = row["login"]  # the import template has no id column: login is unique
        fields = extract(line, fieldmap, row)
        if isinstance(fields, SourceReject):
            yield fields
            continue
        status = row.get("status", "").strip().upper()
        if status in _DISABLED_STATUSES:
            fields["disabled"] = True
        elif status in _NEVER_ACTIVE:
            fieldmap.unmapped.note(f"status {status} (never activated in Okta; arrives as an active user)")
        if row.get("secondEmail"):
            fieldmap.unmapped.note("secondEmail (Entra keeps one sign-in email; add otherMails by hand)")
        yield finish(line, fields)
