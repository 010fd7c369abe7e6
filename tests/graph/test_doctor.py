"""`ciam-migrate doctor` against the emulator: each failure names its fix and the command exits 2."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from tests.graph.certs import self_signed

APP = "cccccccc-3333-4333-8333-00000000000c"
SECRET = "doctor-lane-secret"


def doctor(emulator, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["doctor", "--graph-url", emulator.base_url, "--tenant", emulator.server.config.tenant,
              "--app", f"{APP}:secret-env=DOCTOR_SECRET", *extra],
        env={"DOCTOR_SECRET": SECRET},
    )  # fmt: skip
    return result.exit_code, result.output


def test_doctor_passes_when_everything_is_in_place(start_emulator) -> None:
    emulator = start_emulator(client_apps=[{"client_id": APP, "secret": SECRET}])
    code, output = doctor(emulator, "--mfa", "--sign-ins")
    assert code == 0, output
    assert "signed in as app " + APP in output
    assert "User.ReadWrite.All (create users): granted (appRoleAssignments)" in output
    assert "CIAM" in output and "b2c-extensions-app" in output


def test_doctor_names_a_denied_permission_and_exits_2(start_emulator) -> None:
    emulator = start_emulator(client_apps=[{"client_id": APP, "secret": SECRET,
                                            "permissions": ["User.ReadWrite.All", "AuditLog.Read.All"]}])  # fmt: skip
    code, output = doctor(emulator)
    assert code == 2, output
    assert "Application.ReadWrite.OwnedBy" in output and "not granted" in output
    assert "grant Microsoft Graph application permission Application.ReadWrite.OwnedBy" in output
    assert "admin consent" in output


def test_doctor_refuses_a_workforce_tenant(start_emulator) -> None:
    emulator = start_emulator(tenant_type="AAD", client_apps=[{"client_id": APP, "secret": SECRET}])
    code, output = doctor(emulator)
    assert code == 2 and "tenantType AAD" in output, output


def test_doctor_names_a_wrong_secret_and_a_bad_tenant(start_emulator, tmp_path) -> None:
    _, cert_pem = self_signed(tmp_path, "other")
    emulator = start_emulator(client_apps=[{"client_id": APP, "secret": "something-else"}])
    code, output = doctor(emulator)
    assert code == 2 and "AADSTS7000215" in output and "client secret" in output, output
    result = CliRunner().invoke(
        app, ["doctor", "--graph-url", emulator.base_url, "--tenant", "nosuch.onmicrosoft.com",
              "--app", f"{APP}:secret-env=DOCTOR_SECRET"], env={"DOCTOR_SECRET": SECRET},
    )  # fmt: skip
    assert result.exit_code == 2 and "AADSTS90002" in result.output and "--tenant" in result.output, result.output
    assert SECRET not in result.output and "something-else" not in output
