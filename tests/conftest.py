"""Shared fixtures for the import spine: an emulator on 127.0.0.1 in its own thread, and settings for it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emulator import DEFAULT_EXTENSIONS_APP_ID, EmulatorConfig, EmulatorHandle, run_in_thread  # noqa: E402
from shared.config import Settings, WriteQuota  # noqa: E402

SAMPLE = ROOT / "samples" / "users.jsonl"


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., EmulatorHandle]]:
    """Start an emulator with EmulatorConfig fields; every one started is stopped after the test."""
    handles: list[EmulatorHandle] = []

    def start(**config: Any) -> EmulatorHandle:
        # Graph may answer $batch items in any order (concepts/json-batching.md): the spine sees that by default.
        handle = run_in_thread(EmulatorConfig(port=0, **{"shuffle_batch_responses": True, **config}))
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


def emulator_stats(handle: EmulatorHandle) -> dict[str, Any]:
    return httpx.get(f"{handle.base_url}/_emulator/stats", timeout=10).json()  # type: ignore[no-any-return]


def set_faults(handle: EmulatorHandle, **faults: float) -> None:
    body = {k.replace("_", "-") if not k[0].isdigit() else k: v for k, v in faults.items()}
    httpx.post(f"{handle.base_url}/_emulator/faults", json=body, timeout=10).raise_for_status()


def settings_for(handle: EmulatorHandle, state: Path, **overrides: Any) -> Settings:
    time_scale = overrides.pop("time_scale", handle.server.config.time_scale)
    return Settings(
        STATE_DIR=str(state),
        GRAPH_URL=handle.base_url,
        TENANT=handle.server.config.tenant,
        EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID,
        WRITE_QUOTA=WriteQuota(time_scale=time_scale),
        INLINE_RETRY_BUDGET_S=overrides.pop("INLINE_RETRY_BUDGET_S", 5.0),
        **overrides,
    )
