"""An apps file (`--apps-file lanes.toml`, `[[apps]]` tables) instead of repeated `--app` options.

Against the emulator with client apps (it accepts only tokens it issued): the file's two lanes sign in with
their own credentials (a secret by env reference, a certificate by path relative to the file) and `doctor`
and `run` reach Graph as two app ids. A Key Vault reference reads the secret through the vault port (a fake
here: no Key Vault runs on this machine) and gets a real token from the emulator. Literal secrets, unknown
keys, shared identities and broken TOML are refused in one line naming the file, the key and the cause.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.run_cmd import execute_run
from shared.adapters.graph.lanes import REHEARSAL_AUTHORITY, EmulatorAuthorityTransport
from shared.apps_file import AppsFileError, load_apps_file
from shared.credentials import AppRegistration, build_credential, parse_apps, token_app_id
from tests.conftest import emulator_stats, settings_for
from tests.graph.certs import self_signed
from tests.spine.test_run_against_emulator import report_of

APP_SECRET = "dddddddd-4444-4444-8444-00000000000d"
APP_CERT = "eeeeeeee-5555-4555-8555-00000000000e"
SECRET = "lanes-file-secret-value"


def lanes_file(folder: Path, cert_name: str) -> Path:
    path = folder / "lanes.toml"
    path.write_text(
        "# two app registrations, two quotas\n"
        f'[[apps]]\nclient_id = "{APP_SECRET}"\nsecret = "env:LANES_SECRET"\n\n'
        f'[[apps]]\nclient_id = "{APP_CERT}"\ncertificate = "{cert_name}"\n'
    )
    return path


def client_apps(cert_pem: str) -> list[dict[str, object]]:
    return [{"client_id": APP_SECRET, "secret": SECRET}, {"client_id": APP_CERT, "certificate_pem": cert_pem}]


def test_doctor_reads_the_lanes_from_an_apps_file(start_emulator, tmp_path) -> None:
    cert_path, cert_pem = self_signed(tmp_path, "lane-cert")
    emulator = start_emulator(client_apps=client_apps(cert_pem))
    path = lanes_file(tmp_path, cert_path.name)  # relative to the file: read from its folder
    result = CliRunner().invoke(
        app, ["doctor", "--graph-url", emulator.base_url, "--tenant", emulator.server.config.tenant,
              "--apps-file", str(path)], env={"LANES_SECRET": SECRET, "COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"signed in as app {APP_SECRET}" in result.output and f"signed in as app {APP_CERT}" in result.output
    issued = emulator_stats(emulator)["tokensIssued"]
    assert issued.get(APP_SECRET, 0) >= 1 and issued.get(APP_CERT, 0) >= 1, issued
    assert SECRET not in result.output


async def test_run_writes_through_each_lane_of_the_file(start_emulator, tmp_path, monkeypatch) -> None:
    cert_path, cert_pem = self_signed(tmp_path, "lane-cert")
    emulator = start_emulator(time_scale=20, client_apps=client_apps(cert_pem))
    monkeypatch.setenv("LANES_SECRET", SECRET)
    export = tmp_path / "users.jsonl"
    users = [{"legacyId": f"f{i}", "email": f"f{i}@example.com"} for i in range(60)]
    export.write_text("".join(json.dumps(user) + "\n" for user in users))
    lanes = load_apps_file(lanes_file(tmp_path, cert_path.name), emulator=True)
    run = await execute_run(export, "jsonl", settings_for(emulator, tmp_path, APP_IDS=lanes), show_progress=False)
    assert report_of(tmp_path, run)["counts"]["created"] == 60
    apps = emulator_stats(emulator)["apps"]
    assert set(apps) == {APP_SECRET, APP_CERT}, sorted(apps)
    assert all(apps[a]["writes"] > 0 for a in apps), apps


async def test_a_key_vault_reference_gets_its_secret_from_the_vault_port(start_emulator, tmp_path) -> None:
    emulator = start_emulator(client_apps=[{"client_id": APP_SECRET, "secret": SECRET}])
    path = tmp_path / "lanes.toml"
    url = "https://contoso-kv.vault.azure.net/secrets/lane-a"
    path.write_text(f'[[apps]]\nclient_id = "{APP_SECRET}"\nsecret = "keyvault:{url}"\n')
    (spec,) = load_apps_file(path)
    (registration,) = parse_apps([spec])
    assert registration.kind == "client secret (Key Vault)" and registration.secret_keyvault == url
    asked: list[str] = []

    async def vault(secret_url: str) -> str:
        asked.append(secret_url)
        return SECRET

    credential = build_credential(
        registration, tenant_id=emulator.server.config.tenant, secret_lookup=lambda name: None,
        authority=REHEARSAL_AUTHORITY, transport=EmulatorAuthorityTransport(emulator.base_url), keyvault_lookup=vault,
    )  # fmt: skip
    try:
        token = await credential.get_token("https://graph.microsoft.com/.default")
        await credential.get_token("https://graph.microsoft.com/.default")
    finally:
        await credential.close()
    assert token_app_id(token.token) == APP_SECRET
    assert asked == [url], "the vault is read once per lane"


def _refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "lanes.toml"
    path.write_text(text)
    with pytest.raises(AppsFileError) as caught:
        load_apps_file(path)
    return str(caught.value)


def test_a_literal_secret_in_the_file_is_refused_without_echoing_it(tmp_path) -> None:
    message = _refusal(tmp_path, '[[apps]]\nclient_id = "a"\nsecret = "Zx9~q7Lp2Vb8Nm4-plain"\n')
    assert message.startswith("lanes.toml: apps[0].secret: must be a secret reference"), message
    assert "Zx9~q7" not in message
    message = _refusal(tmp_path, '[[apps]]\nclient_id = "a"\ncertificate = "c.pem"\ncertificate_password = "pw!1"\n')
    assert message.startswith("lanes.toml: apps[0].certificate_password: must be a reference env:NAME"), message
    assert "pw!1" not in message
    bad_vault = '[[apps]]\nclient_id = "a"\nsecret = "keyvault:https://evil.example/secrets/x"\n'
    assert "apps[0].secret: must be a secret reference" in _refusal(tmp_path, bad_vault)


def test_the_file_is_refused_with_its_key_and_cause(tmp_path) -> None:
    assert _refusal(tmp_path, '[[apps]]\nclient_id = "a"\nclient_secret = "x"\n') == (
        "lanes.toml: apps[0].client_secret: unknown key"
    )
    assert _refusal(tmp_path, "[apps]\n").startswith("lanes.toml: apps: ")  # a table, not an array of tables
    assert _refusal(tmp_path, '[[apps]]\nsecret = "env:A"\n').startswith("lanes.toml: apps[0].client_id: ")
    assert _refusal(tmp_path, '[[apps]]\nclient_id = "a"\nsecret = "env:A"\nmanaged_identity = "m"\n') == (
        "lanes.toml: apps[0]: client_id a: choose one credential, not secret-env and managed-identity"
    )
    broken = _refusal(tmp_path, '[[apps]]\nclient_id = "a\n')
    assert broken.startswith("lanes.toml: not valid TOML (") and "line 2" in broken, broken
    missing = tmp_path / "nope.toml"
    with pytest.raises(AppsFileError, match=r"nope\.toml: cannot read the apps file"):
        load_apps_file(missing)


def test_lanes_sharing_one_identity_are_refused_as_on_the_command_line(tmp_path) -> None:
    two_ambient = '[[apps]]\nclient_id = "a"\n\n[[apps]]\nclient_id = "b"\n'
    assert "several lanes would share one identity" in _refusal(tmp_path, two_ambient)
    twice = '[[apps]]\nclient_id = "a"\nsecret = "env:A"\n\n[[apps]]\nclient_id = "A"\nsecret = "env:B"\n'
    assert "client_id A is given twice" in _refusal(tmp_path, twice)
    path = tmp_path / "one.toml"
    path.write_text('[[apps]]\nclient_id = "a"\n')
    assert load_apps_file(path) == ["a"]  # one lane may use the ambient identity (az login)


def test_an_apps_file_lane_and_an_app_option_for_the_same_app_are_refused(tmp_path) -> None:
    path = tmp_path / "lanes.toml"
    path.write_text(f'[[apps]]\nclient_id = "{APP_SECRET}"\nsecret = "env:A"\n')
    result = CliRunner().invoke(
        app, ["doctor", "--graph-url", "https://graph.microsoft.com", "--tenant", "contoso.onmicrosoft.com",
              "--app", f"{APP_SECRET}:secret-env=B", "--apps-file", str(path)],
    )  # fmt: skip
    assert result.exit_code == 2 and "given twice" in result.output, result.output


def test_option_values_keep_their_colons() -> None:
    """A Key Vault URL and a Windows path carry ':'; only ':key=' starts the next option."""
    app_kv = AppRegistration.parse("id:secret-keyvault=https://v1.vault.azure.net/secrets/s")
    assert app_kv.secret_keyvault == "https://v1.vault.azure.net/secrets/s"
    app_cert = AppRegistration.parse(r"id:cert=C:\certs\lane.pfx:cert-password-env=PFX_PASSWORD")
    assert (app_cert.certificate_path, app_cert.certificate_password_env) == (r"C:\certs\lane.pfx", "PFX_PASSWORD")


def test_the_sample_apps_file_loads_as_three_lanes() -> None:
    sample = Path(__file__).resolve().parents[2] / "samples" / "lanes.toml"
    lanes = parse_apps(load_apps_file(sample))
    assert [lane.kind for lane in lanes] == ["client secret", "client secret (Key Vault)", "certificate"]
    assert lanes[2].certificate_path == str(sample.parent / "certs" / "lane3.pfx")
