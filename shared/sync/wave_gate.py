"""The wave gate: the sync creates a user only once that user's wave has been migrated.

In: the ledger's wave plan and runs, one legacy user. Out: the number of the wave the user waits for, or None
when the sync may create the user now. A wave is *open* when a run of this source imported it (`run --wave N`)
or imported the whole export (a run without `--wave`), finished, and was not rolled back. Without a wave plan,
and for a user the plan places in no wave (a new sign-up with a value `waves plan` never saw), nothing waits:
the sync creates as it always did. So a snapshot diff or a feed's create during a staged migration does not
pull users of waves not yet run — or of a wave just rolled back — into Entra ahead of their wave.
"""

from __future__ import annotations

from shared.outcomes import RunState
from shared.ports import Ledger
from shared.records import LegacyUser
from shared.sync.policy import sync_run_id


async def awaiting_wave(ledger: Ledger, source: str, user: LegacyUser) -> int | None:
    plan = await ledger.get_wave_plan()
    if plan is None:
        return None
    wave = plan.wave_of(user)
    if wave is None:
        return None
    runs = await ledger.list_runs()
    return None if wave in open_waves(runs, source, {w.number for w in plan.waves}) else wave


def open_waves(runs: list[RunState], source: str, waves: set[int]) -> set[int]:
    """The waves of this source whose users a finished, not rolled-back run imported."""
    opened: set[int] = set()
    for run in runs:
        if run.source != source or run.run_id == sync_run_id(source):
            continue
        if run.finished_at is None or run.rolled_back_at is not None:
            continue
        opened |= waves if run.wave is None else {run.wave}
    return opened
