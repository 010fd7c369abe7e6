"""What the benchmarks share: the tenant emulator in its own process, on loopback, stopped at exit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def emulator_process(*args: str) -> Iterator[str]:
    """Run `python -m emulator --port 0 ARGS…` and yield its base URL; kill it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise SystemExit(f"emulator did not start: {line!r}")
        yield match.group(1)
    finally:
        process.kill()
        process.wait(10)


def write_users(path: Path, users: int, prefix: str) -> None:
    """A generated jsonl export of clean users (legacyId `<prefix>NNNNNNNN`), one custom attribute each."""
    with path.open("w", encoding="utf-8") as f:
        for n in range(users):
            record = {"legacyId": f"{prefix}{n:08d}", "email": f"{prefix}.user.{n}@example.com", "givenName": "Bench",
                      "surname": f"User{n}", "attributes": {"tier": "gold"}}  # fmt: skip
            f.write(json.dumps(record) + "\n")
