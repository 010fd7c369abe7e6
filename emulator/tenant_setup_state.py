"""The tenant's configuration objects `tenant_setup` serves: identity providers, user flows and the apps they
serve, default branding and its banner logo, authentication method states. In memory, reset with the tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _default_methods() -> dict[str, str]:
    return {"email": "disabled", "sms": "disabled"}


@dataclass
class TenantSetup:
    identity_providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    flow_apps: dict[str, list[str]] = field(default_factory=dict)  # flow id -> appIds
    branding: dict[str, Any] | None = None
    banner_logo: tuple[bytes, str] | None = None  # (image, content type)
    methods: dict[str, str] = field(default_factory=_default_methods)

    def reset(self) -> None:
        self.identity_providers.clear()
        self.flows.clear()
        self.flow_apps.clear()
        self.branding = None
        self.banner_logo = None
        self.methods = _default_methods()
