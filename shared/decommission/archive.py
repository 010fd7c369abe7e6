"""The reports archive: every run's report.json, rejects.jsonl, failures.jsonl and id-map.csv, the last
reconcile's summary and the long-tail journal's counts, in one zip with a MANIFEST.sha256 inside.

The manifest lists `<sha256>  <member path>` per member (sha256sum's format, so `sha256sum -c` checks an
unpacked copy). `verify_archive` re-reads the zip and recomputes every hash. Written to a temp name and
renamed: a crash never leaves a half archive under the final name. Holds no secret: these artifacts never do.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

MANIFEST = "MANIFEST.sha256"
RUN_ARTIFACTS = ("report.json", "rejects.jsonl", "failures.jsonl", "id-map.csv")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_archive(path: Path, members: Iterable[tuple[str, bytes]]) -> tuple[int, str]:
    """Write `members` (name, bytes) and the manifest; returns (members, the archive's own SHA-256)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    lines: list[str] = []
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
            lines.append(f"{sha256_of(data)}  {name}\n")
        archive.writestr(MANIFEST, "".join(lines))
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)
    return len(lines), sha256_of(path.read_bytes())


def verify_archive(path: Path) -> list[str]:
    """Problems found (empty when every manifest hash matches its member and every member is listed)."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist()) - {MANIFEST}
        listed: set[str] = set()
        for line in archive.read(MANIFEST).decode().splitlines():
            digest, name = line.split("  ", 1)
            listed.add(name)
            if name not in names:
                problems.append(f"{name}: in the manifest, not in the archive")
            elif sha256_of(archive.read(name)) != digest:
                problems.append(f"{name}: hash does not match the manifest")
        problems.extend(f"{name}: not in the manifest" for name in sorted(names - listed))
    return problems
