"""The `auth0` source: Auth0's user export job (NDJSON, `format: json`) and its password-hash export.

One JSON object per line, gzip accepted. Lines of the export job carry `user_id` and `identities`;
lines of the support-provided hash export carry `_id.$oid`/`alt_id`, `connection` and `passwordHash`.
Both shapes may be mixed. `app_metadata.roles` (and the Authorization Extension's `app_metadata.authorization`
groups and roles) become groups for the profile's [groups] table. MFA enrolments come as `mfa_factors`
(Auth0's enrolment import schema, which support-provided exports and migration scripts use). A first line
that is not JSON means the wrong --source: UnreadableExport.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.reasons import Reason
from shared.sources.assemble import extract, finish, malformed_hash
from shared.sources.base import SourceItem, SourceOptions, SourceReject, UnreadableExport, open_text_lines
from shared.sources.fieldmap import FieldMap
from shared.sources.hashes import from_crypt_string
from shared.sources.jsontext import RecordProblem, decode_record, too_deep
from shared.sources.roles import add_groups, string_list

# Auth0 identity providers that are local accounts of the tenant, not federation.
_DATABASE_PROVIDERS = frozenset({"auth0"})
_PASSWORDLESS = {"email": "passwordless email", "sms": "passwordless SMS sign-in"}


def read_auth0(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    fieldmap = FieldMap(options)
    providers = options.identity_providers
    first = True
    for line_no, text in open_text_lines(path):
        if not text or text.isspace():
            continue
        try:
            native = decode_record(text)
        except RecursionError:
            first = False
            problem = too_deep()
            yield SourceReject(line_no, None, problem.reason, problem.message)
            continue
        except RecordProblem as problem:
            first = False
            yield SourceReject(line_no, None, problem.reason, problem.message)
            continue
        except json.JSONDecodeError as exc:
            if first:
                raise UnreadableExport(path, line_no, f"not Auth0 NDJSON ({exc.msg}); is --source right?") from None
            yield SourceReject(line_no, None, Reason.INVALID_JSON, f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        first = False
        if type(native) is not dict:
            yield SourceReject(line_no, None, Reason.INVALID_JSON, "a line must hold one JSON object")
            continue
        fields = _fields(line_no, native, fieldmap, providers)
        yield fields if isinstance(fields, SourceReject) else finish(line_no, fields)


def map_auth0_user(native: dict[str, Any], fieldmap: FieldMap, providers: dict[str, str], line: int = 0) -> SourceItem:
    """One Auth0 user object (an export-job line or a Management API `GET /api/v2/users/{id}` answer, same
    field names) → SourceRecord or SourceReject, exactly as read_auth0 maps it. For the coexistence sync."""
    fields = _fields(line, native, fieldmap, providers)
    return fields if isinstance(fields, SourceReject) else finish(line, fields)


def _fields(
    line: int, native: dict[str, Any], fieldmap: FieldMap, providers: dict[str, str]
) -> dict[str, Any] | SourceReject:
    fields = extract(line, fieldmap, native)
    if isinstance(fields, SourceReject):
        return fields
    if "legacyId" not in fields:
        fields["legacyId"] = _hash_export_user_id(native)
    identities = native.get("identities")
    if isinstance(identities, list):
        links = _federated(identities, providers, fieldmap)
        if links:
            fields["identities"] = links
    password_hash = native.get("passwordHash")
    if isinstance(password_hash, str) and password_hash:
        fields["password"] = {"hash": from_crypt_string(password_hash, unknown_label="auth0-unknown")}
    elif password_hash not in (None, ""):
        malformed = malformed_hash(line, fields, fieldmap)
        if malformed is not None:
            return malformed
    factors = native.get("mfa_factors")
    if isinstance(factors, list):
        mfa = _mfa_factors(factors)
        if mfa:
            fields["mfa"] = mfa
    app_metadata = native.get("app_metadata")
    if app_metadata:
        _roles(app_metadata, fields, fieldmap)
    _note_unmapped(native, fieldmap)
    return fields


def _roles(app_metadata: Any, fields: dict[str, Any], fieldmap: FieldMap) -> None:
    """`app_metadata.roles` and the Authorization Extension's `app_metadata.authorization.groups/roles`
    (auth0 docs "Use Rules with the Authorization Extension": persisted in app_metadata) → groups.
    Anything else in app_metadata (permissions, plans, flags) is noted as not mapping."""
    if not isinstance(app_metadata, dict):
        fieldmap.unmapped.note("app_metadata (authorization data: roles, permissions)")
        return
    add_groups(fields, string_list(app_metadata.get("roles")))
    authorization = app_metadata.get("authorization")
    rest = set(app_metadata) - {"roles", "authorization"}
    if isinstance(authorization, dict):
        add_groups(fields, string_list(authorization.get("groups")))
        add_groups(fields, string_list(authorization.get("roles")))
        rest |= {f"authorization.{k}" for k in set(authorization) - {"groups", "roles"}}
    elif authorization is not None:
        rest.add("authorization")
    for key in sorted(rest):
        fieldmap.unmapped.note(f"app_metadata.{key} (of app_metadata only roles and groups map)")


def _mfa_factors(factors: list[Any]) -> list[dict[str, str]]:
    """Auth0's MFA enrolment schema (auth0 docs "Import user MFA enrollments"): a list of objects with one
    of `phone: {value}`, `email: {value}` or `totp: {secret}` each; anything else is no method."""
    methods: list[dict[str, str]] = []
    for factor in factors:
        if not isinstance(factor, dict):
            continue
        for kind, key in (("phone", "value"), ("email", "value"), ("totp", "secret")):
            body = factor.get(kind)
            if isinstance(body, dict) and isinstance(body.get(key), str) and body[key]:
                methods.append({"type": kind, "value": body[key]})
    return methods


def _hash_export_user_id(native: dict[str, Any]) -> str | None:
    """`auth0|<alt_id or _id.$oid>`: the user_id Auth0 shows for a database user of the hash export."""
    alt = native.get("alt_id")
    oid = native.get("_id", {}).get("$oid") if isinstance(native.get("_id"), dict) else native.get("_id")
    local = alt or oid
    return f"auth0|{local}" if isinstance(local, str) and local else None


def _federated(identities: list[Any], providers: dict[str, str], fieldmap: FieldMap) -> list[dict[str, str]]:
    links: list[dict[str, str]] = []
    for identity in identities:
        if not isinstance(identity, dict):
            continue
        provider = str(identity.get("provider") or "")
        subject = identity.get("user_id")
        if provider in _DATABASE_PROVIDERS or not provider or subject in (None, ""):
            continue
        if provider in _PASSWORDLESS:
            fieldmap.unmapped.note(_PASSWORDLESS[provider])
            continue
        links.append({"provider": providers.get(provider, provider), "subject": str(subject)})
    return links


def _note_unmapped(native: dict[str, Any], fieldmap: FieldMap) -> None:
    for factor in native.get("multifactor") or ():
        fieldmap.unmapped.note(f"MFA enrolment '{factor}' (secrets are not exported; users re-enrol)")
