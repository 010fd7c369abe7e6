"""Synthetic exports of every source format, for the planning benchmarks.

Every format carries the same population: mostly local users with a password hash where the vendor
exports one, every 10th user social (federated) instead, every 7th with a phone number, every 1000th
with a malformed email (a reject), one or two custom attributes. `write_export(source, path, users)`
streams the file (constant memory) and returns the mapping profile the source needs, or None.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
FIREBASE_MAPPING = ROOT / "samples/firebase/mapping.toml"  # the project's hash parameters
CSV_MAPPING = ROOT / "samples/csv/mapping.toml"  # the column names
TEMPLATE_HASH = "$2b$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"[:53]
PBKDF2_SECRET = json.dumps(
    {"value": "aSo/OoDqmJViRUprNh91cissF5PcCJA/5rzvjIFPIDo=", "salt": "Gc9Dm1C0bz4gpaoLw1sQ3g=="}
)
PBKDF2_DATA = json.dumps({"hashIterations": 27500, "algorithm": "pbkdf2-sha256", "additionalParameters": {}})
FIREBASE_HASH = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
SHA256_HEX = "c42e8f38856db76025a2620972acbe97619b8cc610cac050ba196afb02aedb56"
TIERS = ("gold", "silver", "bronze")


def _email(i: int) -> str:
    return f"user{i}@example.com" if i % 1000 else f"user{i}-at-example.com"


def _social(i: int) -> bool:
    return i % 10 == 0


def _auth0(i: int) -> dict[str, Any]:
    social = _social(i)
    record: dict[str, Any] = {
        "user_id": f"google-oauth2|{10**17 + i}" if social else f"auth0|{i:024x}",
        "email": _email(i),
        "email_verified": i % 3 != 0,
        "name": f"User Number{i}",
        "given_name": "User",
        "family_name": f"Number{i}",
        "created_at": "2021-03-04T10:11:12.000Z",
        "updated_at": "2024-01-02T08:00:00.000Z",
        "logins_count": i % 50,
        "identities": [
            {"provider": "google-oauth2", "user_id": str(10**17 + i), "connection": "google-oauth2", "isSocial": True}
            if social
            else {
                "provider": "auth0",
                "user_id": f"{i:024x}",
                "connection": "Username-Password-Authentication",
                "isSocial": False,
            }
        ],
        "user_metadata": {"loyalty_tier": TIERS[i % 3], "newsletter": i % 2 == 0},
    }
    if not social:
        record["passwordHash"] = TEMPLATE_HASH
    if i % 7 == 0:
        record["phone_number"] = f"+1415555{i % 10000:04d}"
    return record


def _jsonl(i: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "legacyId": f"u{i:08d}",
        "email": _email(i),
        "emailVerified": i % 3 != 0,
        "givenName": "User",
        "surname": f"Number{i}",
        "createdAt": "2021-03-04T10:11:12Z",
        "attributes": {"loyaltyTier": TIERS[i % 3], "marketingOptIn": i % 2 == 0},
    }
    if _social(i):
        record["identities"] = [{"provider": "google.com", "subject": str(10**17 + i)}]
    else:
        record["password"] = {"hash": {"algorithm": "bcrypt", "value": TEMPLATE_HASH}}
    if i % 7 == 0:
        record["phone"] = f"+1415555{i % 10000:04d}"
    return record


def _firebase(i: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "localId": f"fb{i:026d}",
        "email": _email(i),
        "emailVerified": i % 3 != 0,
        "displayName": f"User Number{i}",
        "createdAt": "1614852672000",
        "lastSignedInAt": "1714554000000",
        "customAttributes": json.dumps({"plan": TIERS[i % 3]}),
    }
    if _social(i):
        record["providerUserInfo"] = [{"providerId": "google.com", "rawId": str(10**17 + i), "email": _email(i)}]
    else:
        record["passwordHash"], record["salt"] = FIREBASE_HASH, "42xEC+ixf3L2lw=="
        record["providerUserInfo"] = [{"providerId": "password", "rawId": _email(i), "email": _email(i)}]
    if i % 7 == 0:
        record["phoneNumber"] = f"+1415555{i % 10000:04d}"
    return record


def _keycloak(i: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "createdTimestamp": 1614852672000,
        "username": f"user{i}",
        "enabled": True,
        "emailVerified": i % 3 != 0,
        "firstName": "User",
        "lastName": f"Number{i}",
        "email": _email(i),
        "attributes": {"loyaltyTier": [TIERS[i % 3]]},
    }
    if i % 7 == 0:
        record["attributes"]["phoneNumber"] = [f"+1415555{i % 10000:04d}"]
    if _social(i):
        record["federatedIdentities"] = [{"identityProvider": "google", "userId": str(10**17 + i), "userName": "x"}]
    else:
        record["credentials"] = [{"type": "password", "secretData": PBKDF2_SECRET, "credentialData": PBKDF2_DATA}]
    return record


def _b2c(i: int) -> dict[str, Any]:
    identities = [{"signInType": "emailAddress", "issuer": "contosob2c.onmicrosoft.com", "issuerAssignedId": _email(i)}]
    if _social(i):
        identities = [{"signInType": "federated", "issuer": "google.com", "issuerAssignedId": str(10**17 + i)}]
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "displayName": f"User Number{i}",
        "givenName": "User",
        "surname": f"Number{i}",
        "mail": None,
        "mobilePhone": f"+1415555{i % 10000:04d}" if i % 7 == 0 else None,
        "accountEnabled": True,
        "createdDateTime": "2021-03-04T10:11:12Z",
        "identities": identities,
        "extension_0123456789abcdef0123456789abcdef_loyaltyTier": TIERS[i % 3],
    }


def _cognito(i: int) -> dict[str, Any]:
    sub = f"00000000-0000-4000-8000-{i:012d}"
    attributes = [
        {"Name": "sub", "Value": sub},
        {"Name": "email", "Value": _email(i)},
        {"Name": "email_verified", "Value": "true" if i % 3 else "false"},
        {"Name": "given_name", "Value": "User"},
        {"Name": "family_name", "Value": f"Number{i}"},
        {"Name": "custom:tier", "Value": TIERS[i % 3]},
    ]
    if i % 7 == 0:
        attributes.append({"Name": "phone_number", "Value": f"+1415555{i % 10000:04d}"})
    if _social(i):
        links = [{"providerName": "Google", "userId": str(10**17 + i), "providerType": "Google"}]
        attributes.append({"Name": "identities", "Value": json.dumps(links)})
    return {
        "Username": sub,
        "Attributes": attributes,
        "UserCreateDate": "2021-03-04T10:11:12.000000+00:00",
        "UserLastModifiedDate": "2024-01-02T08:00:00.000000+00:00",
        "Enabled": True,
        "UserStatus": "CONFIRMED",
    }


CSV_HEADER = ["customer_id", "email_address", "full_name", "mobile", "signup_date", "is_active", "pw_hash", "pw_salt"]
OKTA_HEADER = ["id", "status", "created", "lastUpdated", "login", "firstName", "lastName", "email", "mobilePhone"]


def _csv(i: int) -> list[str]:
    phone = f"+1 415 555 {i % 10000:04d}" if i % 7 == 0 else ""
    return [str(1000 + i), _email(i), f"User Number{i}", phone, "2021-03-04", "yes", SHA256_HEX, f"s4lt{i}"]


def _okta(i: int) -> list[str]:
    phone = f"+1 415 555 {i % 10000:04d}" if i % 7 == 0 else ""
    return [f"00u{i:017d}", "ACTIVE", "2021-03-04T10:11:12.000Z", "2024-01-02T08:00:00.000Z",
            _email(i), "User", f"Number{i}", _email(i), phone]  # fmt: skip


def _lines(out: IO[str], users: int, make: Callable[[int], dict[str, Any]]) -> None:
    for i in range(users):
        out.write(json.dumps(make(i), separators=(",", ":")) + "\n")


def _array(out: IO[str], users: int, make: Callable[[int], dict[str, Any]], prefix: str, suffix: str) -> None:
    out.write(prefix)
    for i in range(users):
        out.write(("," if i else "") + "\n" + json.dumps(make(i), separators=(",", ":")))
    out.write("\n" + suffix)


def _rows(out: IO[str], users: int, header: list[str], make: Callable[[int], list[str]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(make(i) for i in range(users))


Writer = Callable[[IO[str], int], None]
# source → (file suffix, writer, mapping profile the bench plans it with, or None for the default)
FORMATS: dict[str, tuple[str, Writer, Path | None]] = {
    "jsonl": (".jsonl", lambda out, n: _lines(out, n, _jsonl), None),
    "auth0": (".ndjson", lambda out, n: _lines(out, n, _auth0), None),
    "firebase": (".json", lambda out, n: _array(out, n, _firebase, '{"users":[', "]}"), FIREBASE_MAPPING),
    "csv": (".csv", lambda out, n: _rows(out, n, CSV_HEADER, _csv), CSV_MAPPING),
    "keycloak": (".json", lambda out, n: _array(out, n, _keycloak, '{"realm":"bench","users":[', "]}"), None),
    "b2c": (".json", lambda out, n: _array(out, n, _b2c, '{"value":[', "]}"), None),
    "cognito": (".json", lambda out, n: _array(out, n, _cognito, '{"Users":[', "]}"), None),
    "okta": (".csv", lambda out, n: _rows(out, n, OKTA_HEADER, _okta), None),
}  # fmt: skip


def export_name(source: str, users: int, *, compress: bool) -> str:
    return f"{source}-{users}{FORMATS[source][0]}{'.gz' if compress else ''}"


def write_export(source: str, path: Path, users: int, *, compress: bool = False) -> Path | None:
    """Write `users` generated users of `source`'s format to `path`; the mapping profile to plan it with."""
    _, write, mapping = FORMATS[source]
    opener: Callable[..., IO[str]] = gzip.open if compress else open  # type: ignore[assignment]
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        write(out, users)
    return mapping


def sources() -> Iterator[str]:
    yield from FORMATS
