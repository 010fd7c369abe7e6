"""Planning's fast path: count a record from its interchange fields, without LegacyUser or TargetUser.

The reference path validates each record into a LegacyUser (pydantic), maps it with `map_user` into
a TargetUser and counts both. Planning keeps none of them, so for a record whose fields are plainly
valid it can apply the same rules to the plain dict, at a fraction of the cost:

1. `FastPlanner.accepts(fields)` is a conservative test that `LegacyUser.model_validate(fields)`
   succeeds *and leaves every value the plan reads unchanged*: only known keys, exact types, no
   whitespace at either end of a string (pydantic would strip it), no lone surrogates, strict
   RFC 3339 dates, nested identities and passwords of the shapes the readers build, no MFA. Any
   doubt (False) sends the record down the reference path, so rejection codes and messages stay
   those of pydantic and `map_user`.
2. `FastPlanner.count(fields)` then counts what `Inventory.observe` counts and decides what
   `map_user` decides, with the same preflight functions and messages: a MappingReject, or the
   password path and the identity keys for the duplicate check.

tests/planning/test_fast_path.py compares both paths on generated exports holding every rejection
reason the auth0 reader and the mapping produce, and on every sample.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, cast

from shared.mapping import MappingOptions, MappingReject, attribute_problem, unsupported_hash_reject
from shared.passwords import is_supported
from shared.planning.inventory import ATTRIBUTE_TOO_LONG, MAX_NAMES, OTHER, RESET_FALLBACK, AttributeSeen, Inventory
from shared.preflight import (
    MAX_DISPLAY_NAME,
    MAX_EXTENSION_ATTRIBUTES,
    MAX_STRING_ATTRIBUTE,
    check_email,
    check_federated,
    check_password,
    check_user_properties,
    check_username,
    is_e164,
    value_fits,
)
from shared.reasons import MAX_KEY_ECHO, Reason, safe_key, shown_algorithm
from shared.records import PasswordHash

# LegacyUser's fields by alias, and the check the fast path makes on each (see accepts).
_TEXT, _FLAG, _DATE, _ATTRIBUTES, _IDENTITIES, _PASSWORD, _GROUPS = range(7)
_KINDS: dict[str, int] = {
    **dict.fromkeys(("legacyId", "email", "phone", "username", "displayName", "givenName", "surname"), _TEXT),
    **dict.fromkeys(("emailVerified", "phoneVerified", "disabled"), _FLAG),
    **dict.fromkeys(("createdAt", "updatedAt"), _DATE),
    "attributes": _ATTRIBUTES,
    "identities": _IDENTITIES,
    "password": _PASSWORD,
    "groups": _GROUPS,
}  # "mfa" is left to the model
_HASH_KEYS = frozenset({"algorithm", "value", "salt", "params"})
_LINK_KEYS = frozenset({"provider", "subject"})
# RFC 3339 that pydantic surely parses: ASCII digits, fields in range, at most microseconds, offset
# under 24h, year 0001-9999. Days 29-31 are then checked against their month (date.fromisoformat).
_RFC3339 = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_MAX_CACHED_NAMES = 4096

IdentityKeys = list[tuple[str, str]]  # (guard key, signInType), as admission.identity_key builds them


def clean_text(value: str) -> bool:
    """True when pydantic keeps this str as it is: nothing to strip at either end, valid Unicode.

    `strip()` returns the very same object when there is nothing to strip; Python's whitespace
    covers every character pydantic's (Rust's) trim removes, and a few more (then we're unsure).
    """
    return value.strip() is value and (value.isascii() or _utf8_ok(value))


def _utf8_ok(value: str) -> bool:
    try:
        value.encode("utf-8")  # lone surrogates (JSON "\ud800") fail pydantic's string check
    except UnicodeEncodeError:
        return False
    return True


def _clean_str(value: Any) -> bool:
    return type(value) is str and value.strip() is value and (value.isascii() or _utf8_ok(value))


def _date_ok(value: Any) -> bool:
    if type(value) is not str:
        return type(value) is datetime
    if not _RFC3339.fullmatch(value):
        return False
    if value[8:10] <= "28":  # every month has it
        return True
    try:
        date.fromisoformat(value[:10])  # the 29th-31st of this month, in this year
    except ValueError:
        return False
    return True


class _Secret:
    """SecretStr's reading side (get_secret_value), reusable: the checks read it and let go."""

    __slots__ = ("secret",)

    def __init__(self) -> None:
        self.secret = ""

    def get_secret_value(self) -> str:
        return self.secret


class _HashView:
    """What shared.passwords' checks read from a PasswordHash: its four attributes, nothing else.

    One view is refilled per record (is_supported keeps no reference), so asking costs no allocation.
    """

    __slots__ = ("_salt", "algorithm", "params", "salt", "value")

    def __init__(self) -> None:
        self.algorithm = ""
        self.value = _Secret()
        self._salt = _Secret()
        self.salt: _Secret | None = None
        self.params: dict[str, Any] | None = None

    def supported(self, raw: dict[str, Any]) -> bool:
        """shared.passwords.is_supported for a hash dict as readers build it (accepted by _password_ok)."""
        self.algorithm = raw["algorithm"]
        self.value.secret = raw["value"]
        salt = raw.get("salt")
        if salt is None:
            self.salt = None
        else:
            self._salt.secret = salt
            self.salt = self._salt
        self.params = raw.get("params")
        return is_supported(cast(PasswordHash, self))


class FastPlanner:
    """The fast path for one plan run: options-derived values computed once."""

    def __init__(self, options: MappingOptions, inventory: Inventory) -> None:
        self.options = options
        self.inventory = inventory
        self._tenant_key = options.tenant.lower()
        self._legacy_attribute = options.legacy_id_attribute
        self._base_attributes = 1 + (1 if options.legacy_id_attribute else 0)
        self._renames = options.attribute_renames
        self._create_federated = options.create_federated
        self._mode = options.password_mode
        # Attribute names (after renames) check_attribute accepts as names; a bounded cache.
        self._good_names: set[str] = set()
        self._hash_supported = _HashView().supported

    def accepts(self, fields: dict[str, Any]) -> bool:
        """True only when LegacyUser.model_validate(fields) surely succeeds with the same values."""
        legacy_id = fields.get("legacyId")
        if type(legacy_id) is not str or not 0 < len(legacy_id) <= 1024:
            return False
        kinds = _KINDS
        for key, value in fields.items():
            kind = kinds.get(key)
            if kind == _TEXT:
                if type(value) is not str or value.strip() is not value or not (value.isascii() or _utf8_ok(value)):
                    return False
            elif kind == _FLAG:
                if type(value) is not bool:
                    return False
            elif kind == _DATE:
                if not _date_ok(value):
                    return False
            elif kind == _ATTRIBUTES:
                if type(value) is not dict or not all(map(_clean_str, value)):
                    return False
            elif kind == _IDENTITIES:
                if not _links_ok(value):
                    return False
            elif kind == _PASSWORD:
                if not _password_ok(value):
                    return False
            elif kind == _GROUPS:
                if type(value) is not list or not all(map(_clean_str, value)):
                    return False
            else:  # mfa, or a key LegacyUser doesn't know
                return False
        return True

    def count(self, fields: dict[str, Any]) -> MappingReject | tuple[str, IdentityKeys]:
        """Inventory.observe's counts, then map_user's decision: a MappingReject (same code and message)
        or (password path, identity keys). Only for fields accepts() said yes to."""
        inv = self.inventory
        quality = inv.quality
        email = fields.get("email")
        username = fields.get("username")
        links: list[dict[str, str]] = fields.get("identities") or []
        password: dict[str, Any] | None = fields.get("password")
        attributes: dict[str, Any] = fields.get("attributes") or {}

        # -- what Inventory.observe counts -----------------------------------------------------
        kinds = inv.identity_kinds
        if email:
            kinds["local email"] += 1
        if username:
            kinds["username"] += 1
        if links:
            providers = inv.federated_by_provider
            for link in links:
                name = link["provider"]
                if name in providers or len(providers) < MAX_NAMES:
                    providers[name] += 1
                else:
                    providers[OTHER] += 1
            kinds["federated"] += 1
        if not (email or username or links):
            kinds["none"] += 1
        phone = fields.get("phone")
        if phone:
            inv.phones["verified" if fields.get("phoneVerified") else "unverified"] += 1
            if not is_e164(phone):
                quality["phone not E.164 (left out)"] += 1
        display_name = fields.get("displayName")
        if display_name and len(display_name) > MAX_DISPLAY_NAME:
            quality["display name over 256 characters (truncated)"] += 1
        if fields.get("disabled"):
            inv.disabled += 1
        supported = True
        if password is None:
            inv.password_kinds["none"] += 1
        elif "hash" in password:
            raw = password["hash"]
            inv.password_kinds["hashed"] += 1
            algorithms = inv.hash_algorithms
            name = shown_algorithm(raw["algorithm"])
            if name in algorithms or len(algorithms) < MAX_NAMES:
                algorithms[name] += 1
            else:
                algorithms[OTHER] += 1
            supported = self._hash_supported(raw)
            if not supported:
                quality["unsupported hash algorithm"] += 1
        else:
            inv.password_kinds["plaintext"] += 1
            if not password["plaintext"].isascii():
                quality["non-ASCII password (JIT asks for a new one)"] += 1
        count = len(attributes) + self._base_attributes
        if count > inv.max_attributes_per_user:
            inv.max_attributes_per_user = count
        if count > MAX_EXTENSION_ATTRIBUTES:
            quality[f"over {MAX_EXTENSION_ATTRIBUTES} custom attributes"] += 1
        plain_attributes = self._observe_attributes(attributes) if attributes else True
        groups = fields.get("groups")
        if groups:
            inv.users_with_groups += 1
            tally = inv.groups
            for group in groups:
                if group in tally or len(tally) < MAX_NAMES:
                    tally[group] += 1
                else:
                    tally[OTHER] += 1

        # -- what map_user decides: identities, password, extension attributes ---------------------
        keys: IdentityKeys = []
        if email:
            problem = check_email(email)
            if problem:
                return MappingReject(*problem)
            # ObjectIdentity(issuer=tenant, issuer_assigned_id=email.lower()); the guard key lowercases both.
            keys.append((f"emailAddress\x1f{self._tenant_key}\x1f{email.lower().lower()}", "emailAddress"))
        if username:
            problem = check_username(username)
            if problem:
                return MappingReject(*problem)
            keys.append((f"userName\x1f{self._tenant_key}\x1f{username.lower()}", "userName"))
        if self._create_federated:
            for link in links:
                provider, subject = link["provider"], link["subject"]
                problem = check_federated(provider, subject)
                if problem:
                    return MappingReject(*problem)
                keys.append((f"federated\x1f{provider.lower()}\x1f{subject.lower()}", "federated"))
        if not keys:
            if links and not self._create_federated:
                return MappingReject(
                    Reason.FEDERATED_NOT_ENABLED, "only federated identities, and creating them is off"
                )
            return MappingReject(Reason.NO_SIGN_IN_IDENTITY, "no email, username or enabled federated identity")
        path = self._password_path(password, supported)
        if isinstance(path, MappingReject):
            return path
        if attributes:
            reject = self._map_attributes(attributes, plain_attributes)
            if reject is not None:
                return reject
        # map_user's last check: displayName is truncated and mobilePhone is E.164 (≤ 16), so they pass.
        problem = check_user_properties({"givenName": fields.get("givenName"), "surname": fields.get("surname")})
        if problem:
            return MappingReject(*problem)
        return path, keys

    def _observe_attributes(self, attributes: dict[str, Any]) -> bool:
        """Inventory._attributes' counts; True when, without renames, every attribute plainly passes
        check_attribute: a name it accepted before and a bool, int or str within MAX_STRING_ATTRIBUTE (250)."""
        inv = self.inventory
        seen_by_name = inv.attributes
        good = self._good_names
        options = self.options
        plain = not self._renames
        for name, value in attributes.items():
            if plain:
                kind = type(value)
                plain = (
                    name in good
                    and (kind is bool or kind is int or (kind is str and len(value) <= MAX_STRING_ATTRIBUTE))
                    and value_fits(options.data_type(name, value), value)
                )
            shown = name if len(name) <= MAX_KEY_ECHO and name in good else safe_key(name)
            seen = seen_by_name.get(shown)
            if seen is None:
                if len(seen_by_name) >= MAX_NAMES:
                    inv.attributes_overflow += 1
                    continue
                seen = seen_by_name[shown] = AttributeSeen()
            seen.users += 1
            types = seen.types
            type_name = type(value).__name__
            if type_name in types or len(types) < MAX_NAMES:
                types[type_name] += 1
            else:
                types[OTHER] += 1
            if isinstance(value, str) and len(value) > MAX_STRING_ATTRIBUTE:
                seen.too_long += 1
                inv.quality[ATTRIBUTE_TOO_LONG] += 1
        return plain

    def _password_path(self, password: dict[str, Any] | None, supported: bool) -> str | MappingReject:
        """map_user's _password path; RESET_FALLBACK stands for ("reset", Reason.UNSUPPORTED_HASH)."""
        mode = self._mode
        if not supported and password is not None:
            if mode == "auto":
                return RESET_FALLBACK
            if mode != "reset":
                return unsupported_hash_reject(password["hash"]["algorithm"])
        if mode == "reset" or password is None:
            return "reset"
        if "plaintext" in password:
            problem = check_password(password["plaintext"])
            if problem is None and mode in ("auto", "plaintext"):
                return "plaintext"
            if problem is not None and mode == "plaintext":
                return MappingReject(*problem)
            return "jit"
        if mode == "plaintext":
            return MappingReject(Reason.MISSING_FIELD, "password mode is plaintext but the record has only a hash")
        return "jit"

    def _map_attributes(self, attributes: dict[str, Any], plain: bool) -> MappingReject | None:
        """map_user's _extension_attributes verdict. `plain`: no renames and every check would pass."""
        renames = self._renames
        if not plain:
            good = self._good_names
            options = self.options
            for name, value in attributes.items():
                target = renames.get(name, name)
                kind = type(value)
                # A known-good name with a plainly acceptable value needs no check; anything else gets
                # check_attribute itself, so the code and message are its own.
                if not (
                    target in good
                    and (kind is bool or kind is int or (kind is str and len(value) <= MAX_STRING_ATTRIBUTE))
                    and value_fits(options.data_type(name, value), value)
                ):
                    problem = attribute_problem(name, target, value, options)
                    if problem:
                        return MappingReject(*problem)
                    if len(good) < _MAX_CACHED_NAMES:
                        good.add(target)  # never a reserved name: attribute_problem refuses those
        # map_user's dict holds one entry per distinct extension_name(target), the legacy id's included.
        legacy = self._legacy_attribute
        if renames:
            targets = {renames.get(name, name) for name in attributes}
            if legacy:
                targets.add(legacy)
            entries = len(targets)
        else:
            entries = len(attributes) + (1 if legacy and legacy not in attributes else 0)
        if entries + 1 > MAX_EXTENSION_ATTRIBUTES:
            return MappingReject(Reason.TOO_MANY_ATTRIBUTES, f"more than {MAX_EXTENSION_ATTRIBUTES} custom attributes")
        return None


def _links_ok(value: Any) -> bool:
    if type(value) is not list:
        return False
    for link in value:
        if type(link) is not dict or link.keys() != _LINK_KEYS:
            return False
        provider, subject = link["provider"], link["subject"]
        if not (_clean_str(provider) and provider and _clean_str(subject) and subject):
            return False
    return True


def _password_ok(value: Any) -> bool:
    """One of the two shapes readers build: {"hash": {algorithm, value[, salt, params]}} or {"plaintext": str}."""
    if type(value) is not dict or len(value) != 1:
        return False
    if "plaintext" in value:
        return _clean_str(value["plaintext"])
    raw = value.get("hash")
    if type(raw) is not dict or not raw.keys() <= _HASH_KEYS:
        return False
    algorithm = raw.get("algorithm")
    if not (_clean_str(algorithm) and algorithm and _clean_str(raw.get("value"))):
        return False
    salt = raw.get("salt")
    if salt is not None and not _clean_str(salt):
        return False
    params = raw.get("params")
    return params is None or (type(params) is dict and all(map(_clean_str, params)))
