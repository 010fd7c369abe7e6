"""The mapping profile's schema: what a TOML profile may say, validated key by key.

A profile tells the reader where each interchange field lives in the vendor's export (`fields`),
how to clean it (`transforms`), which custom attributes to carry (`attributes`), the vendor's hash
configuration (`hash`), and tells the mapping which identities and password path to use.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.groups import AppRoleTarget, GroupMapping, GroupTarget
from shared.mapping import MappingOptions
from shared.passwords import SUPPORTED_ALGORITHMS
from shared.profiles.transforms import TRANSFORM_NAMES, is_valid_region
from shared.profiles.vocabulary import ATTRIBUTE_TYPES, INTERCHANGE_TARGETS, PSEUDO_TARGETS
from shared.sources.base import AttributeSpec, HashSpec, SourceOptions

_TARGETS = INTERCHANGE_TARGETS | PSEUDO_TARGETS
# The firebase default profile's stand-in signer key (32 zero bytes); see warnings().
PLACEHOLDER_SIGNER_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reader(_Section):
    default_phone_region: str | None = None
    attributes_from: list[str] = Field(default_factory=list)
    identity_providers: dict[str, str] = Field(default_factory=dict)
    graph_app_id: str | None = None
    delimiter: str = ","

    @field_validator("default_phone_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_region(value):
            raise ValueError("unknown region; use an ISO 3166 alpha-2 code such as 'US' or 'DE'")
        return value.upper() if value else value

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("must be exactly one character")
        return value


class Attribute(_Section):
    source: str = Field(min_length=1)
    type: str = "String"

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in ATTRIBUTE_TYPES:
            raise ValueError(f"must be one of {', '.join(sorted(ATTRIBUTE_TYPES))}")
        return value


class Identities(_Section):
    email: bool = True
    username: bool = True
    federated: bool = False


class PasswordPolicy(_Section):
    mode: Literal["auto", "plaintext", "jit", "reset"] = "auto"
    # A passwordHash that is not a string (an object, a number): reject the record, or put the user
    # on the reset path with a counted warning in the plan.
    malformed_hash: Literal["reject", "reset"] = "reject"


class HashConfig(_Section):
    """The legacy system's hash settings, for exports whose records don't describe their own hash."""

    algorithm: str = Field(min_length=1)
    signer_key: str | None = None  # firebase-scrypt (base64)
    salt_separator: str | None = None  # firebase-scrypt (base64)
    rounds: int | None = Field(default=None, ge=1)
    mem_cost: int | None = Field(default=None, ge=1)
    iterations: int | None = Field(default=None, ge=1)  # pbkdf2-*
    key_length: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=2)  # scrypt
    r: int | None = Field(default=None, ge=1)
    p: int | None = Field(default=None, ge=1)
    encoding: Literal["hex", "base64"] | None = None  # md5/sha*/hmac-*
    salt_position: Literal["prefix", "suffix"] | None = None
    key: str | None = None  # hmac-* (base64)

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"unknown hash algorithm {value!r}; known: {', '.join(sorted(SUPPORTED_ALGORITHMS))}")
        return value

    @field_validator("signer_key", "salt_separator", "key")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("must be base64") from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> HashConfig:
        needed = {
            "firebase-scrypt": ("signer_key", "rounds", "mem_cost"),
            "scrypt": ("n", "r", "p"),
            "pbkdf2-sha1": ("iterations",),
            "pbkdf2-sha256": ("iterations",),
            "pbkdf2-sha512": ("iterations",),
            "hmac-sha256": ("key",),
            "hmac-sha512": ("key",),
        }.get(self.algorithm, ())
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"algorithm {self.algorithm!r} needs {', '.join(missing)}")
        return self

    def params(self) -> dict[str, Any]:
        """`PasswordHash.params` in the encoding shared/passwords expects for this algorithm."""
        a = self.algorithm
        if a == "firebase-scrypt":
            return {
                "signerKey": self.signer_key,
                "saltSeparator": self.salt_separator or "Bw==",
                "rounds": self.rounds,
                "memCost": self.mem_cost,
            }
        params: dict[str, Any] = {}
        if a == "scrypt":
            params = {"n": self.n, "r": self.r, "p": self.p}
        elif a.startswith("pbkdf2-"):
            params = {"iterations": self.iterations}
        elif a.startswith("hmac-"):
            params = {"key": self.key}
        elif a in ("md5", "sha1", "sha256", "sha512"):
            params = {"saltPosition": self.salt_position or "suffix"}
        if self.key_length and a in ("scrypt", "pbkdf2-sha1", "pbkdf2-sha256", "pbkdf2-sha512"):
            params["keyLength"] = self.key_length
        if self.encoding and (a.startswith("hmac-") or a in ("md5", "sha1", "sha256", "sha512")):
            params["encoding"] = self.encoding
        return params


class GroupMapRow(_Section):
    """One legacy group or role: the Entra group it becomes (displayName) and/or an app role (app + role value)."""

    group: str | None = Field(default=None, min_length=1, max_length=256)
    app: str | None = Field(default=None, min_length=1)  # appId or displayName of the app registration
    role: str | None = Field(default=None, min_length=1)  # the appRole's `value`

    @model_validator(mode="after")
    def _says_something(self) -> GroupMapRow:
        if (self.app is None) != (self.role is None):
            raise ValueError("'app' and 'role' go together (the app registration and the value of its app role)")
        if self.group is None and self.app is None:
            raise ValueError("map the legacy name to a 'group', an 'app' + 'role', or both")
        return self


class Groups(_Section):
    """`[groups]`: which legacy groups/roles become which Entra groups and app-role assignments."""

    create_missing: bool = True  # a mapped Entra group that doesn't exist is created (and tagged as ours)
    ignore: list[str] = Field(default_factory=list)  # legacy names dropped on purpose (counted, not "unmapped")
    map: dict[str, GroupMapRow] = Field(default_factory=dict)

    def mapping(self) -> GroupMapping:
        targets = {
            name: GroupTarget(row.group, AppRoleTarget(row.app, row.role) if row.app and row.role else None)
            for name, row in self.map.items()
        }
        return GroupMapping(targets=targets, ignore=tuple(self.ignore), create_missing=self.create_missing)


class Target(_Section):
    flag_attribute: str = "toBeMigrated"
    legacy_id_attribute: str = "legacyId"  # "" = don't keep the legacy id on the user
    attribute_renames: dict[str, str] = Field(default_factory=dict)


class MappingProfile(_Section):
    """A validated mapping profile for one source (the shipped default with the user's overrides)."""

    source: str
    description: str = ""
    reader: Reader = Field(default_factory=Reader)
    fields: dict[str, str] = Field(default_factory=dict)
    transforms: dict[str, list[str]] = Field(default_factory=dict)
    attributes: dict[str, Attribute] = Field(default_factory=dict)
    identities: Identities = Field(default_factory=Identities)
    password: PasswordPolicy = Field(default_factory=PasswordPolicy)
    hash: HashConfig | None = None
    target: Target = Field(default_factory=Target)
    groups: Groups = Field(default_factory=Groups)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name not in _TARGETS:
                raise ValueError(f"{name!r} is not an interchange field; choose from: {', '.join(sorted(_TARGETS))}")
        return value

    @field_validator("transforms")
    @classmethod
    def _known_transforms(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for target, names in value.items():
            if target not in _TARGETS:
                raise ValueError(f"{target!r} is not an interchange field")
            for name in names:
                if name not in TRANSFORM_NAMES:
                    raise ValueError(
                        f"{target}: unknown transform {name!r}; choose from: {', '.join(sorted(TRANSFORM_NAMES))}"
                    )
        return value

    @model_validator(mode="after")
    def _no_reserved_attributes(self) -> MappingProfile:
        """The flag and legacy-id properties are the product's own: an attribute landing on one would
        register it with the attribute's type (or overwrite the flag) for every user of the tenant."""
        reserved = {self.target.flag_attribute.lower(): "target.flag_attribute"}
        if self.target.legacy_id_attribute:
            reserved[self.target.legacy_id_attribute.lower()] = "target.legacy_id_attribute"
        renames = self.target.attribute_renames
        landing = [(f"attributes.{name}", renames.get(name, name)) for name in self.attributes]
        landing += [(f"target.attribute_renames.{src}", to) for src, to in renames.items()]
        for where, name in landing:
            if name.lower() in reserved:
                raise ValueError(
                    f"{where}: {name!r} is reserved ({reserved[name.lower()]} writes it); "
                    "rename the attribute in target.attribute_renames"
                )
        return self

    def warnings(self) -> list[str]:
        """Things that load fine but will hurt later; the plan shows them first."""
        found: list[str] = []
        if self.hash is not None and self.hash.signer_key == PLACEHOLDER_SIGNER_KEY:
            found.append(
                "hash.signer_key is the shipped placeholder: put your project's key in the mapping profile, "
                "or no migrated password will verify"
            )
        return found

    def blockers_for_run(self) -> list[str]:
        """Warnings that make an import pointless: `run` refuses to start on them (`plan` only warns)."""
        if self.hash is not None and self.hash.signer_key == PLACEHOLDER_SIGNER_KEY:
            return [
                "hash.signer_key is the shipped placeholder: put your Firebase project's key (console → "
                "Authentication → password hash parameters) in a profile and pass --mapping"
            ]
        return []

    def source_options(self, *, graph_extensions: tuple[str, ...] = ()) -> SourceOptions:
        """What the reader needs (a fresh `unmapped` tally each time)."""
        return SourceOptions(
            fields=dict(self.fields),
            transforms={k: list(v) for k, v in self.transforms.items()},
            attributes={a.source: AttributeSpec(name, a.type) for name, a in self.attributes.items()},
            attributes_from=tuple(self.reader.attributes_from),
            identity_providers=dict(self.reader.identity_providers),
            email_enabled=self.identities.email,
            username_enabled=self.identities.username,
            default_phone_region=self.reader.default_phone_region,
            delimiter=self.reader.delimiter,
            graph_app_id=self.reader.graph_app_id or None,
            graph_extensions=graph_extensions,
            hash=HashSpec(self.hash.algorithm, self.hash.params()) if self.hash is not None else None,
            malformed_hash=self.password.malformed_hash,
        )

    def mapping_options(self, tenant: str, extensions_app_id: str) -> MappingOptions:
        return MappingOptions(
            tenant=tenant,
            extensions_app_id=extensions_app_id,
            password_mode=self.password.mode,
            create_federated=self.identities.federated,
            flag_attribute=self.target.flag_attribute,
            legacy_id_attribute=self.target.legacy_id_attribute or None,
            attribute_renames=dict(self.target.attribute_renames),
            attribute_types={name: a.type for name, a in self.attributes.items()},
            groups=self.groups.mapping(),
        )
