"""The `$filter` subset the migration needs, parsed strictly: anything else is a 400
Request_UnsupportedQuery, so a client never mistakes an ignored filter for an empty result.

Users: `identities/any(c:c/issuerAssignedId eq '…' and c/issuer eq '…')` (graph docs
resources/objectidentity.md: both parts are required), `mail eq '…'`, `id eq '…'`,
`userPrincipalName eq '…'`. Applications: `appId eq '…'`. Sign-ins: `createdDateTime`
with ge/gt/le/lt joined by `and`, plus `userId eq '…'` and `appId eq '…'`. Delta: `id eq '…'`
joined by `or`, at most 50 (graph docs api/user-delta.md, "limited support for $filter").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from emulator.errors import GraphError, unsupported_query
from emulator.state import parse_iso

_STR = r"'((?:[^']|'')*)'"
_ANY = re.compile(
    r"^identities/any\(\s*(\w+)\s*:\s*(.+)\)$",
    re.IGNORECASE,
)
_LAMBDA_TERM = re.compile(r"^(\w+)/(issuerAssignedId|issuer)\s+eq\s+" + _STR + r"$", re.IGNORECASE)
_EQ = re.compile(r"^(\w+)\s+eq\s+" + _STR + r"$", re.IGNORECASE)
_DATE_CMP = re.compile(r"^createdDateTime\s+(ge|gt|le|lt)\s+'?([0-9T:.\-+Z]+)'?$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
MAX_DELTA_FILTER_IDS = 50


def _unquote(raw: str) -> str:
    return raw.replace("''", "'")


def _split_and(expression: str, joiner: re.Pattern[str] = _AND) -> list[str]:
    """Split on ` and ` (or another joiner) outside string literals."""
    parts: list[str] = []
    in_string = False
    start = 0
    index = 0
    while index < len(expression):
        char = expression[index]
        if char == "'":
            in_string = not in_string
        elif not in_string:
            match = joiner.match(expression, index)
            if match and index > 0 and expression[index].isspace():
                parts.append(expression[start:index].strip())
                index = start = match.end()
                continue
        index += 1
    parts.append(expression[start:].strip())
    return parts


@dataclass(frozen=True)
class UserFilter:
    field: str  # identity | mail | id | userPrincipalName
    value: str
    issuer: str = ""


def parse_user_filter(expression: str) -> UserFilter:
    text = expression.strip()
    any_match = _ANY.match(text)
    if any_match:
        variable, body = any_match.group(1), any_match.group(2)
        terms: dict[str, str] = {}
        for part in _split_and(body):
            term = _LAMBDA_TERM.match(part)
            if not term or term.group(1) != variable:
                raise _unsupported(expression)
            terms[term.group(2).lower()] = _unquote(term.group(3))
        if set(terms) != {"issuer", "issuerassignedid"}:
            raise unsupported_query(
                "Filtering on identities requires both c/issuer and c/issuerAssignedId in the lambda."
            )
        return UserFilter("identity", terms["issuerassignedid"], terms["issuer"])
    eq = _EQ.match(text)
    if eq:
        name = {"mail": "mail", "id": "id", "userprincipalname": "userPrincipalName"}.get(eq.group(1).lower())
        if name:
            return UserFilter(name, _unquote(eq.group(2)))
    raise _unsupported(expression)


def parse_delta_filter(expression: str) -> list[str]:
    """The object ids of `id eq '…' or id eq '…'`; anything else is a 400, as on Graph."""
    ids: list[str] = []
    for part in _split_and(expression.strip(), _OR):
        eq = _EQ.match(part)
        if not eq or eq.group(1).lower() != "id":
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified: {expression!r}. "
                "Delta supports only id eq '…' (joined by or)."
            )
        ids.append(_unquote(eq.group(2)))
    if len(ids) > MAX_DELTA_FILTER_IDS:
        raise unsupported_query(f"Delta $filter is limited to {MAX_DELTA_FILTER_IDS} objects.")
    return ids


def parse_app_filter(expression: str) -> str:
    eq = _EQ.match(expression.strip())
    if not eq or eq.group(1).lower() != "appid":
        raise _unsupported(expression)
    return _unquote(eq.group(2))


@dataclass
class SignInFilter:
    lower: dt.datetime | None = None
    lower_inclusive: bool = True
    upper: dt.datetime | None = None
    upper_inclusive: bool = True
    equals: dict[str, str] = field(default_factory=dict)

    def matches_fields(self, data: dict[str, object]) -> bool:
        return all(data.get(k) == v for k, v in self.equals.items())

    def in_range(self, created: dt.datetime) -> bool:
        if self.lower is not None and (created < self.lower or (created == self.lower and not self.lower_inclusive)):
            return False
        return not (
            self.upper is not None and (created > self.upper or (created == self.upper and not self.upper_inclusive))
        )


def parse_sign_in_filter(expression: str | None) -> SignInFilter:
    result = SignInFilter()
    if not expression or not expression.strip():
        return result
    for part in _split_and(expression.strip()):
        date = _DATE_CMP.match(part)
        if date:
            op = date.group(1).lower()
            try:
                when = parse_iso(date.group(2))
            except ValueError as exc:
                raise _unsupported(expression) from exc
            if op in ("ge", "gt"):
                result.lower, result.lower_inclusive = when, op == "ge"
            else:
                result.upper, result.upper_inclusive = when, op == "le"
            continue
        eq = _EQ.match(part)
        if eq and eq.group(1) in ("userId", "appId"):
            result.equals[eq.group(1)] = _unquote(eq.group(2))
            continue
        raise _unsupported(expression)
    return result


def _unsupported(expression: str) -> GraphError:
    return unsupported_query(f"Unsupported or invalid query filter clause specified: {expression!r}.")
