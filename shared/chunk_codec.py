"""Chunk serialisation shared by every ChunkStore: gzip'd JSON lines of ChunkEntry, sealed whole.

Passwords and hashes are in the plaintext of a chunk, so a chunk is only ever stored sealed.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence

from shared.ports import ChunkEntry
from shared.records import LegacyUser, reveal_secrets
from shared.sealing import Sealer


def chunk_name(run_id: str, chunk_id: str) -> str:
    return f"runs/{run_id}/chunks/{chunk_id}.bin"


def encode_chunk(entries: Sequence[ChunkEntry], sealer: Sealer, name: str) -> bytes:
    lines = (json.dumps({"line": e.line, "user": reveal_secrets(e.user)}, separators=(",", ":")) for e in entries)
    return sealer.seal(gzip.compress("\n".join(lines).encode(), compresslevel=1), name)


def decode_chunk(data: bytes, sealer: Sealer, name: str) -> list[ChunkEntry]:
    text = gzip.decompress(sealer.open(data, name)).decode()
    entries = []
    for raw in text.splitlines():
        obj = json.loads(raw)
        entries.append(ChunkEntry(line=obj["line"], user=LegacyUser.model_validate(obj["user"])))
    return entries
