"""The pure parts of `ciam-migrate rehearse cutover`: the fault spec, the sample population and the sign-in mix.

Faults: `jit-down@4m` (the endpoint answers 503 from minute 4, for 3 minutes; `jit-down@4m+2m` sets the length),
`jit-slow=1500ms` (every verification takes 1.5 s longer; `@Nm` delays the start). Each fault names the alert
it must raise. The mix draws, per attempt: a JIT user with the right password (72 %), the wrong one (8 %), a
user imported with a plaintext password (8 %), an unknown user (6 %), a disabled user (6 %); one brute-force
burst (12 wrong passwords on one account) at 60 % of the run. Seeded: the same seed gives the same attempts.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

FAULT_ALERTS = {"jit-down": "jit_callout_failures", "jit-slow": "jit_latency_near_budget"}
MIX = (("jit_right", 72), ("jit_wrong", 8), ("plain_right", 8), ("unknown", 6), ("disabled", 6))
BURST_ATTEMPTS = 12
_FAULT = re.compile(r"^(jit-down|jit-slow)(?:=(\d+)ms)?(?:@(\d+(?:\.\d+)?)m)?(?:\+(\d+(?:\.\d+)?)m)?$")


@dataclass(frozen=True)
class Fault:
    kind: str  # jit-down | jit-slow
    start_min: float
    length_min: float | None  # None: until the end
    delay_ms: int = 0

    @property
    def alert(self) -> str:
        return FAULT_ALERTS[self.kind]

    def active(self, minute: float) -> bool:
        return minute >= self.start_min and (self.length_min is None or minute < self.start_min + self.length_min)


def parse_faults(spec: str | None) -> list[Fault]:
    """`jit-down@4m,jit-slow=1500ms`; anything else is an error naming the part."""
    faults = []
    for part in (p.strip() for p in (spec or "").split(",") if p.strip()):
        match = _FAULT.match(part)
        if match is None:
            raise ValueError(f"fault {part!r} is not jit-down@<N>m[+<M>m] or jit-slow=<ms>ms[@<N>m]")
        kind, delay, start, length = match.groups()
        if kind == "jit-slow" and delay is None:
            raise ValueError(f"fault {part!r} needs a delay, e.g. jit-slow=1500ms")
        if kind == "jit-down" and start is None:
            raise ValueError(f"fault {part!r} needs a start, e.g. jit-down@4m")
        faults.append(Fault(kind, float(start or 0), float(length) if length else (3.0 if kind == "jit-down" else None),
                            int(delay or 0)))  # fmt: skip
    return faults


@dataclass
class Population:
    """Who exists in the sample and the passwords they type (kept in memory only, never written)."""

    jit: list[tuple[str, str]] = field(default_factory=list)  # (email, legacy password)
    plain: list[tuple[str, str]] = field(default_factory=list)
    disabled: list[tuple[str, str]] = field(default_factory=list)


def write_sample(path: Path, users: int, rng: random.Random) -> Population:
    """A jsonl export: 85 % bcrypt (JIT), 10 % plaintext, 5 % disabled (JIT)."""
    population = Population()
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = bcrypt.gensalt(4)  # one salt keeps 5,000 hashes quick; the endpoint still verifies each
    with path.open("w", encoding="utf-8") as out:
        for n in range(users):
            email = f"user{n:05d}@rehearsal.example"
            password = f"Legacy!{rng.randrange(10**8):08d}a"
            record: dict[str, object] = {"legacyId": f"r{n:05d}", "email": email, "emailVerified": True,
                                         "displayName": f"User {n}"}  # fmt: skip
            kind = "disabled" if n % 20 == 19 else "plain" if n % 10 == 9 else "jit"
            if kind == "plain":
                record["password"] = {"plaintext": password}
            else:
                value = bcrypt.hashpw(password.encode(), salt).decode()
                record["password"] = {"hash": {"algorithm": "bcrypt", "value": value}}
            if kind == "disabled":
                record["disabled"] = True
            getattr(population, kind).append((email, password))
            out.write(json.dumps(record) + "\n")
    return population


@dataclass(frozen=True)
class Attempt:
    username: str
    password: str
    kind: str


def draw_attempt(population: Population, rng: random.Random) -> Attempt:
    kinds = [str(k) for k, _ in MIX]
    weights = [float(w) for _, w in MIX]
    kind = rng.choices(kinds, weights)[0]
    if kind == "unknown":
        return Attempt(f"nobody{rng.randrange(10**6)}@rehearsal.example", "Whatever!123", kind)
    pool = population.plain if kind == "plain_right" else population.disabled if kind == "disabled" else population.jit
    email, password = rng.choice(pool)
    return Attempt(email, password if kind != "jit_wrong" else password + "x", kind)


def burst(population: Population, rng: random.Random) -> list[Attempt]:
    email, password = rng.choice(population.jit)
    return [Attempt(email, f"{password}-guess{n}", "brute_force") for n in range(BURST_ATTEMPTS)]


def baseline_failure_share(attempts: float) -> float:
    """The mix's expected failure share with no cutover problem — wrong, unknown and disabled attempts plus the
    brute-force burst — over `attempts` regular attempts: what a pre-cutover measurement would find."""
    failing = sum(w for k, w in MIX if k in ("jit_wrong", "unknown", "disabled")) / sum(w for _, w in MIX)
    return (failing * attempts + BURST_ATTEMPTS) / (attempts + BURST_ATTEMPTS)
