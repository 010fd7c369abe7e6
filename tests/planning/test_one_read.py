"""`plan` reads an export once; what it plans is what planning with the attribute types decided first gives.

The single read admits each record as it comes, taking the dataType each attribute value implies; that
is the type inferred over the whole export whenever each attribute keeps one dataType, and an export
where one does not is planned again with two reads (types first). Compared here on every sample and on
generated Auth0 exports holding every rejection reason the auth0 reader and the mapping can produce
(whitespace pydantic strips, lone surrogates, odd dates, …), under several mapping profiles, with and
without attributes that mix dataTypes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from shared.planning import plan_document, plan_export
from shared.profiles import load_profile
from shared.reasons import Reason
from tests.planning.test_plan import CASES

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
TENANT = "contoso.onmicrosoft.com"
BCRYPT = "$2b$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
SAMPLE_CASES = [*CASES, ("jsonl", SAMPLES / "users.jsonl", None)]

# Profiles the generated export is planned under: each opens rejection paths the default keeps shut.
PROFILES = {
    "default": "",
    # Federated identities created (federated duplicates, over-long subjects), a plaintext password
    # column in plaintext mode (weak / non-ASCII passwords, "only a hash"), typed attributes, groups,
    # two attributes renamed onto one extension name, one onto an invalid name.
    "federated-plaintext": """
[identities]
federated = true
[password]
mode = "plaintext"
[fields]
password = "plain_password"
groups = "app_metadata.roles"
[attributes.age]
source = "app_metadata.age"
type = "Integer"
[attributes.vip]
source = "app_metadata.vip"
type = "Boolean"
[target]
attribute_renames = { loyalty_tier = "tier", tier = "tier", score = "not-a-name" }
""",
    # No username or email identities, reset mode, no legacy-id attribute, lenient dates left raw.
    "reset-no-email": """
[identities]
email = false
username = false
[password]
mode = "reset"
[target]
legacy_id_attribute = ""
[transforms]
createdAt = []
updatedAt = []
""",
    # Emails kept in their case (the guard key lowercases them), plaintext passwords left to JIT.
    "jit-case-kept": """
[password]
mode = "jit"
[fields]
password = "plain_password"
[transforms]
email = ["trim"]
""",
}

# Every Reason a record can get from the auth0 reader or the mapping while planning. Not reachable:
# unknown_field (profiles only name interchange fields), invalid_phone (phone is lenient: a bad one is
# left out and counted), tenant_object_quota and the Graph-side codes (no record carries them here).
PLAN_REASONS = (
    {r.value for r in Reason}
    - {
        "unknown_field",
        "invalid_phone",
        "tenant_object_quota",
        "graph_rejected",
        "graph_unavailable",
        "conflict_unresolved",
        # Decided by the reader before planning sees the record (tests/sources/test_reader_defects.py).
        "json_too_deep",
        "duplicate_key",
        "invalid_password_hash",
    }
    - {r.value for r in Reason if r.value.startswith("mfa_")}
)  # a method's reason, never a record's (auth_methods)


def _user(i: int, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "user_id": f"auth0|{i:024x}",
        "email": f"user{i}@example.com",
        "email_verified": i % 3 == 0,
        "name": f"User {i}",
        "given_name": "User",
        "family_name": f"N{i}",
        "created_at": "2021-03-04T10:11:12.000Z",
        "updated_at": "2024-01-02T08:00:00.000Z",
        "identities": [{"provider": "auth0", "user_id": f"{i:024x}", "connection": "db", "isSocial": False}],
        "user_metadata": {"loyalty_tier": "gold", "newsletter": i % 2 == 0},
        "passwordHash": BCRYPT,
    }
    record.update(extra)
    return {k: v for k, v in record.items() if v is not None}


def _social(i: int, provider: str = "google-oauth2", subject: Any = None, **extra: Any) -> dict[str, Any]:
    subject = str(10**17 + i) if subject is None else subject
    link = {"provider": provider, "user_id": subject, "connection": provider, "isSocial": True}
    return _user(i, **{"user_id": f"{provider}|{subject}", "identities": [link], "passwordHash": None, **extra})


def edge_records() -> list[Any]:
    """One or more records per rejection reason and per edge of validation; str items are raw lines."""
    many = {f"attr{n}": n for n in range(101)}

    def first(count: int, **more: Any) -> dict[str, Any]:
        return {**dict(list(many.items())[: count - len(more)]), **more}

    return [
        _user(1),
        _user(2, username="ada_l", phone_number="+442079460958", phone_verified=True, blocked=False),
        # invalid_json (not the first line), a JSON line that is not an object
        "{not json",
        "[1, 2]",
        "   ",
        # invalid_record: transforms and pydantic refusing values
        _user(3, email_verified="maybe"),
        _user(4, created_at="2021-13-01T00:00:00Z"),
        _user(5, created_at="2021-02-29T00:00:00Z"),
        _user(6, updated_at="not a date"),
        _user(7, username=12345),
        _user(8, name=["a", "list"]),
        _user(9, blocked="perhaps"),
        _user(10, phone_verified="yes"),
        # missing_field: no user id at all; an empty one
        {"email": "nobody@example.com"},
        _user(11, user_id=""),
        # duplicate_legacy_id, duplicate_identity (email in another case, same username)
        _user(1, email="other1@example.com"),
        _user(12, email="USER2@example.com"),
        _user(13, username="ADA_L"),
        # invalid_email, invalid_username, identity_too_long
        _user(14, email="user14-at-example.com"),
        _user(15, email="a..b@example.com"),
        _user(16, username="-bad"),
        _user(17, email="x" * 60 + "@example.com"),
        _user(18, username="u" * 65),
        # property_too_long (resources/user.md maxima, shared/entra_limits.py); at the limit passes;
        # displayName is truncated instead
        _user(193, given_name="g" * 65),
        _user(194, family_name="s" * 65),
        _user(195, given_name="g" * 64, family_name="s" * 64, name="n" * 300),
        # no_sign_in_identity, federated_identity_not_enabled, passwordless (unmapped) identities
        _user(19, email=None, identities=[]),
        _social(20, email=None),
        _social(21, provider="sms", email=None),
        _social(22, provider="email"),
        _social(23, provider="facebook"),
        _social(24, provider="facebook", email="user24b@example.com"),
        _social(25, provider="facebook", subject=str(10**17 + 24), email="user25@example.com"),
        _social(26, subject="s" * 65, email="user26@example.com"),
        _social(27, subject=123456789),
        _social(28, provider="apple", subject=" padded "),
        # unsupported_hash_algorithm: md5-crypt, sha-crypt, unknown label, malformed bcrypt
        _user(29, passwordHash="$1$abc$defghijk"),
        _user(30, passwordHash="$6$rounds=5000$salt$hash"),
        _user(31, passwordHash="plainhashvalue"),
        _user(32, passwordHash="$2b$10$tooshort"),
        _user(33, passwordHash=BCRYPT + " "),
        _user(34, passwordHash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
        _user(35, passwordHash="$P$B12345678901234567890123456789"),
        _user(36, passwordHash="pbkdf2_sha256$260000$salt$aGFzaA=="),
        _user(37, passwordHash=""),
        # attributes: too long, invalid names, too many, nested/float/list values, whitespace names
        _user(38, user_metadata={"bio": "x" * 300}),
        _user(39, user_metadata={"bad-name": 1}),
        _user(40, user_metadata={"1abc": "x"}),
        _user(41, user_metadata=many),
        _user(42, user_metadata=first(97)),
        # … at the limit: 100 entries with the legacy id and the flag attribute (map_user's count)
        _user(89, user_metadata=first(98)),
        _user(90, user_metadata=first(99)),
        _user(91, user_metadata=first(100)),
        _user(92, user_metadata=first(99, legacyId="shadow")),
        # … where two attributes share an extension name through renames (profile federated-plaintext)
        _user(
            93, user_metadata=first(99, tier="a", loyalty_tier="b"), plain_password="Str0ng!Passw0rd", passwordHash=None
        ),
        _user(
            94,
            user_metadata=first(100, tier="a", loyalty_tier="b"),
            plain_password="Str0ng!Passw0rd",
            passwordHash=None,
        ),
        _user(43, user_metadata={"prefs": {"theme": "dark"}, "score": 1.5, "tags": ["one"], "gone": None}),
        _user(44, user_metadata={" tier ": "gold", "empty": ""}),
        _user(45, user_metadata={"tier": "silver", "loyalty_tier": "gold"}),
        _user(46, user_metadata={"big": 2**40, "flag": True}),
        # … typed over the whole export: beyond 64 bits, and a string where most records hold integers
        _user(95, user_metadata={"big": 2**70}),
        _user(96, user_metadata={"big": "huge"}),
        _user(47, app_metadata={"age": "abc", "roles": ["admin"]}),
        _user(48, app_metadata={"age": "42", "vip": "yes", "roles": ["admin", " spaced "]}),
        _user(49, app_metadata={"age": 7, "vip": "maybe"}),
        _user(50, app_metadata={"roles": "a;b"}),
        # plaintext passwords (profiles that read plain_password): weak, non-ASCII, good, padded
        _user(51, plain_password="short", passwordHash=None),
        _user(52, plain_password="Pässw0rd!long", passwordHash=None),
        _user(53, plain_password="Str0ng!Passw0rd", passwordHash=None),
        _user(54, plain_password=" Str0ng!Passw0rd ", passwordHash=None),
        _user(55, plain_password="alllowercaseonly", passwordHash=None),
        # whitespace and Unicode pydantic treats differently from Python: strip, \x1f, NBSP, surrogates
        _user(56, name=" Padded Name "),
        _user(57, name="\x1fUnit Sep"),
        _user(58, given_name="\u00a0Nbsp"),
        _user(59, family_name="Lone \ud800 surrogate"),
        _user(60, name="José Ñúñez", given_name="José"),
        _user(61, user_id=" auth0|padded "),
        _user(62, user_id="auth0|" + "z" * 1020),
        _user(63, user_id="auth0|" + "z" * 1019),
        _user(64, user_id=12345),
        _user(65, user_id=True, email="user65@example.com"),
        _user(66, email="  Mixed.Case@Example.COM  "),
        _user(95, email="MIXED.case@example.com"),
        _user(96, user_metadata={"score": 5}, plain_password="Str0ng!Passw0rd", passwordHash=None),
        _user(67, email=42),
        _user(68, name="n" * 300),
        _user(69, user_metadata={"bio": "\ud800"}),
        # dates: leap day, fractions, offsets, epoch numbers, date only, naive, lowercase z
        _user(70, created_at="2020-02-29T23:59:59.123456+05:30"),
        _user(71, created_at="2021-03-04T10:11:12.1234567Z"),
        _user(72, created_at="2021-03-04T10:11:12+24:00"),
        _user(73, created_at="2021-03-04T24:00:00Z"),
        _user(74, created_at=1600000000),
        _user(75, created_at=1600000000000),
        _user(76, created_at="2021-03-04"),
        _user(77, created_at="2021-03-04T10:11:12"),
        _user(78, created_at="2021-03-04t10:11:12z"),
        _user(79, created_at="0000-01-01T00:00:00Z"),
        _user(80, created_at="2021-04-31T00:00:00Z"),
        _user(81, created_at={"$date": "2021-03-04T10:11:12.000Z"}),
        _user(82, created_at=True),
        # phones: national (E.164 transform with the profile's region), not a number, an int
        _user(83, phone_number="(415) 555-0100"),
        _user(84, phone_number="not a phone"),
        _user(85, phone_number=4155550100),
        _user(86, phone_number="+1415555"),
        # the hash export's shape: _id.$oid / alt_id, no identities
        {"_id": {"$oid": "5f7c8ec7c33c6c004bbafe99"}, "email": "hash1@example.com", "passwordHash": BCRYPT},
        {"_id": "plainoid", "alt_id": "alt-1", "email": "hash2@example.com", "passwordHash": BCRYPT},
        {"_id": {"$oid": 5}, "email": "hash3@example.com"},
        # unmapped features, blocked users, MFA enrolments (not exported)
        _user(87, app_metadata={"roles": ["x"]}, multifactor=["guardian"], blocked=True),
        _user(88, blocked="true"),
        # a record with every optional field absent but the id and an email
        {"user_id": "auth0|minimal", "email": "minimal@example.com"},
    ]


def random_records(rng: random.Random, count: int) -> list[Any]:
    """Records mixed from the edge cases' building blocks, so their combinations get compared too."""
    texts = ["plain", " lead", "trail ", "", "José", "\ud83d\ude00", "a\x1fb", "\u00a0x", "\ud800", "x" * 300]
    dates = ["2021-03-04T10:11:12Z", "2020-02-29T00:00:00.5+01:00", "2021-02-30T00:00:00Z", "2021-03-04", 1600000000]
    hashes = [BCRYPT, "$1$x$y", "plain", BCRYPT[:-1], None, "$2y$" + BCRYPT[4:]]
    out: list[Any] = []
    for i in range(count):
        n = 1000 + rng.randrange(count)  # some legacy ids and emails repeat
        record = _user(
            n,
            email=rng.choice([f"u{n}@example.com", f"U{n}@EXAMPLE.com ", None, f"bad{n}", rng.choice(texts)]),
            username=rng.choice([None, None, f"user_{n}", rng.choice(texts)]),
            name=rng.choice([*texts, None]),
            given_name=rng.choice([*texts, None]),
            created_at=rng.choice(dates),
            passwordHash=rng.choice(hashes),
            phone_number=rng.choice([None, "+14155550100", "0207 946 0958", "abc"]),
            blocked=rng.choice([None, True, False, "yes", "nope"]),
            user_metadata=rng.choice(
                [{}, {"tier": rng.choice(texts)}, {"loyalty_tier": "gold", "n": rng.randrange(3)}, {"bad name": 1}]
            ),
            app_metadata=rng.choice([None, {"roles": [rng.choice(texts)], "age": rng.choice(["3", "x", 4])}]),
            plain_password=rng.choice([None, "Str0ng!Passw0rd", "weak", "Pässw0rd!long"]),
        )
        if rng.random() < 0.2:
            record = _social(n, provider=rng.choice(["google-oauth2", "facebook", "sms"]), email=record.get("email"))
        out.append(record)
    return out


def _line(record: Any) -> str:
    if isinstance(record, str):
        return record
    text = json.dumps(record, ensure_ascii=False)  # raw UTF-8 where it can be …
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record)  # … and \ud800 escapes for lone surrogates
    return text


def overflow_records() -> list[dict[str, Any]]:
    """More distinct names than the inventory tracks (MAX_NAMES): attributes, hash labels, providers, groups."""
    return [
        _social(
            5000 + k,
            provider=f"idp-{k}",
            email=f"over{k}@example.com",
            passwordHash=f"$x{k}$salt$hash",
            user_metadata={f"k{k}_{j}": j for j in range(3)},
            app_metadata={"roles": [f"group-{k}"]},
        )
        for k in range(230)
    ]


def write_export(path: Path, records: list[Any]) -> Path:
    path.write_text("\n".join(_line(r) for r in records) + "\n", encoding="utf-8")
    return path


def profile_for(name: str, tmp_path: Path) -> Any:
    if not PROFILES[name]:
        return load_profile("auth0")
    mapping = tmp_path / f"{name}.toml"
    mapping.write_text(PROFILES[name])
    return load_profile("auth0", mapping)


def both_plans(export: Path, profile: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(the plan as shipped, the plan with the types decided over a first read, reads the first took)."""
    one = plan_export(export, profile, tenant=TENANT, apps=2)
    two = plan_export(export, profile, tenant=TENANT, apps=2, types_first=True)
    assert two.reads == 2
    return plan_document(one), plan_document(two), one.reads


@pytest.mark.parametrize(("source", "export", "mapping"), SAMPLE_CASES)
def test_samples_plan_the_same_in_one_read(source: str, export: Path, mapping: Path | None) -> None:
    one, two, _ = both_plans(export, load_profile(source, mapping))
    assert one == two


MIXED = ("big", "score", "n")  # attribute names the generated records give values of two dataTypes


def _one_type_each(record: Any) -> Any:
    """The record without the attributes that mix dataTypes across the generated export."""
    if not isinstance(record, dict) or not isinstance(record.get("user_metadata"), dict):
        return record
    return {**record, "user_metadata": {k: v for k, v in record["user_metadata"].items() if k not in MIXED}}


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
@pytest.mark.parametrize("mixed", [False, True])
def test_generated_export_plans_the_same_in_one_read(profile_name: str, mixed: bool, tmp_path: Path) -> None:
    records = edge_records() + random_records(random.Random(profile_name), 600) + edge_records() + overflow_records()
    if not mixed:
        records = [_one_type_each(r) for r in records]
    export = write_export(tmp_path / "users.ndjson", records)
    one, two, reads = both_plans(export, profile_for(profile_name, tmp_path))
    assert one == two
    assert one["total"] == len([r for r in records if not (isinstance(r, str) and not r.strip())])
    assert reads == (3 if mixed else 1)
    assert len(one["by_reason"]) > 3  # rejects of several kinds, in both plans alike


@pytest.mark.parametrize(
    ("values", "reads"),
    [
        (["a", "b", "c"], 1),
        ([True, False, True], 1),
        ([1, 2**31 - 1, -(2**31)], 1),
        ([2**40, 2**33, -(2**40)], 1),  # all wider than 32 bits: LargeInteger for each, and inferred
        ([1, 2**40], 3),  # Integer, then LargeInteger: the first read stops, two more follow
        ([2**70], 3),  # fits no type: the inferred one depends on the others
        (["a", 1, 2], 3),  # most are integers: the string is the one rejected
        ([True, "yes"], 3),
    ],
)
def test_one_read_exactly_when_each_attribute_keeps_one_type(values: list[Any], reads: int, tmp_path: Path) -> None:
    records = [_user(i, user_metadata={"tier": value}) for i, value in enumerate(values)]
    export = write_export(tmp_path / "users.ndjson", records)
    profile = load_profile("auth0")
    one = plan_export(export, profile, tenant=TENANT)
    two = plan_export(export, profile, tenant=TENANT, types_first=True)
    assert one.reads == reads
    assert plan_document(one) == plan_document(two)
    assert one.options == two.options


def test_generated_exports_hold_every_rejection_reason(tmp_path: Path) -> None:
    export = write_export(tmp_path / "users.ndjson", edge_records())
    seen: set[str] = set()
    for name in PROFILES:
        seen |= set(plan_document(plan_export(export, profile_for(name, tmp_path), tenant=TENANT))["by_reason"])
    assert seen == PLAN_REASONS
