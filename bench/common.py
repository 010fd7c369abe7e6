"""What the benchmarks share: the tenant emulator in its own process, on loopback, stopped at exit."""

from __future__ import annotations

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
