"""The long tail: after the coexistence deadline, users still flagged for JIT get a policy and lose their hash.

`find_long_tail` lists them (tenant flag true and a hash in the vault, plus any user a previous apply left
half done); `apply_long_tail` writes the policy to Entra, clears the flag, purges the hash, and journals each
step (shared/longtail/journal.py), so a crash at any point is finished by running the same command again.
"""

from __future__ import annotations

from shared.longtail.apply import LongTailOutcome, apply_long_tail
from shared.longtail.find import LongTailUser, find_long_tail
from shared.longtail.journal import LongTailJournal
from shared.longtail.policy import POLICIES, Policy

__all__ = ["POLICIES", "LongTailJournal", "LongTailOutcome", "LongTailUser", "Policy", "apply_long_tail",
           "find_long_tail"]  # fmt: skip
