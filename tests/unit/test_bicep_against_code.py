"""infra/*.bicep read against the code, since nothing here can compile Bicep (docs/azure.md "Not verified here").

From the file's text: every setting Azure cannot leave at its default is an app setting (or is listed below with
the reason it is not); every secret setting is a Key Vault reference and no secure parameter or secret-looking
literal reaches an app setting; every parameter and variable is used; modules get exactly the parameters they
declare; the lifecycle rule covers exports and run data and outlives the queues' message TTL; diagnostic settings
cover the data plane; the deployer's principalType is a parameter; the Graph lanes are federated credentials of
the user-assigned identity. Each reader is also run on a bad snippet, so the checks can fail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from shared.config import JitSettings, Settings, WriteQuota
from shared.credentials import AppRegistration
from shared.stages import STAGES
from tests.unit.test_settings_example import expected_keys

INFRA = Path(__file__).resolve().parents[2] / "infra"
MAIN = INFRA / "main.bicep"

# Settings whose default Azure cannot use but that Bicep does not set, and why.
NOT_SET_IN_AZURE = {
    "STORAGE_CONNECTION_STRING": "account keys; in Azure the identity reaches STORAGE_ACCOUNT_URL/TABLES_ACCOUNT_URL",
    "VAULT_KEK": "the KEK is the Key Vault key KEY_VAULT_KEY_ID",
    "VAULT_KEK_RETIRED": "only with VAULT_KEK",
    "JIT__DECRYPTION_KEY_FILE": "local alternative to JIT__DECRYPTION_KEY",
    "JIT__ISSUERS": "empty: the issuer the tenant's OIDC metadata publishes",
    "ALERT_WEBHOOK_URL": "in Azure the action group (alertWebhookUrl) notifies",
    "SIGNIN_APP_WAVES": "empty: every app 'unassigned' until waves are planned",
    "SYNC_FEED": "per coexistence feed (docs/sync.md); no sync until configured",
    "SYNC_CUTOVER_AT": "set at cutover (docs/sync.md)",
    "LEGACY_CLIENT_ID": "per live feed (docs/feeds.md)",
    "LEGACY_CLIENT_SECRET": "per live feed, as a Key Vault reference (docs/feeds.md)",
    "LEGACY_API_TOKEN": "per live feed, as a Key Vault reference (docs/feeds.md)",
    "LEGACY_CREDENTIALS_FILE": "local alternative to the LEGACY_* secrets",
    "LEGACY_FEED_START_AT": "per live feed (docs/feeds.md)",
    "LEGACY_KEYCLOAK_EVENTS_EXPIRATION_S": "default: the realm's own",
}
# Settings whose default is set but wrong in Azure.
DEFAULT_WRONG_IN_AZURE = {"TENANT": "names Contoso", "STATE_DIR": "relative to the read-only package"}
# A SecretStr setting Bicep may set from a resource property instead of Key Vault, and what makes that safe.
NOT_A_CREDENTIAL = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "DisableLocalAuth: true"}
SECRET_LOOKING = re.compile(r"AccountKey=|SharedAccessKey|Password=|[?&]sig=|[A-Za-z0-9+/]{32,}={0,2}")


# ---------------------------------------------------------------------------------------------- readers


def app_settings(text: str) -> dict[str, str]:
    """App setting name -> its value expression, from `{ name: 'X', value: … }` lines."""
    return dict(re.findall(r"^\s*\{ name: '(\w+)', value: (.+) \}\s*(?://.*)?$", text, re.MULTILINE))


def params(text: str) -> dict[str, dict[str, Any]]:
    """Parameter name -> {secure, default, decorators}, decorators being the lines right above it."""
    found: dict[str, dict[str, Any]] = {}
    lines = text.splitlines()
    for n, line in enumerate(lines):
        m = re.match(r"param (\w+) (\w+)( = .+)?$", line.strip())
        if not m:
            continue
        decorators = []
        k = n - 1
        while k >= 0 and lines[k].strip().startswith("@"):
            decorators.append(lines[k].strip())
            k -= 1
        found[m.group(1)] = {"secure": "@secure()" in decorators, "default": m.group(3), "decorators": decorators}
    return found


def unused(text: str, kind: str) -> list[str]:
    """`param`/`var`/`func` names that appear nowhere but in their declaration (comments do not count)."""
    code = re.sub(r"//[^\n]*", "", text)
    names = re.findall(rf"^{kind} (\w+)", code, re.MULTILINE)
    return [n for n in names if len(re.findall(rf"(?<![\w.']){n}\b", code)) < 2]


def modules(text: str) -> dict[str, tuple[str, set[str]]]:
    """Module symbol -> (file, parameter names passed)."""
    found = {}
    for m in re.finditer(r"^module (\w+) '([^']+)' = [^{]*\{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL):
        block = re.search(r"^  params: \{\n(.*?)^  \}", m.group(3), re.MULTILINE | re.DOTALL)
        passed = set(re.findall(r"^    (\w+):", block.group(1), re.MULTILINE)) if block else set()
        found[m.group(1)] = (m.group(2), passed)
    return found


def resource_blocks(text: str, type_prefix: str) -> dict[str, str]:
    pattern = rf"^resource (\w+) '{re.escape(type_prefix)}@[^']+' = [^{{]*\{{\n(.*?)^\}}"
    return dict(re.findall(pattern, text, re.MULTILINE | re.DOTALL))


def setting_default(key: str) -> Any:
    if key.startswith("JIT__"):
        field = JitSettings.model_fields[key[5:]]
    elif key.startswith("WRITE_QUOTA__"):
        field = WriteQuota.model_fields[key[13:]]
    elif key.startswith("ServiceBusConnection__"):
        return None
    else:
        field = Settings.model_fields[key]
    return field.get_default(call_default_factory=True)


def secret_settings() -> set[str]:
    """Settings typed SecretStr (or a list of them), by app-setting name."""
    names = set()
    for prefix, model in (("", Settings), ("JIT__", JitSettings)):
        for name, field in model.model_fields.items():
            if "SecretStr" in str(field.annotation) or field.annotation is SecretStr:
                names.add(prefix + name)
    return names


# ---------------------------------------------------------------------------------------------- settings


def test_every_setting_azure_cannot_default_is_set_by_bicep() -> None:
    text = MAIN.read_text()
    set_by_bicep = set(app_settings(text))
    unusable = {k for k in expected_keys() if setting_default(k) in (None, "", [], {})} | set(DEFAULT_WRONG_IN_AZURE)
    stage_settings = {s for row in STAGES for s in (row.queue_setting, row.schedule_setting) if s}
    assert unusable - set_by_bicep - set(NOT_SET_IN_AZURE) == set()
    assert stage_settings - set_by_bicep == set()
    assert set(NOT_SET_IN_AZURE) & set_by_bicep == set(), "listed as not set, but Bicep sets it"
    assert set(NOT_SET_IN_AZURE) <= expected_keys(), "a stale entry: no such setting"
    for must in ("TENANT_ID", "APP_IDS", "EXTENSIONS_APP_ID", "JIT__TENANT_ID", "JIT__AUTHORITY", "JIT__AUDIENCES",
                 "JIT__DECRYPTION_KEY", "JIT__ATTEMPT_KEY", "JIT__LOCKOUT_TABLE", "JIT__ATTEMPTS_TABLE",
                 "KEY_VAULT_KEY_ID"):  # fmt: skip
        assert must in set_by_bicep, must


def test_secret_settings_are_key_vault_references() -> None:
    text = MAIN.read_text()
    settings = app_settings(text)
    secrets = secret_settings()
    assert {"CHUNK_SEALING_KEY", "JIT__ATTEMPT_KEY", "JIT__DECRYPTION_KEY", "VAULT_KEK"} <= secrets  # reader sanity
    for name in secrets & set(settings):
        if name in NOT_A_CREDENTIAL:
            assert NOT_A_CREDENTIAL[name] in text, f"{name} is only safe with {NOT_A_CREDENTIAL[name]}"
            continue
        assert settings[name].startswith("'@Microsoft.KeyVault("), f"{name} must be a Key Vault reference"


def test_no_secure_parameter_or_secret_literal_reaches_an_app_setting() -> None:
    text = MAIN.read_text()
    assert no_secret_in_settings(text) == []


def no_secret_in_settings(text: str) -> list[str]:
    secure = [name for name, p in params(text).items() if p["secure"]]
    problems = []
    for setting, value in app_settings(text).items():
        problems += [f"{setting} uses @secure() {p}" for p in secure if re.search(rf"\b{p}\b", value)]
        literal = re.sub(r"\$\{[^}]*\}", "", value)  # interpolations are expressions, not literals
        if not literal.startswith("'@Microsoft.KeyVault(") and SECRET_LOOKING.search(literal):
            problems.append(f"{setting} holds a secret-looking literal")
    return problems


def test_the_secret_checks_can_fail() -> None:
    bad = """@secure()
param sealingKey string
      { name: 'CHUNK_SEALING_KEY', value: sealingKey }
      { name: 'STORAGE_CONNECTION_STRING', value: 'DefaultEndpointsProtocol=https;AccountKey=abc' }
      { name: 'VAULT_KEK', value: 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ=' }
      { name: 'JIT__ATTEMPT_KEY', value: '@Microsoft.KeyVault(SecretUri=${s.properties.secretUri})' }
"""
    assert sorted(no_secret_in_settings(bad)) == [
        "CHUNK_SEALING_KEY uses @secure() sealingKey",
        "STORAGE_CONNECTION_STRING holds a secret-looking literal",
        "VAULT_KEK holds a secret-looking literal",
    ]


def test_the_graph_lanes_are_federated_credentials_of_the_user_assigned_identity() -> None:
    text = MAIN.read_text()
    assert app_settings(text)["APP_IDS"] == "string(graphLanes)"
    lane = re.search(r"var graphLanes = map\(\w+\((\w+)\), appId => '(.+)'\)", text)
    assert lane and lane.group(1) == "graphAppClientIds"
    example = (
        lane.group(2)
        .replace("${appId}", "11111111-1111-1111-1111-111111111111")
        .replace("${graphIdentity.properties.clientId}", "22222222-2222-2222-2222-222222222222")
    )
    app = AppRegistration.parse(example)  # what shared/credentials.py makes of the setting
    assert app.kind == "managed identity (federated)" and app.managed_identity_client_id.startswith("2222")
    site = resource_blocks(text, "Microsoft.Web/sites")["functionApp"]
    assert "'SystemAssigned, UserAssigned'" in site and "'${graphIdentity.id}': {}" in site
    roles = resource_blocks(text, "Microsoft.Authorization/roleAssignments")
    assert not any("graphIdentity" in body for body in roles.values()), "the federated identity holds no Azure role"
    for output in ("FEDERATION_ISSUER", "FEDERATION_SUBJECT", "FEDERATION_AUDIENCE", "GRAPH_IDENTITY_CLIENT_ID"):
        assert f"output {output} string" in text


# ---------------------------------------------------------------------------------------------- parameters, modules


def test_every_parameter_variable_and_function_is_used() -> None:
    for path in sorted(INFRA.rglob("*.bicep")):
        text = path.read_text()
        assert {kind: unused(text, kind) for kind in ("param", "var", "func")} == {
            "param": [],
            "var": [],
            "func": [],
        }, path


def test_the_unused_reader_sees_an_unused_parameter() -> None:
    text = (
        "param used string\nparam forgotten string // forgotten is only named here\nvar x = used\noutput o string = x\n"
    )
    assert unused(text, "param") == ["forgotten"] and unused(text, "var") == []


def test_parameters_file_and_modules_match_their_declarations() -> None:
    text = MAIN.read_text()
    declared = params(text)
    mapped = set(json.loads((INFRA / "main.parameters.json").read_text())["parameters"])
    assert mapped - set(declared) == set()
    assert {n for n, p in declared.items() if p["default"] is None} - mapped == set(), "azd cannot fill these"
    found = modules(text)
    assert {"monitoring", "exportDropEvents", "network"} <= set(found)
    for symbol, (file, passed) in found.items():
        module_params = params((INFRA / file).read_text())
        assert passed - set(module_params) == set(), f"{symbol} passes parameters {file} does not declare"
        required = {n for n, p in module_params.items() if p["default"] is None}
        assert required - passed == set(), f"{symbol} leaves required parameters of {file} unset"


def test_the_deployer_principal_type_is_a_parameter() -> None:
    text = MAIN.read_text()
    p = params(text)["principalType"]
    assert "ServicePrincipal" in " ".join(p["decorators"]) and p["default"] == " = 'User'"
    roles = resource_blocks(text, "Microsoft.Authorization/roleAssignments")
    deployer = [body for body in roles.values() if "principalId: principalId" in body]
    assert deployer and all("principalType: principalType" in body for body in deployer)
    apps = [body for body in roles.values() if "principalId: appPrincipal" in body]
    assert apps and all("principalType: 'ServicePrincipal'" in body for body in apps)


# ---------------------------------------------------------------------------------------------- data and networks


def test_the_lifecycle_rule_deletes_exports_and_run_data_after_the_message_ttl() -> None:
    text = MAIN.read_text()
    ttl = int(re.search(r"^var messageTimeToLiveDays = (\d+)", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert "defaultMessageTimeToLive: 'P${messageTimeToLiveDays}D'" in text
    retention = params(text)["migrationDataRetentionDays"]
    minimum = int(re.search(r"@minValue\((\d+)\)", " ".join(retention["decorators"])).group(1))  # type: ignore[union-attr]
    assert minimum > ttl and int(retention["default"].strip(" =")) >= minimum
    rule = resource_blocks(text, "Microsoft.Storage/storageAccounts/managementPolicies")["migrationDataLifecycle"]
    assert "daysAfterModificationGreaterThan: migrationDataRetentionDays" in rule
    assert "'${blobContainerName}/${exportDropsPrefix}'" in rule and "'${blobContainerName}/runs/'" in rule
    assert "'appendBlob'" in rule  # failures.jsonl and friends are append blobs
    # ... and those are the prefixes the code writes under.
    blobs = (INFRA.parent / "shared" / "adapters" / "blobs.py").read_text()
    assert "runs/{run_id}/chunks/" in blobs or "`runs/<run_id>/chunks/" in blobs
    assert re.search(r"^var blobContainerName = '(\w+)'", text, re.MULTILINE).group(1) == Settings().BLOB_CONTAINER  # type: ignore[union-attr]
    prefix = re.search(r"^var exportDropsPrefix = '([^']+)'", text, re.MULTILINE)
    assert prefix and prefix.group(1) == Settings().EXPORT_DROPS_PREFIX


def test_diagnostic_settings_cover_the_data_plane() -> None:
    diagnostics = resource_blocks(MAIN.read_text(), "Microsoft.Insights/diagnosticSettings")
    scopes = {re.search(r"scope: (\w+)", body).group(1) for body in diagnostics.values()}  # type: ignore[union-attr]
    assert {"functionApp", "serviceBus", "vault", "blobService", "tableService"} <= scopes
    assert all("workspaceId: logs.id" in body for body in diagnostics.values())


def test_app_insights_refuses_local_auth_and_the_app_authenticates() -> None:
    text = MAIN.read_text()
    assert "DisableLocalAuth: true" in resource_blocks(text, "Microsoft.Insights/components")["appInsights"]
    assert app_settings(text)["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "'Authorization=AAD'"
    roles = resource_blocks(text, "Microsoft.Authorization/roleAssignments")
    assert (
        "roles.monitoringMetricsPublisher" in roles["metricsPublisher"]
        and "scope: appInsights" in roles["metricsPublisher"]
    )


def test_vnet_enabled_puts_every_data_plane_endpoint_behind_a_private_endpoint() -> None:
    text = MAIN.read_text()
    site = resource_blocks(text, "Microsoft.Web/sites")["functionApp"]
    assert "virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : null" in site
    assert re.search(r"^module network 'modules/network.bicep' = if \(vnetEnabled\)", text, re.MULTILINE)
    assert "sku: vnetEnabled ? { name: 'Premium'" in text  # Service Bus private endpoints need Premium
    network = (INFRA / "modules" / "network.bicep").read_text()
    groups = set(re.findall(r"group: '(\w+)'", network))
    # The app reaches blob (STORAGE_ACCOUNT_URL), table (TABLES_ACCOUNT_URL), the host's queues, Service Bus, Key Vault.
    assert groups == {"blob", "table", "queue", "namespace", "vault"}
    assert "serviceName: 'Microsoft.App/environments'" in network  # Flex Consumption's subnet delegation
    kinds = {"storage": "Microsoft.Storage/storageAccounts", "vault": "Microsoft.KeyVault/vaults"}
    for symbol, kind in kinds.items():
        assert "publicNetworkAccess: publicAccess" in resource_blocks(text, kind)[symbol]
