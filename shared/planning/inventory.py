"""Inventory: what a plan counts while streaming an export. Constant memory apart from the duplicate
guards (DuplicateGuard, ~16 bytes per key) and name tallies capped at MAX_NAMES each.

Never stores a user's values: only counts, names of attributes/groups/providers/algorithms, and for
the first MAX_EXAMPLES rejects their line, legacy id, reason code and (value-free) message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.auth_methods import plan_methods
from shared.mapping import MappingOptions
from shared.passwords import is_supported
from shared.preflight import MAX_DISPLAY_NAME, MAX_EXTENSION_ATTRIBUTES, MAX_STRING_ATTRIBUTE, is_e164
from shared.reasons import safe_key, shown_algorithm
from shared.records import LegacyUser

# The quality label of a custom-attribute value over External ID's limit (shared/entra_limits.py: 250).
ATTRIBUTE_TOO_LONG = f"attribute value over {MAX_STRING_ATTRIBUTE} characters"

MAX_NAMES = 200
MAX_EXAMPLES = 50
OTHER = "(other names)"


def _tally(counter: Counter[str], name: str, by: int = 1) -> None:
    """Count under `name`, or under OTHER once MAX_NAMES distinct names are tracked (bounded memory)."""
    if name in counter or len(counter) < MAX_NAMES:
        counter[name] += by
    else:
        counter[OTHER] += by


@dataclass
class AttributeSeen:
    users: int = 0
    too_long: int = 0
    types: Counter[str] = field(default_factory=Counter)


@dataclass
class Inventory:
    total: int = 0
    valid: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    identity_kinds: Counter[str] = field(default_factory=Counter)
    federated_by_provider: Counter[str] = field(default_factory=Counter)
    password_kinds: Counter[str] = field(default_factory=Counter)
    hash_algorithms: Counter[str] = field(default_factory=Counter)
    password_paths: Counter[str] = field(default_factory=Counter)
    # Valid users on the reset path although their record brings a password, by why (a reason code).
    reset_fallbacks: Counter[str] = field(default_factory=Counter)
    mfa_methods: Counter[str] = field(default_factory=Counter)
    users_with_mfa: int = 0
    phones: Counter[str] = field(default_factory=Counter)  # verified / unverified profile phones
    method_writes: Counter[str] = field(default_factory=Counter)  # valid users' importable methods by kind
    method_skips: Counter[str] = field(default_factory=Counter)  # methods not importable, by reason
    attributes: dict[str, AttributeSeen] = field(default_factory=dict)
    attributes_overflow: int = 0
    max_attributes_per_user: int = 0
    groups: Counter[str] = field(default_factory=Counter)
    users_with_groups: int = 0
    disabled: int = 0
    quality: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(self.by_reason.values())

    def reject(self, line: int, legacy_id: str | None, code: str, message: str) -> None:
        self.total += 1
        self.by_reason[str(code)] += 1
        if len(self.rejects) < MAX_EXAMPLES:
            self.rejects.append({"line": line, "legacyId": legacy_id, "reason": str(code), "message": message})

    def observe(self, user: LegacyUser, options: MappingOptions) -> None:
        """What the record brings, whether or not it maps: identities, password, MFA, attributes, groups."""
        if user.email:
            self.identity_kinds["local email"] += 1
        if user.username:
            self.identity_kinds["username"] += 1
        for link in user.identities:
            _tally(self.federated_by_provider, link.provider)
        if user.identities:
            self.identity_kinds["federated"] += 1
        if not (user.email or user.username or user.identities):
            self.identity_kinds["none"] += 1
        if user.phone:
            self.phones["verified" if user.phone_verified else "unverified"] += 1
            if not is_e164(user.phone):
                self.quality["phone not E.164 (left out)"] += 1
        if user.display_name and len(user.display_name) > MAX_DISPLAY_NAME:
            self.quality["display name over 256 characters (truncated)"] += 1
        if user.disabled:
            self.disabled += 1
        self._password(user)
        if user.mfa:
            self.users_with_mfa += 1
            for method in user.mfa:
                self.mfa_methods[method.type] += 1
        self._attributes(user, options)
        if user.groups:
            self.users_with_groups += 1
            for group in user.groups:
                _tally(self.groups, group)

    def _password(self, user: LegacyUser) -> None:
        password = user.password
        if password is None:
            self.password_kinds["none"] += 1
        elif password.hash is not None:
            self.password_kinds["hashed"] += 1
            _tally(self.hash_algorithms, shown_algorithm(password.hash.algorithm))
            if not is_supported(password.hash):
                self.quality["unsupported hash algorithm"] += 1
        else:
            self.password_kinds["plaintext"] += 1
            # Only a yes/no about the secret is kept, never the secret.
            if password.plaintext is not None and not password.plaintext.get_secret_value().isascii():
                self.quality["non-ASCII password (JIT asks for a new one)"] += 1

    def _attributes(self, user: LegacyUser, options: MappingOptions) -> None:
        count = len(user.attributes) + 1 + (1 if options.legacy_id_attribute else 0)
        self.max_attributes_per_user = max(self.max_attributes_per_user, count)
        if count > MAX_EXTENSION_ATTRIBUTES:
            self.quality[f"over {MAX_EXTENSION_ATTRIBUTES} custom attributes"] += 1
        for key, value in user.attributes.items():
            name = safe_key(key)
            seen = self.attributes.get(name)
            if seen is None:
                if len(self.attributes) >= MAX_NAMES:
                    self.attributes_overflow += 1
                    continue
                seen = self.attributes[name] = AttributeSeen()
            seen.users += 1
            _tally(seen.types, type(value).__name__)
            if isinstance(value, str) and len(value) > MAX_STRING_ATTRIBUTE:
                seen.too_long += 1
                self.quality[ATTRIBUTE_TOO_LONG] += 1

    def methods(self, user: LegacyUser) -> None:
        """A valid user's MFA methods: what the import will write, and what it can't (by reason)."""
        plan = plan_methods(user)
        for write in plan.writes:
            self.method_writes[write.kind] += 1
        for skip in plan.skips:
            self.method_skips[str(skip.code)] += 1

    def admitted(self, password_path: str, reset_because: str | None = None) -> None:
        """A valid user, on this password path (and why it resets although it brings a password)."""
        self.valid += 1
        self.total += 1
        self.password_paths[password_path] += 1
        if reset_because:
            self.reset_fallbacks[str(reset_because)] += 1
