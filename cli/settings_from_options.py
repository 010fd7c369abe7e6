"""Turn CLI options into Settings: options win over environment variables, which win over defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shared.apps_file import load_apps_file
from shared.config import Settings, WriteQuota
from shared.credentials import parse_apps

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def is_loopback(url: str) -> bool:
    return (urlparse(url).hostname or "") in LOOPBACK


def build_settings(
    *,
    state: str | None = None,
    graph_url: str | None = None,
    tenant: str | None = None,
    apps: list[str] | None = None,
    apps_file: Path | None = None,
    extensions_app_id: str | None = None,
    time_scale: float | None = None,
    chunk_size: int | None = None,
) -> Settings:
    overrides: dict[str, Any] = {}
    if state:
        overrides["STATE_DIR"] = state
    if graph_url:
        overrides["GRAPH_URL"] = graph_url.rstrip("/")
    if tenant:
        overrides["TENANT"] = tenant
    if apps:
        overrides["APP_IDS"] = apps
    if extensions_app_id:
        overrides["EXTENSIONS_APP_ID"] = extensions_app_id
    if chunk_size:
        overrides["CHUNK_SIZE"] = chunk_size
    settings = Settings(**overrides)
    if apps_file is not None:  # its [[apps]] lanes join the --app ones; no identity may serve two lanes
        lanes = [*(apps or []), *load_apps_file(apps_file, emulator=is_loopback(settings.GRAPH_URL))]
        parse_apps(lanes, emulator=is_loopback(settings.GRAPH_URL))
        settings = settings.model_copy(update={"APP_IDS": lanes})
    if time_scale and time_scale != 1.0:
        if not is_loopback(settings.GRAPH_URL):
            raise ValueError("--time-scale only applies to the tenant emulator (a loopback --graph-url)")
        quota = settings.WRITE_QUOTA.model_dump() | {"time_scale": time_scale}
        settings = settings.model_copy(update={"WRITE_QUOTA": WriteQuota(**quota)})
    return settings
