"""local.settings.example.json lists every app setting Settings reads, so operators see them all."""

from __future__ import annotations

import json
from pathlib import Path

from shared.config import JitSettings, Settings, WriteQuota

EXAMPLE = Path(__file__).resolve().parents[2] / "local.settings.example.json"


def expected_keys() -> set[str]:
    keys: set[str] = set()
    for name in Settings.model_fields:
        if name == "JIT":
            keys |= {f"JIT__{n}" for n in JitSettings.model_fields}
        elif name == "WRITE_QUOTA":
            keys |= {f"WRITE_QUOTA__{n}" for n in WriteQuota.model_fields}
        elif name == "ServiceBusConnection":
            keys.add("ServiceBusConnection__fullyQualifiedNamespace")
        else:
            keys.add(name)
    return keys


def test_every_setting_is_in_the_example():
    listed = set(json.loads(EXAMPLE.read_text())["Values"])
    assert expected_keys() - listed == set()


def test_nested_settings_are_read_from_app_setting_names(monkeypatch):
    monkeypatch.setenv("WRITE_QUOTA__per_app", "1500")
    monkeypatch.setenv("JIT__LOCKOUT_THRESHOLD", "3")
    monkeypatch.setenv("ServiceBusConnection__fullyQualifiedNamespace", "ns.servicebus.windows.net")
    settings = Settings()
    assert settings.WRITE_QUOTA.per_app == 1500
    assert settings.JIT.LOCKOUT_THRESHOLD == 3
    assert settings.ServiceBusConnection.fullyQualifiedNamespace == "ns.servicebus.windows.net"


def test_every_stage_setting_is_in_the_example():
    from shared.stages import STAGES

    listed = set(json.loads(EXAMPLE.read_text())["Values"])
    named = {s for row in STAGES for s in (row.queue_setting, row.schedule_setting) if s is not None}
    assert named - listed == set()
