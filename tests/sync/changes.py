"""A seeded generator of mixed legacy changes, and the legacy state they leave: the rehearsal's ground truth.

`LegacyWorld` starts from the bulk export's users; `step()` applies one random change (profile update, email
change, disable, enable, delete, new user, password change) and returns the changes.jsonl line for it.
"""

from __future__ import annotations

import random
from typing import Any

import bcrypt

from tests.sync.conftest import person

# bcrypt at the lowest cost: the rehearsal is about sync, not hashing
_HASHES = [bcrypt.hashpw(f"Passw0rd-{i}!".encode(), bcrypt.gensalt(4)).decode() for i in range(8)]


class LegacyWorld:
    def __init__(self, users: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.users: dict[str, dict[str, Any] | None] = {f"u{i:05d}": person(i) for i in range(users)}
        self.next_new = 50_000
        self.seq = 0

    def alive(self) -> list[str]:
        return [k for k, v in self.users.items() if v is not None]

    def step(self) -> dict[str, Any]:
        rng = self.rng
        self.seq += 1
        roll = rng.random()
        if roll < 0.12:
            i = self.next_new
            self.next_new += 1
            record = person(i)
            self.users[record["legacyId"]] = record
            return {**record, "op": "create", "seq": self.seq}
        legacy_id = rng.choice(self.alive())
        record = dict(self.users[legacy_id] or {})
        if roll < 0.22:
            self.users[legacy_id] = None
            return {"legacyId": legacy_id, "op": "delete", "seq": self.seq}
        if roll < 0.32:
            record["disabled"] = not record.get("disabled", False)
            op = "disable" if record["disabled"] else "enable"
            if not record["disabled"]:
                record.pop("disabled")
        elif roll < 0.45:
            record["email"] = f"moved{self.seq}.{legacy_id}@example.org"
            op = "update"
        elif roll < 0.52:
            record["password"] = {"hash": {"algorithm": "bcrypt", "value": rng.choice(_HASHES)}}
            op = "password"
        else:
            field = rng.choice(["givenName", "surname", "displayName"])
            record[field] = f"{field}-{self.seq}"
            op = "update"
        self.users[legacy_id] = record
        return {**record, "op": op, "seq": self.seq}
