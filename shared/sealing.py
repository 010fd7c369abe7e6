"""Sealing: AES-256-GCM for data at rest that holds secrets (chunk files/blobs carry passwords).

A chunk is sealed whole: nonce(12) || ciphertext+tag, with the chunk's name as associated data so a
blob copied under another name does not open. The key comes from a local key file (created 0600 on
first use) or, in Azure, from the CHUNK_SEALING_KEY app setting (a Key Vault reference).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class SealBroken(Exception):
    """Sealed data did not open: wrong key, wrong name, or tampered. Holds no plaintext."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a sealing key is 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, text: str) -> Sealer:
        return cls(base64.b64decode(text))

    @classmethod
    def from_key_file(cls, path: Path) -> Sealer:
        """Load the key file, creating it (mode 0600) on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64encode(secrets.token_bytes(32)))
        return cls.from_base64(path.read_text(encoding="ascii").strip())

    def seal(self, plaintext: bytes, name: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, name.encode())

    def open(self, sealed: bytes, name: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], name.encode())
        except (InvalidTag, ValueError) as exc:
            raise SealBroken(f"sealed data {name!r} did not open (wrong key or tampered)") from exc
