"""The `cognito` source: `aws cognito-idp list-users` JSON (one or many concatenated pages), or a CSV
with the user-import header (`get-csv-header`: `cognito:username`, `email`, `custom:…` columns).

Attributes are flattened by name (`custom:tier` → `custom.tier`), so one profile serves both shapes.
Cognito never exports password hashes: every local user takes the reset path unless the profile
brings plaintext. The format is chosen by content: a first character `{`/`[` is JSON, else CSV.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.profiles.transforms import TransformError, to_boolean
from shared.reasons import Reason
from shared.sources.assemble import extract, finish
from shared.sources.base import SourceItem, SourceOptions, SourceReject, open_text_lines
from shared.sources.csvexport import read_rows
from shared.sources.fieldmap import FieldMap
from shared.sources.jsonstream import stream_array


def _looks_like_json(path: Path) -> bool:
    for _, text in open_text_lines(path):
        stripped = text.lstrip()
        if stripped:
            return stripped[0] in "{["
    return False


def read_cognito(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    fieldmap = FieldMap(options)
    providers = options.identity_providers
    if _looks_like_json(path):
        natives: Iterator[tuple[int, Any]] = _list_users(path)
    else:
        natives = _import_csv(path, fieldmap)
    for line, native in natives:
        if isinstance(native, SourceReject):
            yield native
        elif not isinstance(native, dict):
            yield SourceReject(line, None, Reason.INVALID_RECORD, "a user must be a JSON object")
        else:
            yield _user(line, native, fieldmap, providers)


def _list_users(path: Path) -> Iterator[tuple[int, Any]]:
    for line, user in stream_array(path, frozenset({"Users"}), what="Cognito ListUsers"):
        if not isinstance(user, dict):
            yield line, user
            continue
        flat: dict[str, Any] = {k: v for k, v in user.items() if k not in ("Attributes", "Username")}
        flat["cognito:username"] = user.get("Username")
        for attribute in user.get("Attributes") or ():
            if isinstance(attribute, dict) and "Name" in attribute:
                _put(flat, str(attribute["Name"]), attribute.get("Value"))
        yield line, flat


def _import_csv(path: Path, fieldmap: FieldMap) -> Iterator[tuple[int, Any]]:
    for line, row in read_rows(path, vendor="Cognito import", id_columns=("cognito:username",)):
        if isinstance(row, SourceReject):
            yield line, row
            continue
        flat: dict[str, Any] = {}
        for name, value in row.items():
            _put(flat, name, value)
        # The import header spells the timestamps as attributes; ListUsers has them top-level.
        flat.setdefault("UserLastModifiedDate", row.get("updated_at"))
        yield line, flat


def _put(flat: dict[str, Any], name: str, value: Any) -> None:
    if name.startswith("custom:"):
        flat.setdefault("custom", {})[name.removeprefix("custom:")] = value
    else:
        flat[name] = value


def _user(line: int, native: dict[str, Any], fieldmap: FieldMap, providers: dict[str, str]) -> SourceItem:
    fields = extract(line, fieldmap, native)
    if isinstance(fields, SourceReject):
        return fields
    if "legacyId" not in fields and native.get("cognito:username"):
        fields["legacyId"] = str(native["cognito:username"])  # the import CSV has no `sub`
    fields["identities"] = _federated(native.get("identities"), providers)
    fields["mfa"] = _mfa(native, fields, fieldmap)
    status = native.get("UserStatus")
    if status in ("RESET_REQUIRED", "FORCE_CHANGE_PASSWORD", "UNCONFIRMED"):
        fieldmap.unmapped.note(f"user status {status} (no Entra equivalent; the user resets the password)")
    return finish(line, fields)


def _federated(raw: Any, providers: dict[str, str]) -> list[dict[str, str]]:
    """The `identities` attribute: a JSON string listing the user's linked IdP accounts."""
    if not isinstance(raw, str) or not raw:
        return []
    try:
        links = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return []
    out = []
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("providerName") and link.get("userId"):
            provider = str(link["providerName"])
            out.append({"provider": providers.get(provider, provider), "subject": str(link["userId"])})
    return out


def _mfa(native: dict[str, Any], fields: dict[str, Any], fieldmap: FieldMap) -> list[dict[str, str]]:
    methods: list[dict[str, str]] = []
    phone = fields.get("phone")
    sms = any(
        isinstance(o, dict) and o.get("DeliveryMedium") == "SMS" for o in native.get("MFAOptions") or ()
    ) or "SMS_MFA" in (native.get("UserMFASettingList") or ())
    with contextlib.suppress(TransformError):  # an unreadable flag means no SMS MFA, not a reject
        sms = sms or to_boolean(native.get("cognito:mfa_enabled") or False)
    if sms and phone:
        methods.append({"type": "phone", "value": phone})
    if "SOFTWARE_TOKEN_MFA" in (native.get("UserMFASettingList") or ()):
        fieldmap.unmapped.note("TOTP second factor (secrets are not exported; users re-enrol)")
    return methods
