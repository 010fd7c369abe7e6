"""The sync's two stages as the stage table runs them under the Functions host: the sync's own ports come from
its Azure runtime (shared.bootstrap.sync_runtime), built once per worker beside the import's.

poll changes (timer): polls SYNC_SOURCE's feed and sends its LegacyChange messages itself (the cursor moves only
after they are sent), so it returns no follow-ups. apply change (session queue): returns its continuation, if any.
"""

from __future__ import annotations

from shared.handlers.apply_change import apply_change
from shared.handlers.poll_changes import poll_changes
from shared.handlers.workflow import Workflow
from shared.messages import Envelope, LegacyChange
from shared.ports import Ports
from shared.sync.sqlite_store import poll_holder


async def poll_changes_stage(ports: Ports, workflow: Workflow) -> list[Envelope]:
    from shared.bootstrap import sync_runtime

    runtime = await sync_runtime()
    async with runtime.feed() as feed:
        await poll_changes(runtime.runtime.settings.SYNC_SOURCE, feed, runtime.sync, holder=poll_holder())
    return []


async def apply_change_stage(change: LegacyChange, ports: Ports, workflow: Workflow) -> list[Envelope]:
    from shared.bootstrap import sync_runtime

    return await apply_change(change, (await sync_runtime()).sync, workflow)
