"""Errors raised by the verifiers. Their text names the algorithm at most, never a value, salt or key.

* UnsupportedHash: the algorithm is not one we verify (refuse it at plan/import time, Reason.UNSUPPORTED_HASH).
* MalformedHash: the stored hash does not parse for its algorithm (a source reader bug or a corrupt export).
"""

from __future__ import annotations


class UnsupportedHash(ValueError):
    """No verifier for this algorithm name."""


class MalformedHash(ValueError):
    """The hash, salt or params do not have the shape docs/jit.md describes for the algorithm."""
