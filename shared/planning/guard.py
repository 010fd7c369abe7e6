"""DuplicateGuard: remembers keys (legacy ids, sign-in names) as 8-byte blake2b digests, compactly.

An open-addressing table of 64-bit integers in one array: 16 bytes per key at most (load ≤ 0.5
after growth), against ~70 for a Python set of bytes. Two different keys share a digest with
probability ≈ n²/2⁶⁵ (≈ 3·10⁻⁶ for ten million keys); a collision would count one false duplicate.
"""

from __future__ import annotations

from array import array
from hashlib import blake2b

_EMPTY = 0


class DuplicateGuard:
    def __init__(self, capacity: int = 1 << 16) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def memory_bytes(self) -> int:
        return self._slots.itemsize * len(self._slots)

    @staticmethod
    def _digest(key: str) -> int:
        return int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def __contains__(self, key: str) -> bool:
        digest = self._digest(key)
        slots, mask = self._slots, self._mask
        index = digest & mask
        while True:
            held = slots[index]
            if held == digest:
                return True
            if held == _EMPTY:
                return False
            index = (index + 1) & mask

    def add(self, key: str) -> bool:
        """Remember `key`; False if it was already there (a duplicate)."""
        digest = self._digest(key)
        slots, mask = self._slots, self._mask
        index = digest & mask
        while True:
            held = slots[index]
            if held == _EMPTY:
                break
            if held == digest:
                return False
            index = (index + 1) & mask
        slots[index] = digest
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        size = len(old) * 2
        self._slots = slots = array("Q", bytes(8 * size))
        self._mask = mask = size - 1
        for digest in old:
            if digest != _EMPTY:
                index = digest & mask
                while slots[index] != _EMPTY:
                    index = (index + 1) & mask
                slots[index] = digest
