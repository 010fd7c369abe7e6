"""The Python API (serve, run_in_thread), state persistence, control reset, loopback-only, CLI."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from cli.emulator_cmd import register
from emulator import EmulatorConfig, run_in_thread, serve
from tests.emulator.conftest import APP_A, customer, unsigned_jwt

AUTH = {"Authorization": f"Bearer {unsigned_jwt({'appid': APP_A})}"}


def test_run_in_thread_serves_sync_callers() -> None:
    with run_in_thread(EmulatorConfig(port=0)) as handle:
        assert handle.base_url.startswith("http://127.0.0.1:")
        response = httpx.post(f"{handle.graph_url}/users", json=customer("t@example.com"), headers=AUTH)
        assert response.status_code == 201
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{handle.graph_url}/users", headers=AUTH)


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "tenant.json"
    config = EmulatorConfig(port=0, state_file=state)
    async with serve(config) as server, httpx.AsyncClient(base_url=server.graph_url, headers=AUTH) as client:
        created = (await client.post("/users", json=customer("keep@example.com"))).json()
        await httpx.AsyncClient().post(
            f"{server.base_url}/_emulator/signIns", json={"id": "s1", "createdDateTime": "2026-01-01T00:00:00Z"}
        )
    assert "Str0ng" not in state.read_text()  # passwords are never persisted
    async with serve(config) as server, httpx.AsyncClient(base_url=server.graph_url, headers=AUTH) as client:
        assert (await client.get(f"/users/{created['id']}")).status_code == 200
        again = await client.post("/users", json=customer("keep@example.com"))
        assert again.json()["error"]["details"][0]["code"] == "ObjectConflict"
        assert [s["id"] for s in (await client.get("/auditLogs/signIns")).json()["value"]] == ["s1"]


async def test_reset_empties_the_tenant_but_keeps_the_extensions_app(
    http: httpx.AsyncClient, control: httpx.AsyncClient, create_user: object
) -> None:
    await create_user("gone@example.com")  # type: ignore[operator]
    assert (await control.post("/reset")).status_code == 200
    stats = (await control.get("/stats")).json()
    assert (stats["users"], stats["objectCount"], stats["totalRequests"]) == (0, 1, 0)
    assert len((await http.get("/applications")).json()["value"]) == 1


def test_non_loopback_host_is_refused() -> None:
    with pytest.raises(ValidationError):
        EmulatorConfig(host="0.0.0.0")
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer in multi-command mode, as in cli/main.py
        pass

    result = CliRunner().invoke(app, ["emulator", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "loopback" in result.output
    bad_faults = CliRunner().invoke(app, ["emulator", "--faults", "503=lots"])
    assert bad_faults.exit_code == 2
