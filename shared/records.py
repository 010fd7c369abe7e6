"""The interchange record (LegacyUser) every source produces, and the Graph-side user (TargetUser).

LegacyUser is a user-facing contract: the `jsonl` source format is one LegacyUser per line with
camelCase keys. Unknown keys are an error. Secrets (plaintext passwords, hash values) are SecretStr so
they never appear in repr, logs or exception text by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel


class _Record(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, str_strip_whitespace=True
    )


class FederatedIdentity(_Record):
    """A link to an external identity provider (google.com, facebook.com, apple, an OIDC issuer)."""

    provider: str = Field(min_length=1)
    subject: str = Field(min_length=1)


class PasswordHash(_Record):
    """An exported legacy password hash. `value` and `salt` are secrets; `params` hold cost settings."""

    algorithm: str = Field(min_length=1)
    value: SecretStr
    salt: SecretStr | None = None
    params: dict[str, Any] | None = None


class Password(_Record):
    """Exactly one of a plaintext password or an exported hash."""

    plaintext: SecretStr | None = None
    hash: PasswordHash | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Password:
        if (self.plaintext is None) == (self.hash is None):
            raise ValueError("password needs exactly one of 'plaintext' or 'hash'")
        return self


class MfaMethod(_Record):
    type: Literal["phone", "email", "totp"]
    value: SecretStr


class LegacyUser(_Record):
    """One customer account as exported from the legacy system."""

    legacy_id: str = Field(min_length=1, max_length=1024)
    email: str | None = None
    email_verified: bool | None = None
    phone: str | None = None
    phone_verified: bool | None = None
    username: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    surname: str | None = None
    disabled: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    identities: list[FederatedIdentity] = Field(default_factory=list)
    password: Password | None = None
    mfa: list[MfaMethod] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A LegacyUser with the export line it came from: what readers yield and what a chunk holds."""

    line: int
    user: LegacyUser


class RejectedRecord(BaseModel):
    """A record that never reached Graph: the line it came from and why. No secrets, no input values.

    The one reject type: readers yield it, planning and the plan stage add theirs, rejects.jsonl holds
    it serialised by alias (legacyId, line, code, message), like failures.jsonl.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    line: int
    legacy_id: str | None = Field(alias="legacyId")
    code: str
    message: str

    def __init__(self, line: int, legacy_id: str | None = None, code: str = "", message: str = "", **data: Any) -> None:
        # Positional as readers build it: RejectedRecord(line, legacy_id, code, message).
        if "legacyId" in data:
            legacy_id = data.pop("legacyId")
        super().__init__(line=line, legacyId=legacy_id, code=code, message=message, **data)


def reveal_secrets(user: LegacyUser) -> dict[str, Any]:
    """The full record as a JSON-ready camelCase dict *including* secrets, for sealed storage only."""
    revealed: dict[str, Any] = _unwrap(user.model_dump(by_alias=True, exclude_none=True))
    return revealed


def _unwrap(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class ObjectIdentity(BaseModel):
    """A Graph objectIdentity: how a user signs in."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel)

    sign_in_type: Literal["emailAddress", "userName", "federated", "userPrincipalName"]
    issuer: str
    issuer_assigned_id: str


class TargetUser(BaseModel):
    """The user as it will be POSTed to Graph, plus what the import needs to know beside it."""

    model_config = ConfigDict(frozen=True)

    legacy_id: str
    display_name: str
    mail: str | None
    given_name: str | None = None
    surname: str | None = None
    mobile_phone: str | None = None
    account_enabled: bool = True
    identities: list[ObjectIdentity]
    password: SecretStr
    password_path: Literal["plaintext", "jit", "reset", "federated"]  # federated: social-only, no password sent
    # Why a user whose record brings a password resets anyway (a reason code: the hash can't be verified).
    reset_because: str | None = None
    force_change_password: bool = False
    extension_attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def primary_identity(self) -> ObjectIdentity:
        """The identity used to find this user again after an ambiguous or conflicting create."""
        return self.identities[0]

    def graph_body(self) -> dict[str, Any]:
        """The POST /users body. Holds the password: never log it."""
        body: dict[str, Any] = {
            "accountEnabled": self.account_enabled,
            "displayName": self.display_name,
            "identities": [i.model_dump(by_alias=True) for i in self.identities],
        }
        if self.password_path != "federated":  # a social-only user needs neither (graph docs user-post-users.md)
            body["passwordProfile"] = {
                "password": self.password.get_secret_value(),
                "forceChangePasswordNextSignIn": self.force_change_password,
            }
            body["passwordPolicies"] = "DisablePasswordExpiration"
        if self.mail:
            body["mail"] = self.mail
        if self.given_name:
            body["givenName"] = self.given_name
        if self.surname:
            body["surname"] = self.surname
        if self.mobile_phone:
            body["mobilePhone"] = self.mobile_phone
        body.update(self.extension_attributes)
        return body
