"""Generated interchange exports (jsonl) whose expected outcome is known by construction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Precomputed once (samples/users.jsonl): hashing is not what these tests measure.
BCRYPT_HASH = "$2b$10$FHOJR3q6mgEOPDksMFQc5.OUAQOpf/gPjkLPos4bLLV3K/8WwqJYG"
PBKDF2_HASH = {
    "algorithm": "pbkdf2-sha256",
    "value": "cCqZOdGk2OPQWfXdo1qHGimqUokurTTK+zaLERxa0vg=",
    "salt": "c2FtcGxlLXNhbHQtMDAwMQ==",
    "params": {"iterations": 27500},
}


@dataclass
class Export:
    path: Path
    total: int = 0
    valid: set[str] = field(default_factory=set)
    jit: set[str] = field(default_factory=set)  # valid users whose credential must end in the vault
    rejected: int = 0


def write_export(path: Path, records: int, *, prefix: str = "K") -> Export:
    """`records` lines: bcrypt, pbkdf2, strong plaintext, weak plaintext (→ JIT) and password-less users in
    turn; every 97th has an invalid email and every 211th repeats the previous legacyId (both rejected)."""
    export = Export(path)
    seen: set[str] = set()
    with path.open("w", encoding="utf-8") as fh:
        for i in range(1, records + 1):
            duplicate = i % 211 == 0
            legacy_id = f"{prefix}{(i - 1 if duplicate else i):06d}"
            record: dict[str, Any] = {
                "legacyId": legacy_id,
                "email": "not-an-email" if i % 97 == 0 else f"{prefix.lower()}{i}@example.com",
                "givenName": "Test",
                "surname": f"User{i}",
                "attributes": {"loyaltyTier": ("bronze", "silver", "gold")[i % 3]},
            }
            kind = i % 5
            if kind == 0:
                record["password"] = {"hash": {"algorithm": "bcrypt", "value": BCRYPT_HASH}}
            elif kind == 1:
                record["password"] = {"hash": PBKDF2_HASH}
            elif kind == 2:
                record["password"] = {"plaintext": f"Str0ng-Pass-{i}!"}  # Entra takes it: not vaulted
            elif kind == 3:
                record["password"] = {"plaintext": f"weakpass{i}"}  # Entra refuses it: derived hash, JIT
            fh.write(json.dumps(record) + "\n")
            export.total += 1
            if legacy_id in seen or i % 97 == 0:
                export.rejected += 1
                seen.add(legacy_id)
                continue
            seen.add(legacy_id)
            export.valid.add(legacy_id)
            if kind in (0, 1, 3):
                export.jit.add(legacy_id)
    return export


@dataclass
class MfaExport:
    path: Path
    total: int = 0
    methods: dict[str, dict[str, str]] = field(default_factory=dict)  # legacyId → slot → value as Graph holds it
    totp: int = 0  # TOTP methods: reported as not importable

    @property
    def writes(self) -> int:
        return sum(len(m) for m in self.methods.values())


def write_mfa_export(path: Path, records: int, *, prefix: str = "M") -> MfaExport:
    """`records` valid users in turn without MFA, with one phone, with two phones and an email method, and with
    a phone and a TOTP secret. Phones are E.164 from three country-code lengths (+1, +44, +353)."""
    export = MfaExport(path)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(1, records + 1):
            legacy_id = f"{prefix}{i:06d}"
            record: dict[str, Any] = {
                "legacyId": legacy_id,
                "email": f"{prefix.lower()}{i}@example.com",
                "password": {"plaintext": f"Str0ng-Pass-{i}!"},
            }
            mobile, alternate = f"+1425{i:07d}", f"+44207{i:07d}"
            kind = i % 4
            if kind == 1:
                record["mfa"] = [{"type": "phone", "value": mobile}]
                export.methods[legacy_id] = {"mobile": f"+1 425{i:07d}"}
            elif kind == 2:
                record["mfa"] = [
                    {"type": "phone", "value": mobile},
                    {"type": "phone", "value": alternate},
                    {"type": "email", "value": f"backup{i}@example.org"},
                ]
                export.methods[legacy_id] = {
                    "mobile": f"+1 425{i:07d}", "alternateMobile": f"+44 207{i:07d}", "email": f"backup{i}@example.org"
                }  # fmt: skip
            elif kind == 3:
                record["mfa"] = [{"type": "phone", "value": f"+353861{i:06d}"}, {"type": "totp", "value": "JBSWY3DP"}]
                export.methods[legacy_id] = {"mobile": f"+353 861{i:06d}"}
                export.totp += 1
            fh.write(json.dumps(record) + "\n")
            export.total += 1
    return export
