"""The `b2c` source: Azure AD B2C (or Entra) users as Graph user objects.

From a file: `{"value": [...]}` pages (concatenated pages allowed) or a top-level array, gzip
accepted, streamed. Live (a Graph URL): shared/adapters/graph/legacy_users.py. Sign-in names come from `identities`
(emailAddress, userName, federated); `extension_<appId>_<name>` properties become attribute `<name>`.
Graph never returns password hashes, so local users take the reset (or live-check JIT) path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.reasons import Reason
from shared.sources.assemble import extract, finish
from shared.sources.base import SourceItem, SourceOptions, SourceReject
from shared.sources.fieldmap import FieldMap
from shared.sources.jsonstream import stream_array

_EXTENSION = re.compile(r"^extension_[0-9a-fA-F]{32}_(.+)$")
_URL = re.compile(r"^(https?):/+(.+)$")


def graph_url_of(path: Path | str) -> str | None:
    """The Graph base URL if `path` names one (pathlib folds '//' to '/': restore it), else None."""
    match = _URL.match(str(path))
    return f"{match.group(1)}://{match.group(2)}" if match else None


def read_b2c(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    """A file of Graph users; a Graph URL is read live, through the Graph adapter (for `plan`: the run's
    plan stage reads it through the LegacyUsers port instead, inside its own event loop)."""
    from shared.adapters.graph.legacy_users import read_b2c_live  # msgraph-sdk only when live

    graph_url = graph_url_of(path)
    if graph_url is not None:
        yield from read_b2c_live(graph_url, options)
        return
    fieldmap = FieldMap(options)
    providers = options.identity_providers
    for line, native in stream_array(path, frozenset({"value", "users"}), what="Graph users"):
        yield graph_user(line, native, fieldmap, providers)


def graph_user(line: int, native: Any, fieldmap: FieldMap, providers: dict[str, str]) -> SourceItem:
    """One Graph user object (a dict as Graph's JSON has it) as a record or a reject."""
    if isinstance(native, SourceReject):
        return native
    if not isinstance(native, dict):
        return SourceReject(line, None, Reason.INVALID_RECORD, "a user must be a JSON object")
    fields = extract(line, fieldmap, native)
    if isinstance(fields, SourceReject):
        return fields
    links: list[dict[str, str]] = []
    for identity in native.get("identities") or ():
        if not isinstance(identity, dict):
            continue
        kind, value = identity.get("signInType"), identity.get("issuerAssignedId")
        if not value:
            continue
        if kind == "emailAddress":
            fields.setdefault("email", str(value).strip().lower())
        elif kind == "userName":
            fields.setdefault("username", str(value))
        elif kind == "federated":
            issuer = str(identity.get("issuer") or "")
            links.append({"provider": providers.get(issuer, issuer), "subject": str(value)})
        elif kind == "phoneNumber":
            fieldmap.unmapped.note("phone number sign-in (SMS one-time code as primary sign-in)")
    if "email" not in fields and isinstance(native.get("mail"), str) and native["mail"]:
        fields["email"] = native["mail"].strip().lower()
    fields["identities"] = links
    attributes = dict(fields.get("attributes", {}))
    for key, value in native.items():
        match = _EXTENSION.match(key)
        if match and value is not None:
            if isinstance(value, str | bool | int):
                attributes[match.group(1)] = value
            else:
                fieldmap.unmapped.note(f"extension attribute '{match.group(1)}' (not a string, boolean or integer)")
    if attributes:
        fields["attributes"] = attributes
    return finish(line, fields)
