"""Mapping: LegacyUser → TargetUser (the POST /users body), or a rejection with a reason code.

Deterministic except for the random password given to users who don't bring a usable plaintext one;
planning and import map the same record the same way. Rules and their sources are in docs/limits.md.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import SecretStr

from shared.groups import GroupMapping
from shared.passwords import is_supported
from shared.preflight import (
    MAX_DISPLAY_NAME,
    MAX_EXTENSION_ATTRIBUTES,
    MAX_STRING_ATTRIBUTE,
    Problem,
    check_attribute,
    check_attribute_type,
    check_email,
    check_federated,
    check_password,
    check_user_properties,
    check_username,
    extension_data_type,
    is_e164,
    value_fits,
)
from shared.reasons import Reason, shown_algorithm
from shared.records import LegacyUser, ObjectIdentity, TargetUser

_MAX_KNOWN_NAMES = 10_000
PasswordMode = Literal["auto", "plaintext", "jit", "reset"]


@dataclass(frozen=True)
class MappingOptions:
    """How records become Entra users. `extensions_app_id` is the b2c-extensions-app's appId."""

    tenant: str
    extensions_app_id: str
    password_mode: PasswordMode = "auto"
    create_federated: bool = False
    flag_attribute: str = "toBeMigrated"
    legacy_id_attribute: str | None = "legacyId"
    attribute_renames: dict[str, str] = field(default_factory=dict)
    # Declared extension property types by attribute name (mapping profile); undeclared are inferred.
    attribute_types: dict[str, str] = field(default_factory=dict)
    # Legacy groups/roles → Entra groups and app roles (profile [groups]); empty: no memberships are written.
    groups: GroupMapping = field(default_factory=GroupMapping)

    def extension_name(self, name: str) -> str:
        return f"extension_{self.extensions_app_id.replace('-', '')}_{name}"

    @cached_property
    def reserved_names(self) -> frozenset[str]:
        """Extension names the product writes itself: no export attribute may land on them."""
        names = {self.flag_attribute.lower()}
        if self.legacy_id_attribute:
            names.add(self.legacy_id_attribute.lower())
        return frozenset(names)

    @cached_property
    def writable_names(self) -> set[str]:
        """Attribute names attribute_problem has passed (valid, not reserved): a bounded cache."""
        return set()

    def data_type(self, name: str, value: Any) -> str:
        """The dataType of attribute `name`: the profile's (declared, or inferred over the whole export
        at planning); only a mapping nobody planned falls back to the value's own type."""
        return self.attribute_types.get(name) or extension_data_type(value)


@dataclass(frozen=True)
class MappingReject:
    code: Reason
    message: str


_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&*+-=?@^_~"


def _pick(alphabet: str, n: int) -> list[str]:
    """`n` characters drawn uniformly from `alphabet` out of one urandom read (rejection sampling, no bias):
    one call per user instead of one per character, since every imported user gets one of these."""
    limit = 256 - 256 % len(alphabet)
    picked: list[str] = []
    while len(picked) < n:
        picked += [alphabet[b % len(alphabet)] for b in secrets.token_bytes(2 * n) if b < limit]
    return picked[:n]


def _random_password() -> str:
    # 3 classes guaranteed, 32 characters: always passes Entra's policy; nobody ever learns it.
    return "".join(
        [
            *_pick(_PASSWORD_ALPHABET, 29),
            *_pick(string.ascii_lowercase, 1),
            *_pick(string.ascii_uppercase, 1),
            *_pick("!#$%&*", 1),
        ]
    )


Identity = tuple[Literal["emailAddress", "userName", "federated"], str, str]  # (signInType, issuer, issuerAssignedId)


@dataclass(frozen=True, slots=True)
class Admissible:
    """What map_user decided for a record it accepts, before any TargetUser is built.

    Admission and planning need no more than this (the sign-in names, the password path); map_user
    builds the TargetUser from it. `identities` are as the TargetUser will hold them.
    """

    identities: list[Identity]
    password_path: PasswordPath
    display_name: str
    phone: str | None
    # Why the user resets although the record brings a password (a reason code: the hash can't be verified).
    reset_because: Reason | None = None


def _display_name(user: LegacyUser) -> str:
    if user.display_name:
        return user.display_name[:MAX_DISPLAY_NAME]
    full = " ".join(p for p in (user.given_name, user.surname) if p)
    if full:
        return full[:MAX_DISPLAY_NAME]
    if user.email:
        return user.email.split("@", 1)[0][:MAX_DISPLAY_NAME]
    return (user.username or user.legacy_id)[:MAX_DISPLAY_NAME]


def _identities(user: LegacyUser, options: MappingOptions) -> list[Identity] | MappingReject:
    identities: list[Identity] = []
    if user.email:
        problem = check_email(user.email)
        if problem:
            return MappingReject(*problem)
        identities.append(("emailAddress", options.tenant, user.email.lower()))
    if user.username:
        problem = check_username(user.username)
        if problem:
            return MappingReject(*problem)
        identities.append(("userName", options.tenant, user.username))
    if options.create_federated:
        for link in user.identities:
            problem = check_federated(link.provider, link.subject)
            if problem:
                return MappingReject(*problem)
            identities.append(("federated", link.provider, link.subject))
    if not identities:
        if user.identities and not options.create_federated:
            return MappingReject(Reason.FEDERATED_NOT_ENABLED, "only federated identities, and creating them is off")
        return MappingReject(Reason.NO_SIGN_IN_IDENTITY, "no email, username or enabled federated identity")
    return identities


def unsupported_hash_reject(algorithm: str) -> MappingReject:
    """Mode jit or plaintext keeps an unverifiable hash out; auto and reset send its user to reset instead."""
    return MappingReject(
        Reason.UNSUPPORTED_HASH,
        f"password hash algorithm {shown_algorithm(algorithm)!r} is not supported "
        '(password.mode "auto" or "reset" puts such users on the reset path)',
    )


# "federated": a social-only user (every identity federated) signs in at its identity provider and gets no
# password (graph docs user-post-users.md: "For a social identity, none of the properties are required").
PasswordPath = Literal["plaintext", "jit", "reset", "federated"]


def _password_path(user: LegacyUser, options: MappingOptions) -> tuple[PasswordPath, Reason | None] | MappingReject:
    """(path, why the user resets although the record brings a password), or a rejection. The password
    sent is the plaintext on the "plaintext" path, else a random one."""
    password = user.password
    if password is not None and password.hash is not None and not is_supported(password.hash):
        if options.password_mode == "auto":  # a fallback exists: the user resets instead of being dropped
            return "reset", Reason.UNSUPPORTED_HASH
        if options.password_mode != "reset":
            return unsupported_hash_reject(password.hash.algorithm)
    if options.password_mode == "reset" or password is None:
        return "reset", None
    if password.plaintext is not None:
        problem = check_password(password.plaintext.get_secret_value())
        if problem is None and options.password_mode in ("auto", "plaintext"):
            return "plaintext", None
        if problem is not None and options.password_mode == "plaintext":
            return MappingReject(*problem)
        # Entra can't take it as it is: the user keeps it through JIT (UpdatePassword asks for a new one).
        return "jit", None
    if options.password_mode == "plaintext":
        return MappingReject(Reason.MISSING_FIELD, "password mode is plaintext but the record has only a hash")
    return "jit", None


def attribute_problem(name: str, target: str, value: Any, options: MappingOptions) -> Problem | None:
    """Why attribute `name` (landing on extension `target`) can't be written, or None: its name, a
    name the product writes itself (`attribute_reserved`), then its value against the typed property."""
    known = options.writable_names
    if (
        target in known
        and isinstance(value, str | bool | int)
        and not (isinstance(value, str) and len(value) > MAX_STRING_ATTRIBUTE)
        and value_fits(options.data_type(name, value), value)
    ):
        return None  # what the checks below would say: a name they passed, a value they pass
    problem = check_attribute(target, value)
    if problem is None and target.lower() in options.reserved_names:
        problem = Reason.ATTRIBUTE_RESERVED, f"attribute {target!r} is a name ciam-migrate writes itself; rename it"
    if problem is None:
        problem = check_attribute_type(target, value, options.data_type(name, value))
    if problem is None and len(known) < _MAX_KNOWN_NAMES:
        known.add(target)
    return problem


def _attributes_problem(user: LegacyUser, options: MappingOptions) -> MappingReject | None:
    """Why the record's custom attributes can't be written: the first attribute refused, or too many."""
    renames = options.attribute_renames
    for name, value in user.attributes.items():
        problem = attribute_problem(name, renames.get(name, name), value, options)
        if problem:
            return MappingReject(*problem)
    # One extension value per distinct target name, the legacy id's, and the flag: Graph's limit counts them all.
    targets = len({renames.get(name, name) for name in user.attributes}) if renames else len(user.attributes)
    if targets + (1 if options.legacy_id_attribute else 0) + 1 > MAX_EXTENSION_ATTRIBUTES:
        return MappingReject(Reason.TOO_MANY_ATTRIBUTES, f"more than {MAX_EXTENSION_ATTRIBUTES} custom attributes")
    return None


def decide(user: LegacyUser, options: MappingOptions) -> Admissible | MappingReject:
    """map_user's verdict on a record, without building the TargetUser: the one mapping rule."""
    identities = _identities(user, options)
    if isinstance(identities, MappingReject):
        return identities
    social_only = all(kind == "federated" for kind, _, _ in identities)
    password = ("federated", None) if social_only else _password_path(user, options)
    if isinstance(password, MappingReject):
        return password
    if user.attributes:
        reject = _attributes_problem(user, options)
        if reject is not None:
            return reject
    display_name = _display_name(user)  # truncated to its maximum; the other properties are refused when over
    phone = user.phone if user.phone and is_e164(user.phone) else None
    properties = {"displayName": display_name, "givenName": user.given_name, "surname": user.surname,
                  "mobilePhone": phone}  # fmt: skip
    problem = check_user_properties(properties)
    if problem:
        return MappingReject(*problem)
    path, reset_because = password
    return Admissible(identities, path, display_name, phone, reset_because)


def target_user(
    user: LegacyUser,
    decision: Admissible,
    options: MappingOptions,
    *,
    random_password: Callable[[], str] = _random_password,
) -> TargetUser:
    """The TargetUser `decide` accepted the record as."""
    extensions: dict[str, Any] = {}
    renames = options.attribute_renames
    for name, value in user.attributes.items():
        extensions[options.extension_name(renames.get(name, name))] = value
    if options.legacy_id_attribute:
        extensions[options.extension_name(options.legacy_id_attribute)] = user.legacy_id[:256]
    path = decision.password_path
    extensions[options.extension_name(options.flag_attribute)] = path == "jit"
    plaintext = user.password.plaintext if user.password is not None else None
    secret = plaintext.get_secret_value() if path == "plaintext" and plaintext is not None else random_password()
    return TargetUser(
        legacy_id=user.legacy_id,
        display_name=decision.display_name,
        mail=user.email.lower() if user.email else None,
        given_name=user.given_name,
        surname=user.surname,
        mobile_phone=decision.phone,
        account_enabled=not user.disabled,
        identities=[
            ObjectIdentity(sign_in_type=kind, issuer=issuer, issuer_assigned_id=assigned)
            for kind, issuer, assigned in decision.identities
        ],
        password=SecretStr(secret),
        password_path=path,
        reset_because=decision.reset_because,
        force_change_password=False,
        extension_attributes=extensions,
    )


def map_user(
    user: LegacyUser, options: MappingOptions, *, random_password: Callable[[], str] = _random_password
) -> TargetUser | MappingReject:
    """`random_password` makes the stand-in password; planning passes a constant one (nothing is sent)."""
    decision = decide(user, options)
    if isinstance(decision, MappingReject):
        return decision
    return target_user(user, decision, options, random_password=random_password)


def extension_properties_for(users_attributes: dict[str, Any], options: MappingOptions) -> dict[str, str]:
    """{full extension name: dataType} that must exist before users carrying these attributes are created.
    Reserved names keep the product's own types: a record that carries one is rejected, never registers it."""
    wanted: dict[str, str] = {}
    for name, value in users_attributes.items():
        target = options.attribute_renames.get(name, name)
        if target.lower() not in options.reserved_names:
            wanted[options.extension_name(target)] = options.data_type(name, value)
    wanted[options.extension_name(options.flag_attribute)] = "Boolean"
    if options.legacy_id_attribute:
        wanted[options.extension_name(options.legacy_id_attribute)] = "String"
    return wanted
