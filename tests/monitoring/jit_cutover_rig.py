"""A tenant emulator with JIT switched on by `tenant apply` (a rehearsal tenant.toml: customer app, flag, extension
app + certificate, custom extension, listener), and our real JIT endpoint (JitService behind its aiohttp
host) on loopback, trusting the emulator's OIDC metadata and holding the key of the certificate the emulator
encrypts to. The endpoint's settings are only what a real deployment sets (tenant, authority, audience, key):
every token and JWE rule keeps its production default."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
from aiohttp import web
from pydantic import SecretStr

from cli.tenant_cmd import reconcile_file
from emulator import EmulatorConfig, EmulatorServer, serve
from shared.adapters.graph.client import emulator_token
from shared.bootstrap import open_jit_service, open_local_vault
from shared.config import JitSettings
from shared.jit.server import build_app
from shared.jit.service import ROUTE
from shared.ports import StoredCredential
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.tenant.certificate import EncryptionCertificate
from shared.tenant.reconcile import JitWiring
from shared.tenant.rehearsal_file import REHEARSAL_APP_KEY, write_rehearsal_tenant_file
from shared.vault import SqliteCredentialVault

RANDOM_PASSWORD = "Rand0m!Initial#Pw"


@dataclass
class CutoverRig:
    emulator: EmulatorServer
    graph: httpx.AsyncClient
    control: httpx.AsyncClient
    config: JitWiring  # what tenant apply created
    customer_app: str  # the appId of the customer app tenant apply created
    settings: JitSettings
    vault: SqliteCredentialVault
    telemetry: TallyTelemetry
    state_dir: Path

    async def create_jit_user(self, email: str, legacy_password: str, *, disabled: bool = False) -> str:
        response = await self.graph.post(
            "/users",
            json={
                "displayName": email.split("@")[0],
                "mail": email,
                "accountEnabled": True,
                "identities": [
                    {"signInType": "emailAddress", "issuer": self.emulator.config.tenant, "issuerAssignedId": email}
                ],
                "passwordProfile": {"password": RANDOM_PASSWORD, "forceChangePasswordNextSignIn": False},
                "passwordPolicies": "DisablePasswordExpiration",
                self.config.flag_attribute: True,
            },
        )
        assert response.status_code == 201, response.text
        object_id = str(response.json()["id"])
        hashed = bcrypt.hashpw(legacy_password.encode(), bcrypt.gensalt(4)).decode()
        await self.vault.store(
            StoredCredential(
                object_id=object_id,
                source="auth0",
                legacy_id=f"auth0|{email}",
                password_hash=PasswordHash(algorithm="bcrypt", value=SecretStr(hashed)),
                disabled=disabled,
            )
        )
        return object_id

    async def sign_in(self, username: str, password: str, app_id: str | None = None) -> dict[str, Any]:
        response = await self.control.post(
            "/_emulator/signIn",
            json={"username": username, "password": password, "appId": app_id or self.customer_app},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def flag(self, object_id: str) -> Any:
        response = await self.graph.get(f"/users/{object_id}", params={"$select": f"id,{self.config.flag_attribute}"})
        return response.json().get(self.config.flag_attribute)

    async def sim_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = (await self.control.get("/_emulator/signInStats")).json()
        return stats

    def jit_outcomes(self) -> int:
        return sum(v for (name, _), v in self.telemetry.counts.items() if name == "jit.requests")


@contextlib.asynccontextmanager
async def cutover_rig(tmp_path: Path, **emulator_overrides: Any) -> AsyncIterator[CutoverRig]:
    certificate = EncryptionCertificate.generate()
    key_file = tmp_path / "jit-enc.pem"
    key_file.write_bytes(certificate.private_key_pem)
    state_dir = tmp_path / "state"
    async with serve(EmulatorConfig(port=0, **emulator_overrides)) as emulator:
        token = emulator_token(lifetime_s=7200).token
        async with (
            httpx.AsyncClient(
                base_url=f"{emulator.base_url}/beta", headers={"Authorization": f"Bearer {token}"}, timeout=10
            ) as graph,
            httpx.AsyncClient(base_url=emulator.base_url, timeout=30) as control,
        ):
            # The endpoint listens first, so the extension can name its URL.
            runner_holder: list[web.AppRunner] = []
            port = await _free_port()
            tmp_path.mkdir(parents=True, exist_ok=True)
            tenant_file = write_rehearsal_tenant_file(
                tmp_path, endpoint=f"http://127.0.0.1:{port}{ROUTE}", certificate=certificate
            )
            applied = await reconcile_file(tenant_file, emulator.base_url, apply=True, prune=False)
            assert applied.jit is not None
            config = applied.jit
            customer_app = applied.app_ids[REHEARSAL_APP_KEY]
            settings = JitSettings(
                TENANT_ID=emulator.config.tenant_id,
                AUTHORITY=f"{emulator.base_url}/{emulator.config.tenant_id}/v2.0",
                AUDIENCES=[config.audience],
                DECRYPTION_KEY_FILE=str(key_file),
                DUMMY_BCRYPT_COST=4,
            )
            vault = open_local_vault(str(state_dir))
            telemetry = TallyTelemetry()
            service = await open_jit_service(settings, state_dir=state_dir, telemetry=telemetry, vault=vault)
            runner = web.AppRunner(build_app(service, max_body_bytes=settings.MAX_BODY_BYTES), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runner_holder.append(runner)
            try:
                yield CutoverRig(emulator, graph, control, config, customer_app, settings, vault, telemetry, state_dir)
            finally:
                await runner.cleanup()
                await service.close()


async def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
