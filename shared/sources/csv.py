"""The `csv` source: any CSV through a mapping profile's column mapping ([fields] = column headers).

Passwords: a `password` column is plaintext; a `passwordHash` column is read with the profile's
[hash] table (algorithm and parameters), or recognised from its own prefix (bcrypt, argon2, phpass,
Django) when the profile names no algorithm. `passwordSalt` pairs with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from shared.sources.assemble import extract, finish
from shared.sources.base import SourceItem, SourceOptions, SourceReject
from shared.sources.csvexport import read_rows
from shared.sources.fieldmap import FieldMap


def read_csv(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    fieldmap = FieldMap(options)
    id_column = fieldmap.source_of("legacyId") or "legacyId"
    rows = read_rows(path, vendor="CSV", id_columns=(id_column,), delimiter=options.delimiter)
    for line, row in rows:
        if isinstance(row, SourceReject):
            yield row
            continue
        fields = extract(line, fieldmap, row)
        if isinstance(fields, SourceReject):
            yield fields
            continue
        yield finish(line, fields)
