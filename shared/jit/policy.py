"""Entra's password policy (docs/limits.md): 8-256 characters, ASCII only, at least 3 of lower/upper/digit/symbol.

A right password that fails it gets UpdatePassword instead of MigratePassword (Entra would refuse to store it).
"""

from __future__ import annotations

MIN_LENGTH = 8
MAX_LENGTH = 256


def meets_entra_policy(password: str) -> bool:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH or not password.isascii() or not password.isprintable():
        return False
    classes = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),  # symbols, including space
    )
    return sum(classes) >= 3
