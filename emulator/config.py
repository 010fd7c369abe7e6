"""Emulator settings: quotas (documented defaults), time scale, faults, seed, persistence.

Every number Microsoft documents is a field with the documented value as default, so tests can
shrink it and a changed Microsoft limit is a one-line edit. Sources are in docs/emulator.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from emulator.constants import DEFAULT_EXTENSIONS_APP_ID, DEFAULT_TENANT, DEFAULT_TENANT_ID
from emulator.signin_sim_config import SignInSimConfig

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class Quotas(BaseModel):
    """Limits before time-scaling. Windows are in seconds; counts never scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_writes: int = 3000
    app_write_window_s: float = 150.0
    tenant_writes: int = 18000
    tenant_write_window_s: float = 300.0
    # None = the documented tiers by tenant size (S < 50 users: 3,500, M ≤ 500: 5,000, L: 8,000).
    resource_units: int | None = None
    resource_unit_window_s: float = 10.0
    reporting_requests: int = 5
    reporting_window_s: float = 10.0
    object_quota: int = 300_000
    max_batch_requests: int = 20
    max_extension_values_per_user: int = 100
    delta_token_ttl_s: float = 7 * 24 * 3600.0


class FaultSpec(BaseModel):
    """Fault rates (0–1) and fixed latency; parsed from `500=0.01,lag=0.02,latency-ms=5`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    error_500: float = Field(0.0, alias="500", ge=0, le=1)
    error_503: float = Field(0.0, alias="503", ge=0, le=1)
    error_504: float = Field(0.0, alias="504", ge=0, le=1)
    error_504_after_commit: float = Field(0.0, alias="504-after-commit", ge=0, le=1)
    # Whole-`$batch` faults (the envelope, not its items): 5xx before any item runs, or 504 after every item
    # has run and committed. Drawn from their own seeded stream, so the per-request sequence is unchanged.
    batch_500: float = Field(0.0, alias="batch-500", ge=0, le=1)
    batch_503: float = Field(0.0, alias="batch-503", ge=0, le=1)
    batch_504: float = Field(0.0, alias="batch-504", ge=0, le=1)
    batch_504_after_commit: float = Field(0.0, alias="batch-504-after-commit", ge=0, le=1)
    lag: float = Field(0.0, ge=0, le=1)
    # How young a user must be for a `lag` 404 (read-after-write window), in real milliseconds.
    lag_ms: float = Field(2000.0, alias="lag-ms", ge=0)
    drop: float = Field(0.0, ge=0, le=1)
    latency_ms: float = Field(0.0, alias="latency-ms", ge=0)

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        """`name=value` pairs separated by commas; unknown names are an error, not ignored."""
        if not spec or not spec.strip():
            return cls()
        values: dict[str, Any] = {}
        for part in spec.split(","):
            name, sep, raw = part.strip().partition("=")
            if not sep or not name:
                raise ValueError(f"fault {part!r} is not name=value (e.g. 503=0.02)")
            values[name.strip()] = float(raw)
        return cls.model_validate(values)

    def to_spec(self) -> dict[str, float]:
        return self.model_dump(by_alias=True)


# The Graph application permissions an import needs (graph docs permissions-reference.md); a ClientApp is
# granted these unless a test says otherwise.
DEFAULT_PERMISSIONS = (
    "User.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "AuditLog.Read.All",
)


class FederatedCredential(BaseModel):
    """A federated identity credential of an app registration: who may sign in as it with an assertion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str
    subject: str
    audience: str = "api://AzureADTokenExchange"


class ClientApp(BaseModel):
    """An app registration that may request tokens from the emulator's token endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str
    secret: str | None = None
    certificate_pem: str | None = None  # the public certificate (PEM) registered on the app
    federated: tuple[FederatedCredential, ...] = ()
    permissions: tuple[str, ...] = DEFAULT_PERMISSIONS  # admin-consented Graph application permissions


class EmulatorConfig(BaseModel):
    """Everything `ciam-migrate emulator` accepts, plus quotas for tests."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    tenant: str = DEFAULT_TENANT
    tenant_id: str = DEFAULT_TENANT_ID
    extensions_app_id: str = DEFAULT_EXTENSIONS_APP_ID
    time_scale: float = Field(1.0, gt=0)
    faults: FaultSpec = Field(default_factory=FaultSpec)
    seed: int = 0
    state_file: Path | None = None
    state_save_interval_s: float = Field(5.0, gt=0)
    quotas: Quotas = Field(default_factory=Quotas)
    # Entra's doc: local accounts need passwordPolicies=DisablePasswordExpiration (docs/limits.md).
    require_disable_password_expiration: bool = True
    # Pre-creating social users in an external tenant is *unconfirmed*; Graph's B2C docs accept
    # them, so we do by default. False answers 400, to rehearse a tenant that refuses them.
    allow_federated_identities: bool = True
    page_size_default: int = 100
    # Graph may answer $batch items out of order; True shuffles them (seeded) to prove clients
    # correlate by id.
    shuffle_batch_responses: bool = False
    # App registrations that sign in through `POST /{tenant}/oauth2/v2.0/token`. When any are listed, Graph
    # accepts only tokens this emulator issued, and enforces each app's permissions (403 otherwise).
    client_apps: list[ClientApp] = Field(default_factory=list)
    # The organization's tenantType (graph docs resources/organization.md): "CIAM" for an external tenant.
    tenant_type: str = "CIAM"
    # Entra's side of a sign-in: custom-extension budget, smart lockout, sign-in log arrival delay.
    sign_ins: SignInSimConfig = Field(default_factory=SignInSimConfig)

    @field_validator("faults", mode="before")
    @classmethod
    def _faults_from_string(cls, value: Any) -> Any:
        return FaultSpec.parse(value) if isinstance(value, str) else value

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in LOOPBACK_HOSTS:
            raise ValueError(f"the emulator listens on loopback only, not {value!r}; use 127.0.0.1")
        return value

    @model_validator(mode="after")
    def _tenant_is_domain(self) -> EmulatorConfig:
        if "." not in self.tenant:
            raise ValueError("tenant must be a domain such as contoso.onmicrosoft.com")
        return self

    def scaled(self, window_s: float) -> float:
        """A window length after `--time-scale` (counts stay the same)."""
        return window_s / self.time_scale
