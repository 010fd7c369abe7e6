"""R29 end to end: `ciam-migrate run` as its own process against the emulator as its own process. A lane whose
token Graph refuses (401) ends the run with exit 2, a message naming the fix, and nothing redelivered."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import SAMPLE

APP = "dddddddd-4444-4444-8444-00000000000d"


def redeliveries(state: Path) -> int:
    db = state / "migration.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "messages" not in tables:
            return 0
        return int(conn.execute("SELECT COALESCE(SUM(MAX(delivery_count - 1, 0)), 0) FROM messages").fetchone()[0])


def test_a_401_ends_run_with_exit_2_the_fix_and_no_redelivery(emulator_process, cli, tmp_path: Path) -> None:
    apps = tmp_path / "client-apps.json"
    # The emulator knows this app only with a secret; the lane brings none, so Graph answers its calls with 401.
    apps.write_text(json.dumps([{"client_id": APP, "secret": "r29-lane-secret"}]), encoding="utf-8")
    emulator = emulator_process(client_apps=apps)
    state = tmp_path / "state"
    result = cli.run(["run", str(SAMPLE), "--source", "jsonl", "--graph-url", emulator.base_url,
                      "--state", str(state), "--app", APP], timeout=60)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "401" in output and "--tenant" in output and "ciam-migrate doctor" in output, output
    assert redeliveries(state) == 0
    assert emulator.users() == 0
