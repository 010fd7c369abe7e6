"""Waves: which users move together. A WavePlan is a rule over interchange fields, stored in the ledger.

In: a LegacyUser. Out: the number of its wave (1-based), or None when the plan places it nowhere
("unassigned": a value `waves plan` never saw, a user of none of the named apps, a hash above the
last percentage). Pure and deterministic: the same user lands in the same wave on every run and host,
so `run --wave N` applied at plan time and `waves plan`'s counts agree. Three kinds of rule:
  field    one wave per value of a field (`attributes.region`, `email`, `groups`, `identities.provider`);
           a user whose field holds several values goes to the first wave that names one
  percent  cumulative percentages of a stable hash of the legacy id (5,25,100 → 5 %, 20 %, 75 %)
  apps     one wave per named app, by the app names a user's `app_field` holds; first app wins
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_snake

from shared.records import LegacyUser

BASIS_POINTS = 10_000
NO_VALUE = ""  # a field that is missing or empty: its own wave, labelled "(no value)"
SECRET_FIELDS = frozenset({"password", "mfa"})  # never read to place a user


class WaveRuleError(ValueError):
    """A wave rule that cannot be applied. str() is one line naming the option and what to pass instead."""


class Wave(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    label: str
    values: list[str] = []  # field / apps rules: the values that place a user here
    upto_bp: int | None = None  # percent rule: hash bucket below this (cumulative, in basis points)
    apps: list[str] = []  # the applications that cut over with this wave
    planned_count: int | None = None  # users `waves plan` counted in the export it read


class WavePlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["field", "percent", "apps"]
    field: str | None = None  # field and apps rules: the interchange field read
    waves: list[Wave]
    planned_at: datetime
    export_ref: str | None = None  # the export the counts came from
    source: str | None = None
    unassigned: int = 0  # users of that export no wave holds

    def wave(self, number: int) -> Wave:
        for wave in self.waves:
            if wave.number == number:
                return wave
        raise WaveRuleError(f"--wave {number}: the plan has waves 1 to {len(self.waves)}")

    def wave_of(self, user: LegacyUser) -> int | None:
        if self.kind == "percent":
            bucket = hash_bucket(user.legacy_id)
            return next((w.number for w in self.waves if w.upto_bp is not None and bucket < w.upto_bp), None)
        read = app_values if self.kind == "apps" else field_values
        held = set(read(user, self.field or ""))
        return next((w.number for w in self.waves if held.intersection(w.values)), None)


def hash_bucket(legacy_id: str) -> int:
    """A stable bucket in [0, 10000) from the legacy id alone (sha-256, so no host or run changes it)."""
    return int.from_bytes(hashlib.sha256(legacy_id.encode("utf-8", "surrogatepass")).digest()[:8], "big") % BASIS_POINTS


def check_field(path: str) -> str:
    """The field path, or WaveRuleError when it names no interchange field or a secret one."""
    head, _, rest = path.partition(".")
    name = to_snake(head)
    if name in SECRET_FIELDS:
        raise WaveRuleError(f"--by {path}: {head} holds secrets and cannot place users in waves")
    if name not in LegacyUser.model_fields:
        raise WaveRuleError(f"--by {path}: not an interchange field (try attributes.NAME, email, groups, disabled)")
    if name == "attributes" and not rest:
        raise WaveRuleError(f"--by {path}: name the attribute, e.g. attributes.region")
    if name == "identities" and rest not in ("provider", ""):
        raise WaveRuleError(f"--by {path}: identities can be split by identities.provider only")
    if name not in ("attributes", "identities") and rest:
        raise WaveRuleError(f"--by {path}: {head} has no sub-fields")
    return path


def field_values(user: LegacyUser, path: str) -> list[str]:
    """Every value the field holds for this user, as text; [NO_VALUE] when it holds none."""
    head, _, rest = path.partition(".")
    name = to_snake(head)
    raw: Any
    if name == "attributes":
        raw = user.attributes.get(rest)
    elif name == "identities":
        raw = [i.provider for i in user.identities]
    else:
        raw = getattr(user, name, None)
    values = [_text(v) for v in (raw if isinstance(raw, list | tuple) else [raw]) if v is not None]
    values = [v for v in values if v != NO_VALUE]
    return values or [NO_VALUE]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    return str(value)


def app_values(user: LegacyUser, path: str) -> list[str]:
    """The apps a user belongs to: the field's values, a comma-separated text split into names."""
    return [part.strip() for value in field_values(user, path) for part in value.split(",") if part.strip()]


def label_of(value: str) -> str:
    return "(no value)" if value == NO_VALUE else value


def percent_waves(percentages: Iterable[int]) -> list[Wave]:
    """Cumulative percentages → waves; each must be above the last and at most 100."""
    waves: list[Wave] = []
    last = 0
    for number, pct in enumerate(percentages, start=1):
        if not last < pct <= 100:
            raise WaveRuleError(
                f"--percent: {pct} after {last}: percentages are cumulative, rising, at most 100 (e.g. 5,25,100)"
            )
        waves.append(Wave(number=number, label=f"{last}-{pct} %", upto_bp=pct * 100))
        last = pct
    if not waves:
        raise WaveRuleError("--percent: give cumulative percentages, e.g. 5,25,100")
    return waves
