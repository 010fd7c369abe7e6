"""Graph-compatible tenant emulator for Entra External ID (loopback only).

Public API (kept stable for the import engine, tests and benchmarks):

* ``EmulatorConfig`` (pydantic): tenant, quotas (``Quotas``), time_scale, faults (``FaultSpec``
  or a ``--faults`` string), seed, state_file, host, port (0 = pick a free port).
* ``EmulatorServer(config)``: ``await start() -> base_url``, ``await stop()``, ``.base_url``,
  ``.tenant`` (the live ``TenantState``), ``.faults`` (the live ``FaultInjector``).
* ``serve(config)``: ``async with serve(cfg) as server:`` starts and stops it.
* ``run_in_thread(config) -> EmulatorHandle`` with ``.base_url`` and ``.stop()``, for sync callers.
* ``DEFAULT_EXTENSIONS_APP_ID``: appId of the pre-created b2c-extensions-app.

Graph lives under ``{base_url}/v1.0``; control endpoints under ``{base_url}/_emulator``
(see docs/emulator.md).

The server is imported on first use of its names, so reading a constant (the CLI's default
extensions app id) does not load the whole emulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emulator.config import EmulatorConfig, FaultSpec, Quotas
from emulator.constants import (
    DEFAULT_CLIENT_APP_ID,
    DEFAULT_EXTENSIONS_APP_ID,
    DEFAULT_TENANT,
    DEFAULT_TENANT_ID,
)

if TYPE_CHECKING:
    from emulator.server import EmulatorHandle, EmulatorServer, run_in_thread, serve

_FROM_SERVER = frozenset({"EmulatorHandle", "EmulatorServer", "run_in_thread", "serve"})


def __getattr__(name: str) -> Any:
    if name in _FROM_SERVER:
        return getattr(importlib.import_module("emulator.server"), name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")


__all__ = [
    "DEFAULT_CLIENT_APP_ID",
    "DEFAULT_EXTENSIONS_APP_ID",
    "DEFAULT_TENANT",
    "DEFAULT_TENANT_ID",
    "EmulatorConfig",
    "EmulatorHandle",
    "EmulatorServer",
    "FaultSpec",
    "Quotas",
    "run_in_thread",
    "serve",
]
