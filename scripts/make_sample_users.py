"""Regenerate samples/users.jsonl: 250 interchange records with the mix a real export has.

Deterministic: seeded names and a fixed bcrypt salt, so running it again reproduces the tracked file
byte for byte (`--out` writes elsewhere; `--help` writes nothing). Mostly clean users; a few with
plaintext passwords, exported bcrypt/pbkdf2 hashes, usernames, custom attributes, a disabled
account, and a handful of bad records (invalid email, duplicate legacyId, unknown key, unsupported
hash, over-long attribute) so a rehearsal shows what rejection looks like.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
from pathlib import Path

import bcrypt

FIRST = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Isla", "Lucas", "Emma", "Omar", "Sofia", "Kenji", "Priya"]
LAST = ["Smith", "Garcia", "Nguyen", "Müller", "Rossi", "Kowalski", "Okafor", "Tanaka", "Silva", "Haddad"]
DOMAINS = ["example.com", "mail.example.org", "contoso.example", "fabrikam.example"]
# A fixed salt (the one in the tracked sample): bcrypt.gensalt() would make every run differ.
BCRYPT_SALT = b"$2b$10$FHOJR3q6mgEOPDksMFQc5."
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "samples" / "users.jsonl"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    rng = random.Random(20261126)
    bcrypt_hash = bcrypt.hashpw(b"Sunshine!2024", BCRYPT_SALT).decode()
    salt = b"sample-salt-0001"
    pbkdf2 = base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"Correct-Horse-9", salt, 27500)).decode()
    lines: list[str] = []
    for n in range(1, 241):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}.{n}@{rng.choice(DOMAINS)}".lower().replace("ü", "u")
        record: dict[str, object] = {
            "legacyId": f"u{n:05d}",
            "email": email,
            "emailVerified": True,
            "givenName": first,
            "surname": last,
            "createdAt": f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
            "attributes": {"loyaltyTier": rng.choice(["bronze", "silver", "gold"]), "marketingOptIn": n % 3 == 0},
        }
        kind = n % 10
        if kind == 1:
            record["password"] = {"hash": {"algorithm": "bcrypt", "value": bcrypt_hash}}
        elif kind == 2:
            record["password"] = {
                "hash": {
                    "algorithm": "pbkdf2-sha256",
                    "value": pbkdf2,
                    "salt": base64.b64encode(salt).decode(),
                    "params": {"iterations": 27500},
                }
            }
        elif kind == 3:
            record["password"] = {"plaintext": f"Plain-Text-{n}x"}
        elif kind == 4:
            record["username"] = f"{first.lower()}_{n}"
            record["phone"] = f"+1425555{n:04d}"
        if n == 7:
            record["disabled"] = True
        lines.append(json.dumps(record, ensure_ascii=False))
    bad = [
        {"legacyId": "bad-email", "email": "not-an-email"},
        {"legacyId": "u00010", "email": "duplicate.id@example.com"},
        {"legacyId": "unknown-key", "email": "unknown.key@example.com", "favouriteColour": "teal"},
        {"legacyId": "md4-hash", "email": "md4@example.com", "password": {"hash": {"algorithm": "md4", "value": "00"}}},
        {"legacyId": "long-attr", "email": "long.attr@example.com", "attributes": {"bio": "x" * 300}},
        {"email": "no.id@example.com"},
        {"legacyId": "no-identity", "displayName": "Nobody"},
    ]
    lines.extend(json.dumps(b) for b in bad)
    for n in range(241, 244):
        late = {"legacyId": f"u{n:05d}", "email": f"late.{n}@example.com", "displayName": f"Late {n}"}
        lines.append(json.dumps(late))
    out: Path = args.out
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} records to {out}")


if __name__ == "__main__":
    main()
