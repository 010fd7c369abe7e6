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


@contextmanager
def azurite_tables() -> Iterator[str]:
    """Azurite's Table service (in memory, a free loopback port) for a benchmark; yields its connection string."""
    import socket
    import tempfile
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        process = subprocess.Popen(
            [str(ROOT / "node_modules" / ".bin" / "azurite-table"), "--tableHost", "127.0.0.1", "--tablePort",
             str(port), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent",
             "--disableTelemetry"],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("azurite-table did not start (npm install in the repo root?)") from None
                    time.sleep(0.1)
            yield (
                f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
                f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
            )
        finally:
            process.terminate()
            process.wait(10)


# The well-known development-storage account: published by Microsoft, only ever valid against an emulator.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
