"""tenant.toml validation: every error names the file and the key; a literal secret is refused and never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from shared.tenant.model import TenantFileError, load_tenant_file, parse_tenant_file
from tests.tenant.tenant_rig import SAMPLE

APP = '[[apps]]\nkey = "shop"\ndisplay_name = "Shop"\n'
JIT = '[jit]\nendpoint = "https://jit.example/api"\napps = ["shop"]\ncertificate_file = "c.pem"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (APP + 'redirect_uris = ["http://shop.example/cb"]\n', "apps[0].redirect_uris[0]: must be an https URL"),
        (APP + 'colour = "red"\n', "apps[0].colour: unknown key"),
        ('[[apps]]\nkey = "Shop!"\ndisplay_name = "x"\n', "apps[0].key: lowercase letters"),
        (APP + JIT + "timeout_ms = 3000\n", "jit.timeout_ms: Input should be less than or equal to 2000"),
        (APP + JIT.replace('["shop"]', '["web"]'), "jit.apps: 'web' is not the key of an [[apps]] entry"),
        (APP + JIT.replace('certificate_file = "c.pem"\n', ""), "jit: Value error, give exactly one of"),
        ('[branding]\nbackground_color = "blue"\n', "branding.background_color: must be a colour"),
        ('[mfa]\nsms = "on"\n', "mfa.sms: Input should be 'enabled' or 'disabled'"),
        ('[extensions]\nproperties = { tier = "Text" }\n', "extensions.properties: tier: must be one of"),
        (
            '[[identity_providers]]\ntype = "Google"\ndisplay_name = "G"\nclient_id = "x"\n',
            "identity_providers[0]: Value error, a Google provider needs client_secret",
        ),
        ('[user_flow]\ndisplay_name = "f"\nattributes = ["displayName"]\n', "user_flow.attributes: must collect email"),
    ],
)
def test_errors_name_the_key(text: str, expected: str) -> None:
    with pytest.raises(TenantFileError) as caught:
        parse_tenant_file(text, "shop/tenant.toml")
    message = str(caught.value).replace("Value error, ", "")
    assert message.startswith("shop/tenant.toml: ")
    assert expected.replace("Value error, ", "") in message


@pytest.mark.parametrize("field", ["client_secret", "certificate_data"])
def test_a_literal_secret_is_refused_without_being_repeated(field: str) -> None:
    literal = "s3cr3t-Literal-Value-0042"
    kind = "Apple" if field == "certificate_data" else "Google"
    text = f'[[identity_providers]]\ntype = "{kind}"\ndisplay_name = "X"\nclient_id = "id"\n{field} = "{literal}"\n'
    with pytest.raises(TenantFileError) as caught:
        parse_tenant_file(text, "tenant.toml")
    assert f"identity_providers[0].{field}: must be a secret reference" in str(caught.value)
    assert literal not in str(caught.value)


def test_cli_stops_with_exit_2_and_one_line_naming_file_and_key(tmp_path: Path) -> None:
    literal = "hunter2-Literal-Secret"
    file = tmp_path / "tenant.toml"
    file.write_text(f'[[identity_providers]]\ntype = "Google"\ndisplay_name = "G"\nclient_id = "x"\n'
                    f'client_secret = "{literal}"\n', encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(
        app, ["tenant", "plan", str(file), "--tenant", "t", "--graph-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 2
    assert f"{file}: identity_providers[0].client_secret: must be a secret reference" in result.output
    assert literal not in result.output
    assert "Traceback" not in result.output


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(TenantFileError, match=r"^x\.toml: invalid TOML"):
        parse_tenant_file("[apps\n", "x.toml")


def test_the_sample_is_valid() -> None:
    tenant = load_tenant_file(SAMPLE)
    assert tenant.jit is not None and tenant.jit.timeout_ms == 2000 and tenant.jit.max_retries == 1
    assert {p.type for p in tenant.identity_providers} == {"Google", "Facebook", "Apple", "OIDC"}
