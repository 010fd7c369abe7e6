"""The names a mapping profile may use: interchange fields, pseudo-fields and attribute types."""

from __future__ import annotations

# Fields of the interchange record a profile can point at a vendor's field or column.
INTERCHANGE_TARGETS = frozenset(
    {
        "legacyId",
        "email",
        "emailVerified",
        "phone",
        "phoneVerified",
        "username",
        "displayName",
        "givenName",
        "surname",
        "disabled",
        "createdAt",
        "updatedAt",
        "groups",
    }
)
# Profile-only fields the reader turns into interchange fields: fullName → givenName/surname,
# enabled → not disabled, password/passwordHash/passwordSalt → password.
PSEUDO_TARGETS = frozenset({"fullName", "enabled", "passwordHash", "passwordSalt", "password"})
# Extension property types a profile may declare for a custom attribute.
ATTRIBUTE_TYPES = frozenset({"String", "Integer", "Boolean"})
