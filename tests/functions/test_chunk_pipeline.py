"""The local engine overlaps chunks: while one chunk's creates are in flight, the next chunk is already read,
looked up and ledgered (its users `pending`), so it is ready to write the moment the budget frees up. And the
JIT hashes of plaintext passwords are derived off the event loop, in their own threads."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from pathlib import Path

from cli.run_cmd import _drive
from shared.bootstrap import local_parts
from shared.config import Settings
from shared.messages import PlanExport
from shared.outcomes import Outcome
from shared.passwords.jit_hash import jit_hash, start_jit_hashes
from shared.ports import CreateResult
from shared.records import LegacyUser, TargetUser
from tests.fakes import FakeDirectory

CHUNK = 10
WAIT_S = 20.0  # bounded: a machine under load may be slow, but the test never hangs


class WatchingDirectory(FakeDirectory):
    """A tenant whose first create_users call holds on until it sees another chunk's users pending."""

    def __init__(self, parts_ledger: object, others: list[str]) -> None:
        super().__init__()
        self.ledger = parts_ledger
        self.others = others
        self.saw_next_chunk_pending: bool | None = None

    async def create_users(self, users: Sequence[TargetUser]) -> list[CreateResult]:
        if self.saw_next_chunk_pending is None:
            mine = {u.legacy_id for u in users}
            waiting = [legacy_id for legacy_id in self.others if legacy_id not in mine]
            self.saw_next_chunk_pending = False
            for _ in range(int(WAIT_S / 0.02)):
                known = await self.ledger.get_many("jsonl", waiting)  # type: ignore[attr-defined]
                if any(e.outcome == Outcome.PENDING for e in known.values()):
                    self.saw_next_chunk_pending = True
                    break
                await asyncio.sleep(0.02)
        return await super().create_users(users)


async def test_the_next_chunk_is_read_and_ledgered_while_the_first_one_writes(tmp_path: Path) -> None:
    # Given an export of three chunks, every seventh user with a plaintext password Entra refuses
    export = tmp_path / "export.jsonl"
    ids = [f"u{n:03d}" for n in range(3 * CHUNK)]
    export.write_text("".join(
        json.dumps({"legacyId": i, "email": f"{i}@example.com"} | ({"password": {"plaintext": "weak"}}
                                                                    if n % 7 == 0 else {})) + "\n"
        for n, i in enumerate(ids)
    ))  # fmt: skip
    settings = Settings(STATE_DIR=str(tmp_path / "state"), CHUNK_SIZE=CHUNK, EXTENSIONS_APP_ID="ext-app")
    parts = local_parts(settings)
    directory = WatchingDirectory(parts.ledger, ids)
    parts.ports.directory = directory
    try:
        # When `run`'s engine imports it
        plan = PlanExport(run_id="overlap", source="jsonl", export_ref=str(export), chunk_size=CHUNK)
        final = await _drive(parts, settings, "overlap", plan, show_progress=False)
        # Then while the first chunk was writing, another chunk's users were already pending in the ledger
        assert directory.saw_next_chunk_pending is True
        # And the run ends with every user created exactly once, and every plaintext user's hash vaulted
        assert final is not None and final.finished_at is not None
        assert (final.created, final.failed) == (3 * CHUNK, 0)
        assert sorted(directory.sent) == ids
        assert parts.vault.count() == len(range(0, 3 * CHUNK, 7))
    finally:
        await parts.close()


async def test_jit_hashes_are_derived_off_the_event_loop_while_it_runs_on() -> None:
    # Given three users whose plaintext passwords Entra refused, and a derivation that waits to be released
    users = [LegacyUser.model_validate({"legacyId": f"p{n}", "email": f"p{n}@example.com",
                                        "password": {"plaintext": "weak"}}) for n in range(3)]  # fmt: skip
    loop_thread = threading.get_ident()
    release = threading.Event()
    threads: list[int] = []

    def derive(user: LegacyUser):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        # Only the event loop releases it: run on the loop's thread, it would wait out the timeout instead.
        return jit_hash(user) if release.wait(WAIT_S) else None

    # When the derivations are started and the loop goes on to release them
    hashes = start_jit_hashes(users, derive=derive)
    release.set()
    found = await hashes.wait()
    # Then none of them ran on the loop's thread, and each one was released (a hash, not a timeout)
    assert len(threads) == 3 and loop_thread not in threads
    assert all(found[u.legacy_id] is not None for u in users)
    assert all(h is not None and h.algorithm == "pbkdf2-sha256" for h in found.values())
