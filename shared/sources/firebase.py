"""The `firebase` source: `firebase auth:export FILE --format=json` ({"users": [...]}), gzip accepted.

Password hashes are base64 `passwordHash` + `salt`; the project's hash parameters are not in the
export and come from the mapping profile's [hash] table (firebase-scrypt: signer key, salt separator,
rounds, memory cost). Streams the `users` array; never loads the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.reasons import Reason
from shared.sources.assemble import extract, finish, malformed_hash
from shared.sources.base import HashSpec, SourceItem, SourceOptions, SourceReject
from shared.sources.fieldmap import FieldMap
from shared.sources.jsonstream import stream_array

_LOCAL_PROVIDERS = frozenset({"password", "emailLink"})


def read_firebase(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    fieldmap = FieldMap(options)
    providers = options.identity_providers
    hash_config = options.hash
    claims_are_attributes = "customAttributes" in options.attributes_from
    for line, native in stream_array(path, frozenset({"users"}), what="Firebase auth:export"):
        if isinstance(native, SourceReject):
            yield native
            continue
        if not isinstance(native, dict):
            yield SourceReject(line, None, Reason.INVALID_RECORD, "a user must be a JSON object")
            continue
        claims = native.get("customAttributes")
        if isinstance(claims, str) and claims:
            try:
                native["customAttributes"] = json.loads(claims)
            except (json.JSONDecodeError, RecursionError):
                native["customAttributes"] = None
            if not claims_are_attributes:
                fieldmap.unmapped.note("custom claims (customAttributes: authorization data)")
        fields = extract(line, fieldmap, native)
        if isinstance(fields, SourceReject):
            yield fields
            continue
        fields["identities"] = _federated(native, providers, fieldmap)
        raw_hash = native.get("passwordHash")
        if raw_hash not in (None, "") and not isinstance(raw_hash, str):
            malformed = malformed_hash(line, fields, fieldmap)
            if malformed is not None:
                yield malformed
                continue
        password = _password(native, hash_config)
        if password is not None:
            fields["password"] = password
        mfa = _mfa(native, fieldmap)
        if mfa:
            fields["mfa"] = mfa
        yield finish(line, fields)


def _federated(native: dict[str, Any], providers: dict[str, str], fieldmap: FieldMap) -> list[dict[str, str]]:
    links: list[dict[str, str]] = []
    for info in native.get("providerUserInfo") or ():
        if not isinstance(info, dict):
            continue
        provider = str(info.get("providerId") or "")
        subject = info.get("rawId")
        if provider in _LOCAL_PROVIDERS or not provider or not subject:
            continue
        if provider == "phone":
            fieldmap.unmapped.note("phone number sign-in (SMS one-time code as primary sign-in)")
            continue
        links.append({"provider": providers.get(provider, provider), "subject": str(subject)})
    return links


def _password(native: dict[str, Any], hash_config: HashSpec | None) -> dict[str, Any] | None:
    value = native.get("passwordHash")
    if not isinstance(value, str) or not value:
        return None
    if hash_config is None:
        return {"hash": {"algorithm": "firebase-unknown", "value": value, "salt": native.get("salt")}}
    return {
        "hash": {
            "algorithm": hash_config.algorithm,
            "value": value,
            "salt": native.get("salt"),
            "params": hash_config.params,
        }
    }


def _mfa(native: dict[str, Any], fieldmap: FieldMap) -> list[dict[str, str]]:
    methods: list[dict[str, str]] = []
    for enrolment in native.get("mfaInfo") or ():
        if not isinstance(enrolment, dict):
            continue
        if enrolment.get("phoneInfo"):
            methods.append({"type": "phone", "value": str(enrolment["phoneInfo"])})
        elif enrolment.get("totpInfo") is not None:
            fieldmap.unmapped.note("TOTP second factor (secrets are not exported; users re-enrol)")
    return methods
