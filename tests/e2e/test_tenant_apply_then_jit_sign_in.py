"""After `tenant apply` + import, a JIT user's first sign-in goes through the custom extension and listener the
apply created (read back from the sign-in log), the flag clears, and the second sign-in skips the extension.
The rehearsal's JIT setup is tenant.toml + `tenant apply` only: no hand-made Graph call to set JIT up."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import bcrypt
import httpx
from aiohttp import web

from cli.run_cmd import execute_run
from emulator import EmulatorHandle
from shared.adapters.graph.client import emulator_token
from shared.bootstrap import open_jit_service, open_local_vault
from shared.config import JitSettings
from shared.jit.server import build_app
from shared.jit.service import ROUTE
from shared.telemetry import TallyTelemetry
from shared.tenant.certificate import EncryptionCertificate
from shared.tenant.rehearsal_file import REHEARSAL_APP_KEY, write_rehearsal_tenant_file
from tests.conftest import settings_for
from tests.tenant.tenant_rig import emulator_writes, tenant_cli

ROOT = Path(__file__).resolve().parents[2]
LEGACY = "Legacy!Passw0rd-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve_and_sign_in(handle: EmulatorHandle, state: Path, key: Path, audience: str, app_id: str,
                             port: int) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    tenant_id = handle.server.config.tenant_id
    settings = JitSettings(TENANT_ID=tenant_id, AUTHORITY=f"{handle.base_url}/{tenant_id}/v2.0", AUDIENCES=[audience],
                           DECRYPTION_KEY_FILE=str(key), DUMMY_BCRYPT_COST=4)  # fmt: skip
    service = await open_jit_service(settings, state_dir=state, telemetry=TallyTelemetry(),
                                     vault=open_local_vault(str(state)))  # fmt: skip
    runner = web.AppRunner(build_app(service, max_body_bytes=settings.MAX_BODY_BYTES), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with httpx.AsyncClient(base_url=handle.base_url, timeout=30) as control:
            body = {"username": "jit.user@shop.example", "password": LEGACY, "appId": app_id}
            first = (await control.post("/_emulator/signIn", json=body)).json()
            second = (await control.post("/_emulator/signIn", json=body)).json()
            await control.post("/_emulator/signIns/flush")
            token = emulator_token().token
            logs = (await control.get("/v1.0/auditLogs/signIns", headers={"Authorization": f"Bearer {token}"})
                    ).json()["value"]  # fmt: skip
        return first, second, logs
    finally:
        await runner.cleanup()
        await service.close()


def test_first_sign_in_goes_through_what_tenant_apply_created(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    port = _free_port()
    certificate = EncryptionCertificate.generate()
    key = tmp_path / "jit-enc.pem"
    key.write_bytes(certificate.private_key_pem)
    tenant_file = write_rehearsal_tenant_file(tmp_path, endpoint=f"http://127.0.0.1:{port}{ROUTE}",
                                              certificate=certificate)  # fmt: skip
    applied = tenant_cli(handle, "apply", str(tenant_file))
    assert applied.exit_code == 0, applied.output
    tenant = handle.server.tenant
    (extension,) = tenant.callouts.extensions.values()
    (listener,) = tenant.callouts.listeners.values()
    app_id = next(a["appId"] for a in tenant.state.applications.values()
                  if f"ciam-migrate:key:{REHEARSAL_APP_KEY}" in a.get("tags", []))  # fmt: skip
    audience = extension["authenticationConfiguration"]["resourceId"]

    export = tmp_path / "users.jsonl"
    hashed = bcrypt.hashpw(LEGACY.encode(), bcrypt.gensalt(4)).decode()
    export.write_text(json.dumps({"legacyId": "u1", "email": "jit.user@shop.example", "emailVerified": True,
                                  "displayName": "JIT user",
                                  "password": {"hash": {"algorithm": "bcrypt", "value": hashed}}}) + "\n")  # fmt: skip
    state = tmp_path / "state"
    run = asyncio.run(execute_run(export, "jsonl", settings_for(handle, state), show_progress=False))
    assert run.created == 1 and run.failed == 0

    writes_before = emulator_writes(handle)
    again = tenant_cli(handle, "apply", str(tenant_file))  # the import changed nothing apply manages
    assert "0 changes applied" in again.output and emulator_writes(handle) == writes_before

    first, second, logs = asyncio.run(_serve_and_sign_in(handle, state, key, audience, app_id, port))
    assert first["errorCode"] == 0 and first["callout"]["action"] == "MigratePassword", first
    assert second["errorCode"] == 0 and "callout" not in second  # flag cleared by Entra
    record = next(r for r in logs if r["id"] == first["id"])
    applied_listener = record["appliedEventListeners"][0]
    assert applied_listener["executedListenerId"] == listener["id"]
    assert applied_listener["handlerResult"]["customExtensionId"] == extension["id"]


def test_the_rehearsal_sets_jit_up_only_through_tenant_apply() -> None:
    rehearsal = [ROOT / "cli" / "rehearse_cmd.py", ROOT / "tests" / "monitoring" / "jit_cutover_rig.py"]
    for path in rehearsal:
        text = path.read_text(encoding="utf-8")
        assert "write_rehearsal_tenant_file" in text and "reconcile_file" in text
        for endpoint in ("customAuthenticationExtensions", "authenticationEventListeners", "extensionProperties",
                         "keyCredentials", '"/applications"'):  # fmt: skip
            assert endpoint not in text, f"{path.name} calls {endpoint} by hand"
    assert not (ROOT / "shared" / "monitoring" / "jit_tenant_setup.py").exists()
