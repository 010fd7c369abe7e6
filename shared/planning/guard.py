"""DuplicateGuard: remembers keys (legacy ids, sign-in names) as 64-bit digests, compactly.

An open-addressing table of 64-bit integers in one array: 16 bytes per key at most (load ≤ 0.5
after growth), against ~70 for a Python set of bytes. The digest is Python's own string hash
(SipHash, 64 bits, keyed per process; computed in C, ~10x cheaper than blake2b here). Two different
keys share a digest with probability ≈ n²/2⁶⁵ (≈ 3·10⁻⁶ for ten million keys); a collision would
count one false duplicate.

`digest(key)` once, then `holds`/`add_digest` with it, when a key is both looked up and remembered.
"""

from __future__ import annotations

from array import array

_EMPTY = 0
_MASK64 = (1 << 64) - 1


def digest(key: str) -> int:
    """The key's 64-bit digest (never 0, the empty slot)."""
    return hash(key) & _MASK64 or 1


class DuplicateGuard:
    def __init__(self, capacity: int = 1 << 16) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._slots = array("Q", [_EMPTY]) * size
        self._mask = size - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def memory_bytes(self) -> int:
        return self._slots.itemsize * len(self._slots)

    def __contains__(self, key: str) -> bool:
        return self.holds(digest(key))

    def holds(self, key_digest: int) -> bool:
        slots, mask = self._slots, self._mask
        index = key_digest & mask
        while True:
            held = slots[index]
            if held == key_digest:
                return True
            if held == _EMPTY:
                return False
            index = (index + 1) & mask

    def add(self, key: str) -> bool:
        """Remember `key`; False if it was already there (a duplicate)."""
        return self.add_digest(hash(key) & _MASK64 or 1)

    def add_digest(self, key_digest: int) -> bool:
        """Remember a key by its digest(); False if it was already there."""
        slots, mask = self._slots, self._mask
        index = key_digest & mask
        while True:
            held = slots[index]
            if held == _EMPTY:
                break
            if held == key_digest:
                return False
            index = (index + 1) & mask
        slots[index] = key_digest
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        size = len(old) * 2
        self._slots = slots = array("Q", [_EMPTY]) * size  # no bytes() copy: peak = old + new
        self._mask = mask = size - 1
        for key_digest in old:
            if key_digest != _EMPTY:
                index = key_digest & mask
                while slots[index] != _EMPTY:
                    index = (index + 1) & mask
                slots[index] = key_digest
