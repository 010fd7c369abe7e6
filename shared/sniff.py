"""Format sniffing: catch a wrong `--source` or a mapping that names no column, before anything is written.

`check_export(export, source, profile, mapping)` reads at most the first 1,000 records and raises:
* `WrongSource` (an UnreadableExport: exit 2) when the file is clearly another source's format, or
  when at least half of those records are rejected for missing_field / unknown_field — naming the
  source that does read the file ("this looks like an auth0 export; pass --source auth0");
* `ProfileError` when a column named in the user's mapping file (`[fields]`, `[attributes.*].source`)
  is not in a CSV export's header, naming the key and the closest column.
A file that cannot be read at all is left to the reader, which reports it as before (R9); a correct
export reads exactly as without sniffing; a folder (keycloak users-N files) is not sniffed.
"""

from __future__ import annotations

import csv
import difflib
import itertools
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.profiles import ProfileError, load_profile
from shared.profiles.model import MappingProfile
from shared.reasons import Reason
from shared.sources import READERS, SourceReject, UnreadableExport, get_reader
from shared.sources.base import open_text_lines

SAMPLE_RECORDS = 1_000
HEAD_LINES = 400
SHAPE_REASONS = frozenset({Reason.MISSING_FIELD.value, Reason.UNKNOWN_FIELD.value})
CSV_SOURCES = frozenset({"csv", "okta", "cognito"})


class WrongSource(UnreadableExport):
    """The export is not in the format `--source` names. str() is the one-line message."""


def check_export(export: Path, source: str, profile: MappingProfile, mapping: Path | None = None) -> None:
    if not export.is_file():
        return  # a folder (keycloak users-N) or a missing file: the reader reports it
    try:
        head = _head(export)
    except UnreadableExport:
        return  # empty, truncated, not UTF-8: the reader reports it exactly as without sniffing
    detected = detect_format(head)
    if detected is not None and detected != source and not (source == "csv" and mapping is not None):
        line, complaint = _reader_complaint(export, source, profile)
        cause = complaint or f"not {_article(source)} export (is --source right?)"
        hint = f"this looks like {_article(detected)} export: pass --source {detected}"
        raise WrongSource(export, line, f"{cause}; {hint}")
    if mapping is not None and source in CSV_SOURCES and detected in (None, *CSV_SOURCES):
        _check_mapped_columns(export, head, profile, mapping)
    try:
        seen, shape = _shape_rejects(export, source, profile)
    except WrongSource:
        raise
    except UnreadableExport as exc:
        other = _best_other_source(export, source)
        if other is None:
            return  # the reader will stop the plan with this same error
        raise WrongSource(export, exc.line, f"{exc.cause}; this looks like {_article(other)} export") from None
    if seen and shape * 2 >= seen:
        better = _best_other_source(export, source)
        hint = (
            f"this looks like {_article(better)} export; pass --source {better}"
            if better
            else f"check --source {source} and the mapping profile"
        )
        raise WrongSource(
            export, None, f"{shape} of the first {seen} records lack the fields a {source} export has; {hint}"
        )


def detect_format(head: list[str]) -> str | None:
    """The source whose export this clearly is, from its first lines, or None when unsure."""
    lines = [line for line in head if line.strip()]
    if not lines:
        return None
    first = lines[0].strip()
    if first.startswith(("{", "[")):
        try:
            obj = json.loads(first)
        except ValueError:
            return _json_document_format("\n".join(lines))
        return _record_format(obj) if isinstance(obj, dict) else None
    return _csv_format(first)


def _record_format(obj: dict[str, Any]) -> str | None:
    document = _document_keys_format(obj)
    if document:
        return document
    if "legacyId" in obj:
        return "jsonl"
    if "user_id" in obj or ("email_verified" in obj and "identities" in obj):
        return "auth0"
    return None


def _document_keys_format(obj: dict[str, Any]) -> str | None:
    if "realm" in obj:
        return "keycloak"
    users = obj.get("users")
    if isinstance(users, list) and users and isinstance(users[0], dict) and "localId" in users[0]:
        return "firebase"
    if "Users" in obj:
        return "cognito"
    if isinstance(obj.get("value"), list) or "@odata.context" in obj:
        return "b2c"
    return None


def _json_document_format(text: str) -> str | None:
    # A pretty-printed JSON document: decide on the keys its first lines show.
    if '"realm"' in text:
        return "keycloak"
    if '"localId"' in text:
        return "firebase"
    if '"Users"' in text and '"Username"' in text:
        return "cognito"
    if '"@odata.context"' in text or '"userPrincipalName"' in text or '"signInType"' in text:
        return "b2c"
    return None


def _csv_format(header_line: str) -> str | None:
    header = set(_csv_header(header_line, ","))
    if "cognito:username" in header:
        return "cognito"
    if {"login", "firstName", "lastName", "status"} <= header:
        return "okta"
    if "legacyId" in header:
        return "csv"
    return None


def _csv_header(line: str, delimiter: str) -> list[str]:
    row = next(csv.reader([line], delimiter=delimiter), [])
    return [cell.strip() for cell in row]


def _check_mapped_columns(export: Path, head: list[str], profile: MappingProfile, mapping: Path) -> None:
    header = _csv_header(head[0], profile.reader.delimiter) if head else []
    if not header:
        return
    for key, column in _mapped_columns(mapping):
        if column and column not in header:
            closest = difflib.get_close_matches(column, header, n=1, cutoff=0.5)
            near = f"; closest column: {closest[0]!r}" if closest else f"; columns: {', '.join(header[:12])}"
            raise ProfileError(f"{mapping}: {key} = {column!r} matches no column of {export.name}{near}")


def _mapped_columns(mapping: Path) -> Iterator[tuple[str, str]]:
    try:
        data = tomllib.loads(mapping.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # load_profile has already reported an unreadable profile
    for name, column in (data.get("fields") or {}).items():
        if isinstance(column, str):
            yield f"fields.{name}", column
    for name, spec in (data.get("attributes") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("source"), str):
            yield f"attributes.{name}.source", spec["source"]


def _shape_rejects(export: Path, source: str, profile: MappingProfile) -> tuple[int, int]:
    """(records read, of which rejected for missing_field / unknown_field) over the first 1,000."""
    seen = shape = 0
    for item in itertools.islice(get_reader(source)(export, profile.source_options()), SAMPLE_RECORDS):
        seen += 1
        if isinstance(item, SourceReject) and str(item.code) in SHAPE_REASONS:
            shape += 1
    return seen, shape


def _reader_complaint(export: Path, source: str, profile: MappingProfile) -> tuple[int, str | None]:
    """What the `source` reader itself says about the file's first record, when it refuses it."""
    try:
        next(iter(get_reader(source)(export, profile.source_options())), None)
    except UnreadableExport as exc:
        return exc.line or 1, exc.cause
    return 1, None


def _best_other_source(export: Path, source: str) -> str | None:
    """The other source whose reader accepts most of the first records (more than half), if any."""
    best, best_ok = None, 0.5
    for name in sorted(READERS):
        if name == source:
            continue
        try:
            profile = load_profile(name, None)
            seen, shape = _shape_rejects(export, name, profile)
        except (UnreadableExport, ProfileError, ValueError, KeyError, TypeError):
            continue
        if seen and (seen - shape) / seen > best_ok:
            best, best_ok = name, (seen - shape) / seen
    return best


def _head(export: Path) -> list[str]:
    return [text for _, text in itertools.islice(open_text_lines(export), HEAD_LINES)]


def _article(source: str) -> str:
    return f"an {source}" if source[0] in "aeiou" else f"a {source}"
