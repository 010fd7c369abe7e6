"""The platform limits Microsoft documents for customer users, in one table.

Both the tenant emulator (which refuses what Entra refuses) and preflight (which rejects a record
before anything is sent) read these numbers, so the two cannot drift apart. Each value names the
Microsoft doc it comes from; docs/limits.md is the user-facing copy of this table.
"""

from __future__ import annotations

from typing import Final

USER_MD: Final = "microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/user.md"
SERVICE_LIMITS_MD: Final = "MicrosoftDocs/entra-docs docs/external-id/customers/reference-service-limits.md"
OBJECT_IDENTITY_MD: Final = "microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/objectidentity.md"

# "Maximum length is N characters" in the user resource's property table (resources/user.md).
USER_STRING_MAXIMA: Final[dict[str, int]] = {
    "city": 128,
    "companyName": 64,
    "country": 128,
    "department": 64,
    "displayName": 256,
    "employeeId": 16,
    "givenName": 64,
    "jobTitle": 128,
    "mailNickname": 64,
    "mobilePhone": 64,
    "postalCode": 40,
    "state": 128,
    "streetAddress": 1024,
    "surname": 64,
}
# resources/user.md: "Although this is a string collection, only one number can be set."
MAX_BUSINESS_PHONES: Final = 1

# External ID's service limits: "String Limit per Attribute 250 Chars" and "Number of custom
# attributes per user 100". The generic extensionProperty page says 256; the product-specific,
# stricter number wins (docs/emulator.md, "Where Microsoft's docs disagree").
MAX_EXTENSION_STRING: Final = 250
MAX_EXTENSION_VALUES_PER_USER: Final = 100
# Same page: "Total number of objects (user accounts and applications) per tenant 300000".
OBJECT_QUOTA: Final = 300_000

# resources/objectidentity.md
MAX_ISSUER: Final = 512
MAX_ISSUER_ASSIGNED_ID: Final = 64


def too_long(name: str, value: object) -> int | None:
    """The documented maximum when `value` exceeds it for user property `name`, else None."""
    limit = USER_STRING_MAXIMA.get(name)
    if limit is not None and isinstance(value, str) and len(value) > limit:
        return limit
    return None
