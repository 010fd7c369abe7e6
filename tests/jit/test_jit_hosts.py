"""The two hosts of the same handler: the Azure Functions HTTP trigger and `ciam-migrate jit serve`."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import azure.functions as func
import typer
from jit_rig import AUDIENCE, TENANT_ID, FakeTenant, Rig, bcrypt_hash, credential
from typer.testing import CliRunner

from functions import password_submit
from shared import bootstrap
from shared.bootstrap import open_local_vault

REPO = Path(__file__).resolve().parents[2]


def test_trigger_bindings_match_the_function_signature() -> None:
    """A binding name that differs from its parameter makes the host index zero functions in Azure."""
    app = func.FunctionApp()
    app.register_functions(password_submit.bp)
    (function,) = app.get_functions()
    bindings = [json.loads(b) for b in function.get_raw_bindings()]
    trigger = next(b for b in bindings if b["type"] == "httpTrigger")
    assert trigger["route"] == "password-submit" and trigger["methods"] == ["POST"]
    assert trigger["authLevel"] == "ANONYMOUS"
    assert trigger["name"] in inspect.signature(function.get_user_function()).parameters
    assert inspect.iscoroutinefunction(function.get_user_function())


async def test_function_answers_through_the_shared_service(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig()
    await rig.vault.store(credential("oid-1", bcrypt_hash("Str0ng-Passw0rd!")))

    bootstrap.install(jit=rig.service)
    try:
        body = tenant.body("oid-1", "Str0ng-Passw0rd!", nonce="fn-nonce")
        request = func.HttpRequest(
            method="POST",
            url="https://jit.example.test/api/password-submit",
            headers={"Authorization": f"Bearer {tenant.token()}", "Content-Length": str(len(body))},
            body=body,
        )
        response = await password_submit.password_submit(request)
        assert response.status_code == 200
        answer = json.loads(response.get_body())
        assert answer["data"]["nonce"] == "fn-nonce"
        assert answer["data"]["actions"] == [{"@odata.type": "microsoft.graph.passwordSubmit.MigratePassword"}]

        unauthenticated = func.HttpRequest(
            method="POST", url="https://jit.example.test/api/password-submit", headers={}, body=body
        )
        assert (await password_submit.password_submit(unauthenticated)).status_code == 401
    finally:
        bootstrap.install()


def test_cli_registers_jit_serve_with_the_documented_options() -> None:
    from cli.jit_cmd import register

    app = typer.Typer()

    @app.callback()
    def main() -> None: ...

    register(app)
    result = CliRunner().invoke(app, ["jit", "serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--state", "--port", "--decryption-key", "--tenant-id", "--audience", "--authority", "--host"):
        assert option in result.output


async def test_jit_serve_end_to_end_on_loopback(tenant: FakeTenant, decryption_key_file: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    vault = open_local_vault(str(state))  # what the import stage does: store through the port
    await vault.store(credential("oid-1", bcrypt_hash("Str0ng-Passw0rd!")))
    vault.close()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "jit",
        "serve",
        "--state",
        str(state),
        "--port",
        "0",
        "--decryption-key",
        str(decryption_key_file),
        "--tenant-id",
        TENANT_ID,
        "--audience",
        AUDIENCE,
        "--authority",
        tenant.authority,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("listening http://127.0.0.1:"), line
        url = line.split()[1]
        async with aiohttp.ClientSession() as session:
            body = tenant.body("oid-1", "Str0ng-Passw0rd!", nonce="cli")
            async with session.post(url, data=body, headers={"Authorization": f"Bearer {tenant.token()}"}) as r:
                assert r.status == 200
                assert (await r.json())["data"]["nonce"] == "cli"
            async with session.post(url, data=body) as r:
                assert r.status == 401
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    assert "decisions" in err.decode()
    assert (await open_local_vault(str(state)).load("oid-1")) is None
