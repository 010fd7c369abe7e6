"""Which of a user's MFA methods Entra can take, in which slot, and which it can't (with a reason code).

In: LegacyUser.mfa. Out: MethodPlan — phones as `phoneMethods` (first → mobile, second → alternateMobile,
Graph's `+{country code} {number}` form), the first email as an `emailMethods` entry, and a MethodSkip
with a reason for the rest (TOTP: External ID has no authenticator import). Pure and deterministic: the
same user always gives the same method keys, which the ledger's per-method state is keyed by.
Sources: graph docs api/authentication-post-phonemethods.md, api/authentication-post-emailmethods.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

from shared.preflight import check_email, is_e164
from shared.reasons import Reason
from shared.records import LegacyUser

MethodKind = Literal["phone", "email"]
PHONE_SLOTS = ("mobile", "alternateMobile")  # Entra wants a mobile before an alternateMobile
_SEPARATORS = re.compile(r"[\s().\-]")


@dataclass(frozen=True)
class MethodWrite:
    """One method to register: `key` is its ledger key (phone:mobile, phone:alternateMobile, email)."""

    key: str
    kind: MethodKind
    slot: str  # phoneType for phones, "email" for email
    value: str  # as Graph wants it; a user's contact detail, never logged


@dataclass(frozen=True)
class MethodSkip:
    key: str  # phone#3, email#2, totp#1 …: the method's place in the user's list
    kind: str
    code: Reason
    message: str


@dataclass(frozen=True)
class MethodPlan:
    writes: tuple[MethodWrite, ...]
    skips: tuple[MethodSkip, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(w.key for w in self.writes) + tuple(s.key for s in self.skips)


def graph_phone(value: str) -> str | None:
    """An E.164 number (separators allowed) as Graph's `+{country code} {number}`; None if not E.164."""
    compact = _SEPARATORS.sub("", value)
    if not is_e164(compact):
        return None
    try:
        country = str(phonenumbers.parse(compact, None).country_code)
    except phonenumbers.NumberParseException:
        return None  # no such country calling code
    return f"+{country} {compact[1 + len(country) :]}"  # the digits as given: Italy's leading 0 stays


def plan_methods(user: LegacyUser) -> MethodPlan:
    writes: list[MethodWrite] = []
    skips: list[MethodSkip] = []
    phones: list[str] = []
    emails: list[str] = []
    counts = {"phone": 0, "email": 0, "totp": 0}
    for method in user.mfa:
        counts[method.type] += 1
        place = f"{method.type}#{counts[method.type]}"
        value = method.value.get_secret_value()
        if method.type == "totp":
            skips.append(
                MethodSkip(place, "totp", Reason.MFA_TOTP_NOT_IMPORTABLE,
                           "External ID has no TOTP import: the user enrols an authenticator again")
            )  # fmt: skip
        elif method.type == "phone":
            phone = graph_phone(value)
            if phone is None:
                skips.append(MethodSkip(place, "phone", Reason.MFA_PHONE_INVALID, "phone is not E.164"))
            elif phone in phones:
                continue  # the same number listed twice (a source's profile phone and its MFA phone)
            elif len(phones) == len(PHONE_SLOTS):
                skips.append(
                    MethodSkip(place, "phone", Reason.MFA_PHONE_LIMIT,
                               "Entra holds one mobile and one alternateMobile phone method")
                )  # fmt: skip
            else:
                slot = PHONE_SLOTS[len(phones)]
                phones.append(phone)
                writes.append(MethodWrite(f"phone:{slot}", "phone", slot, phone))
        else:
            address = value.lower()
            if check_email(value) is not None:
                skips.append(MethodSkip(place, "email", Reason.MFA_EMAIL_INVALID, "email is not a valid address"))
            elif address in emails:
                continue
            elif emails:
                skips.append(MethodSkip(place, "email", Reason.MFA_EMAIL_LIMIT, "Entra holds one email method"))
            else:
                emails.append(address)
                writes.append(MethodWrite("email", "email", "email", value))
    return MethodPlan(tuple(writes), tuple(skips))
