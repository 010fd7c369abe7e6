"""`submit --azure` follows its run from the ledger: progress per read, the exit code each ending deserves.

Time and sleep are parameters (FakeClock style): the timeout is tested exactly, without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cli.azure_runs import Drop, without_query
from cli.submit_cmd import EXIT_FAILURES, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, Followed, describe, follow, outcome
from shared.outcomes import RunState

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DROP = Drop("drop-users-0123456789", "exports/jsonl/20260301T000000Z/users.jsonl", 100, "https://a/b")


def run(**fields: object) -> RunState:
    return RunState.model_validate({"run_id": DROP.run_id, "source": "jsonl", "export_ref": DROP.blob_name,
                                    "started_at": T0, **fields})  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_follow_reads_until_the_run_finishes_showing_each_state():
    states = [None, run(), run(total=10, rejected=2, chunks=1), run(total=10, rejected=2, chunks=1, chunks_reported=1,
              created=7, failed=1, finished_at=T0)]  # fmt: skip
    seen: list[str] = []
    clock = Clock()

    async def read() -> RunState | None:
        return states.pop(0)

    followed = await follow(read, 60, 5, lambda r: seen.append(describe(r)), clock=clock, sleep=clock.sleep)
    assert not followed.timed_out and followed.run is not None and followed.run.finished_at == T0
    assert seen == [
        "waiting for the Functions app to pick up the export",
        "planning the export",
        "importing: created 0, already present 0, rejected 2, failed 0, pending 8",
        "importing: created 7, already present 0, rejected 2, failed 1, pending 0",
    ]
    assert clock.now == 15  # three polls of 5 s
    assert outcome(DROP, followed) == EXIT_FAILURES  # one user failed


async def test_follow_gives_up_at_the_timeout_and_says_the_run_goes_on():
    clock = Clock()

    async def read() -> RunState | None:
        return run(total=10, rejected=0, chunks=2)

    followed = await follow(read, 12, 5, clock=clock, sleep=clock.sleep)
    assert followed.timed_out and clock.now == 12  # the last sleep is cut to the deadline
    assert outcome(DROP, followed) == EXIT_TIMEOUT
    assert outcome(DROP, Followed(None, timed_out=True)) == EXIT_TIMEOUT


def test_each_ending_has_its_exit_code():
    assert outcome(DROP, Followed(run(total=3, rejected=0, created=3, finished_at=T0), False)) == EXIT_OK
    assert outcome(DROP, Followed(run(error="users.jsonl: line 3: not JSON"), False)) == EXIT_USAGE
    assert outcome(DROP, Followed(run(abandoned_at=T0), False)) == EXIT_USAGE


def test_a_url_shown_to_the_operator_loses_its_sas():
    url = "https://acct.blob.core.windows.net/migration/exports/jsonl/x/users.jsonl?sv=2022&sig=SECRET%3D"
    assert without_query(url) == "https://acct.blob.core.windows.net/migration/exports/jsonl/x/users.jsonl"
