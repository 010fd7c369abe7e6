"""Source readers by name. Each turns one legacy export format into LegacyUser records, streaming."""

from __future__ import annotations

from shared.sources.auth0 import read_auth0
from shared.sources.b2c import read_b2c
from shared.sources.base import (
    SourceItem,
    SourceOptions,
    SourceReader,
    SourceRecord,
    SourceReject,
    UnknownSource,
    UnmappedFeatures,
    UnreadableExport,
)
from shared.sources.cognito import read_cognito
from shared.sources.csv import read_csv
from shared.sources.firebase import read_firebase
from shared.sources.jsonl import read_jsonl
from shared.sources.keycloak import read_keycloak
from shared.sources.okta import read_okta

READERS: dict[str, SourceReader] = {
    "jsonl": read_jsonl,
    "auth0": read_auth0,
    "b2c": read_b2c,
    "cognito": read_cognito,
    "csv": read_csv,
    "firebase": read_firebase,
    "keycloak": read_keycloak,
    "okta": read_okta,
}


def get_reader(name: str) -> SourceReader:
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise UnknownSource(f"unknown source {name!r}; choose one of: {known}") from None


__all__ = [
    "READERS",
    "SourceItem",
    "SourceOptions",
    "SourceReader",
    "SourceRecord",
    "SourceReject",
    "UnknownSource",
    "UnmappedFeatures",
    "UnreadableExport",
    "get_reader",
]
