"""SyncPorts: what the poll and apply stages need beside the import's Ports.

`states(source)` gives the LegacyState the apply stage re-reads (a feed's own, or the sealed drop/snapshot
records); `mapping` is how legacy users become Entra users (the bulk import's, so both write the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.mapping import MappingOptions
from shared.ports import Ports
from shared.sync.directory import SyncDirectory
from shared.sync.feed import LegacyState
from shared.sync.fingerprint import Digester
from shared.sync.policy import SyncPolicy
from shared.sync.store import SyncStore


@dataclass
class SyncPorts:
    ports: Ports
    store: SyncStore
    directory: SyncDirectory
    states: Callable[[str], LegacyState]
    mapping: MappingOptions
    digester: Digester
    policy: SyncPolicy
