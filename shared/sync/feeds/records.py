"""Turns a legacy API's user object into the interchange record with the bulk reader's own mapping.

The live feeds re-read a user and must map them exactly as the export was mapped, or the sync would see a
difference that is only a mapping difference. So each LegacyState calls its source reader's per-user function
(`map_auth0_user`, `map_okta_row`, `map_keycloak_user`) with the FieldMap of the same mapping profile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shared.profiles import load_profile
from shared.records import LegacyUser
from shared.sources.base import SourceItem, SourceOptions, SourceReject
from shared.sources.fieldmap import FieldMap
from shared.sync.feeds.errors import FeedRecordRejected, FeedUnavailable
from shared.sync.feeds.http import LegacyHttp


def reader_options(source: str, profile: Path | None = None, options: SourceOptions | None = None) -> SourceOptions:
    return options if options is not None else load_profile(source, profile).source_options()


class ReaderMapping:
    """The compiled reader section of a profile, plus its identity-provider names."""

    def __init__(self, options: SourceOptions) -> None:
        self.fieldmap = FieldMap(options)
        self.providers: dict[str, str] = options.settings.get("identity_providers", {})


def accept(legacy_id: str, item: SourceItem) -> LegacyUser:
    if isinstance(item, SourceReject):
        raise FeedRecordRejected(legacy_id, item.code, item.message)
    return item.user


def flat_strings(values: dict[str, Any]) -> dict[str, str]:
    """A JSON object's scalar values as CSV-like cells (None → ""), for readers written for CSV exports."""
    cells: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            cells[key] = ""
        elif isinstance(value, bool):
            cells[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            cells[key] = str(value)
    return cells


class ApiState:
    """A LegacyState over a vendor's GET-one-user endpoint: 404 → None (deleted), else the reader's mapping."""

    def __init__(
        self,
        http: LegacyHttp,
        path_for: Callable[[str], str],
        to_item: Callable[[dict[str, Any]], SourceItem],
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self._http = http
        self._path_for = path_for
        self._to_item = to_item
        self._params = params

    async def read_user(self, legacy_id: str) -> LegacyUser | None:
        reply = await self._http.get(self._path_for(legacy_id), self._params)
        if reply.status == 404:
            return None
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise FeedUnavailable(f"{self._http.source}: GET user answered {reply.status}")
        return accept(legacy_id, self._to_item(reply.body))
