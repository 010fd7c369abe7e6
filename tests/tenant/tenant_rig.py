"""Running `ciam-migrate tenant …` in-process against an emulator, and reading the emulator's own write count."""

from __future__ import annotations

from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from cli.main import app
from emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "tenant.toml"
# Values the sample's secret references resolve to; none may ever be printed.
SECRETS = {
    "GOOGLE_CLIENT_SECRET": "gOOgle-Secret-Value-7731",
    "FACEBOOK_APP_SECRET": "fb-Secret-Value-4410",
    "APPLE_SIGNING_KEY": "apple-P8-Secret-Value-9902",
    "CLUB_OIDC_SECRET": "oidc-Secret-Value-1187",
}


def tenant_cli(handle: EmulatorHandle, *args: str, env: dict[str, str] | None = None) -> Result:
    command = [*args[:1], *args[1:], "--tenant", handle.server.config.tenant, "--graph-url", handle.base_url]
    return CliRunner().invoke(app, ["tenant", *command], env=env)


def emulator_writes(handle: EmulatorHandle) -> int:
    """Write requests the emulator admitted (POST/PATCH/PUT/DELETE), across every calling app."""
    stats = httpx.get(f"{handle.base_url}/_emulator/stats", timeout=10).json()
    return sum(int(a["writes"]) for a in stats["apps"].values())
