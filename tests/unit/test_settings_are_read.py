"""Every setting is read by some code, and every app setting infra or the example names is a setting.

A static scan: a Settings field (or a field of a nested settings model) must be read somewhere in the product
packages as `.NAME`, or named as "NAME" / %NAME% (the stage table's setting names, the triggers' bindings);
its own declaration in shared/config.py does not count. The scan is by name, so a field shares its reads with a
same-named field of another model (JIT__TENANT_ID and TENANT_ID are both read).
Bicep's app settings and local.settings.example.json may name only Settings' keys, or the Functions host's own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

from shared.config import JitSettings, ServiceBusConnectionSettings, Settings, WriteQuota
from tests.unit.test_settings_example import expected_keys

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("shared", "functions", "cli", "emulator")
CONFIG = REPO / "shared" / "config.py"
# Read by the Functions host or the Azure Monitor agent, not by our code.
HOST_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsFeatureFlags",
}
MODELS: tuple[type[BaseModel], ...] = (Settings, JitSettings, WriteQuota, ServiceBusConnectionSettings)


def product_text() -> str:
    """All product code, with config.py's field declarations (`    NAME: type = default`) taken out."""
    files = [*sorted(p for package in PRODUCT for p in (REPO / package).rglob("*.py")), REPO / "function_app.py"]
    chunks = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path == CONFIG:
            text = re.sub(r"^    \w+: [^\n]*$", "", text, flags=re.M)
        chunks.append(text)
    return "\n".join(chunks)


def unread(fields: list[str], text: str) -> list[str]:
    return [f for f in fields if not re.search(rf"\.{f}\b|[\"'%]{f}[\"'%]", text)]


def test_every_settings_field_is_read_by_some_code() -> None:
    text = product_text()
    missing = {model.__name__: unread(list(model.model_fields), text) for model in MODELS}
    assert {name: fields for name, fields in missing.items() if fields} == {}


def test_the_scan_sees_a_field_nobody_reads() -> None:
    text = product_text()
    assert unread(["TENANT", "NOBODY_READS_THIS"], text) == ["NOBODY_READS_THIS"]
    assert unread(["IMPORT_CHUNKS_QUEUE"], "queue_setting='IMPORT_CHUNKS_QUEUE'") == []


def bicep_app_settings() -> set[str]:
    return set(re.findall(r"\{ name: '(\w+)', value: ", (REPO / "infra" / "main.bicep").read_text()))


def test_bicep_names_only_settings_the_app_has() -> None:
    settings = {k.lower() for k in expected_keys()}  # Settings is case-insensitive
    assert bicep_app_settings(), "the reader found no app settings in main.bicep"
    assert {k for k in bicep_app_settings() - HOST_SETTINGS if k.lower() not in settings} == set()


def test_the_example_names_only_settings_the_app_has() -> None:
    listed = set(json.loads((REPO / "local.settings.example.json").read_text())["Values"])
    settings = {k.lower() for k in expected_keys()}
    assert {k for k in listed - HOST_SETTINGS if k.lower() not in settings} == set()
