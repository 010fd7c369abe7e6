"""One Settings for the whole app. Field names are the app-setting names (see local.settings.example.json).

Nothing else reads os.environ. Nested settings use "__", e.g. ServiceBusConnection__fullyQualifiedNamespace.
Defaults are Entra's documented values (docs/limits.md); `time_scale` > 1 only ever applies to the emulator.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_GRAPH_URL = "https://graph.microsoft.com"


class ServiceBusConnectionSettings(BaseModel):
    fullyQualifiedNamespace: str | None = None


class WriteQuota(BaseModel):
    """Graph's identity write limits (graph docs concepts/throttling-limits.md)."""

    per_app: int = 3000
    per_app_window_s: float = 150.0
    per_tenant: int = 18000
    per_tenant_window_s: float = 300.0
    # Stay this fraction under the quota so clock skew and other writers don't push us into 429s.
    headroom: float = Field(default=0.98, gt=0.0, le=1.0)
    # Emulator only: windows are shortened K-fold, as `ciam-migrate emulator --time-scale K` does.
    time_scale: float = Field(default=1.0, ge=1.0)


# The Microsoft Entra authentication events service: the only caller allowed (azp in v2 tokens, appid in v1).
ENTRA_EVENTS_APP_ID = "99045fe1-7639-4a75-9d4a-577b6ca3810f"


class JitSettings(BaseModel):
    """The OnPasswordSubmit endpoint's settings, nested in Settings as `JIT` (env `JIT__AUDIENCES='["api://…"]'`,
    `JIT__LOCKOUT_THRESHOLD=10`, …), with Entra's documented values as defaults."""

    # Inbound token (docs/limits.md "Just-in-time password migration")
    TENANT_ID: str | None = None  # when set, data.tenantId must match
    AUTHORITY: str | None = None  # https://<domain>.ciamlogin.com/<tenantId>/v2.0 (OIDC metadata lives below it)
    AUDIENCES: list[str] = Field(default_factory=list)  # extension app's client id and/or api://… identifier URI
    ISSUERS: list[str] = Field(default_factory=list)  # empty: the issuer published in the OIDC metadata
    CALLER_APP_ID: str = ENTRA_EVENTS_APP_ID
    TOKEN_ALGORITHMS: list[str] = Field(default_factory=lambda: ["RS256"])
    CLOCK_SKEW_S: int = Field(default=60, ge=0, le=600)
    JWKS_CACHE_TTL_S: int = Field(default=86_400, ge=60)
    # An unknown kid triggers one metadata refresh at most this often (key rollover without a refresh storm).
    JWKS_REFRESH_MIN_INTERVAL_S: int = Field(default=300, ge=0)
    METADATA_TIMEOUT_S: float = Field(default=3.0, gt=0)

    # encryptedPasswordContext (JWE). PEM (PKCS#8) or the base64 PKCS#12 a Key Vault certificate secret holds.
    DECRYPTION_KEY: SecretStr | None = None
    DECRYPTION_KEY_FILE: str | None = None
    JWE_ALGORITHMS: list[str] = Field(default_factory=lambda: ["RSA-OAEP", "RSA-OAEP-256"])
    JWE_ENCRYPTIONS: list[str] = Field(
        default_factory=lambda: ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]
    )
    MAX_BODY_BYTES: int = Field(default=64 * 1024, ge=1024)  # Entra's request is ~2-4 KB

    # Abuse controls
    LOCKOUT_THRESHOLD: int = Field(default=10, ge=1)  # failures within the window before Block
    LOCKOUT_WINDOW_S: int = Field(default=900, ge=1)
    LOCKOUT_DURATION_S: int = Field(default=900, ge=1)
    LOCKOUT_TABLE: str = "lockouts"  # Azure: the counters every instance shares (Table Storage, beside the ledger)
    ATTEMPTS_TABLE: str = "jitattempts"  # Azure: Entra-retry dedupe + outcome log every instance shares (Table)
    RATE_LIMIT_PER_S: float = Field(default=100.0, gt=0)  # Entra sends <= 50/s tenant-wide; headroom for retries
    RATE_LIMIT_BURST: int = Field(default=100, ge=1)
    # Load shedding: beyond this many verifications in progress, answer 429 at once instead of queueing
    # past Entra's timeout (a late answer is a failed sign-in anyway, and it delays everyone behind it).
    MAX_CONCURRENT_VERIFICATIONS: int = Field(default=8, ge=1)  # ~4 per core: queue wait stays < 300 ms
    RETRY_WINDOW_S: int = Field(default=300, ge=1)  # how long a correlationId's decision is replayed
    ATTEMPT_KEY: SecretStr | None = None  # base64 32 bytes; keys the retry fingerprint (local: a key file)

    # What the user sees on Block
    BLOCK_TITLE: str = "Sign-in blocked"
    BLOCK_MESSAGE: str = "This account can't sign in right now. Please contact support."
    LOCKOUT_TITLE: str = "Too many attempts"
    LOCKOUT_MESSAGE: str = "Too many incorrect passwords. Try again later or reset your password."

    # Timing parity when the vault is empty: verify against a bcrypt hash of this cost.
    DUMMY_BCRYPT_COST: int = Field(default=10, ge=4, le=16)
    # Optional fallback for users without a stored hash: ask the legacy system (a LegacyPasswordCheck).
    LIVE_CHECK_ENABLED: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore", case_sensitive=False)

    # Target tenant
    TENANT: str = "contoso.onmicrosoft.com"
    TENANT_ID: str | None = None
    GRAPH_URL: str = DEFAULT_GRAPH_URL
    APP_IDS: list[str] = Field(default_factory=list)  # app registrations used together for writes
    EXTENSIONS_APP_ID: str | None = None  # the b2c-extensions-app's appId (attributes, JIT flag)
    MIGRATION_FLAG_ATTRIBUTE: str = "toBeMigrated"
    WRITE_QUOTA: WriteQuota = Field(default_factory=WriteQuota)
    BATCH_CONCURRENCY: int = Field(default=4, ge=1, le=32)
    # Shared write quota (docs/operations.md): every process and Functions instance draws leases of
    # QUOTA_LEASE_TOKENS writes from one bucket per app lane and one per tenant (Table QUOTA_TABLE in Azure,
    # the state's SQLite database locally); a lease not spent within QUOTA_LEASE_S seconds is dropped.
    SHARED_QUOTA: bool = True
    QUOTA_TABLE: str = "quota"
    QUOTA_LEASE_TOKENS: int = Field(default=80, ge=1)  # four $batch requests: one round-trip per four
    QUOTA_LEASE_S: float = Field(default=2.0, gt=0)
    INLINE_RETRY_BUDGET_S: float = 30.0  # wait this long in-process for Retry-After, then schedule a continuation
    MAX_ATTEMPTS: int = 8  # continuations of one chunk before its remaining users are recorded as failed

    # Workflow
    CHUNK_SIZE: int = Field(default=500, ge=1, le=5000)
    EXPORT_DROPS_QUEUE: str = "export-drops"  # Event Grid BlobCreated events on BLOB_CONTAINER (docs/azure.md)
    EXPORT_PLANS_QUEUE: str = "export-plans"  # PlanExport: a drop accepted, or a local `run`
    EXPORT_DROPS_PREFIX: str = "exports/"  # drops are exports/<source>/[…/]<file>; other blobs are not exports
    IMPORT_CHUNKS_QUEUE: str = "import-chunks"
    RUN_EVENTS_QUEUE: str = "run-events"
    GROUP_ASSIGNMENTS_QUEUE: str = "group-assignments"
    MAX_DELIVERY_COUNT: int = 10

    # Local mode
    STATE_DIR: str = "./migration"

    # Azure mode
    ServiceBusConnection: ServiceBusConnectionSettings = Field(default_factory=ServiceBusConnectionSettings)
    STORAGE_ACCOUNT_URL: str | None = None  # https://<account>.blob.core.windows.net
    TABLES_ACCOUNT_URL: str | None = None  # https://<account>.table.core.windows.net
    STORAGE_CONNECTION_STRING: SecretStr | None = None  # Azurite / keys; identity-based when absent
    BLOB_CONTAINER: str = "migration"
    LEDGER_TABLE: str = "ledger"
    CHUNK_SEALING_KEY: SecretStr | None = None  # base64 32 bytes, a Key Vault reference in Azure
    # JIT credential vault (shared by every instance): a Table, its rows' data keys wrapped by a KEK. The KEK is
    # the Key Vault RSA key KEY_VAULT_KEY_ID (versioned key URL), else VAULT_KEK (base64 32 bytes, a Key Vault
    # reference); with neither, Azure imports vault no hashes and the JIT endpoint is not usable. Rows name the KEK
    # that wrapped them, so after a rotation they still open (docs/jit.md "Rotating the vault's KEK").
    VAULT_TABLE: str = "vault"
    KEY_VAULT_KEY_ID: str | None = None
    VAULT_KEK: SecretStr | None = None
    VAULT_KEK_RETIRED: list[SecretStr] = Field(default_factory=list)  # keys VAULT_KEK replaced, until rewrapped
    APPLICATIONINSIGHTS_CONNECTION_STRING: SecretStr | None = None
    # "Authorization=AAD" (the app's system identity) or "ClientId=<id>;Authorization=AAD": telemetry with credential=
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: str | None = None

    # Live legacy change feeds (sync --source auth0|okta|keycloak --feed URL); see docs/feeds.md. Secrets here or
    # in LEGACY_CREDENTIALS_FILE (JSON), never on a command line.
    LEGACY_CLIENT_ID: str | None = None  # Auth0 / Keycloak client-credentials client
    LEGACY_CLIENT_SECRET: SecretStr | None = None
    LEGACY_API_TOKEN: SecretStr | None = None  # Okta SSWS API token
    LEGACY_CREDENTIALS_FILE: str | None = None
    LEGACY_FEED_START_AT: datetime | None = None  # where a feed without a cursor starts (the export's time)
    LEGACY_FEED_OVERLAP_S: float = Field(default=300.0, ge=0)
    LEGACY_AUTH0_LOG_RETENTION_DAYS: float = Field(default=1.0, gt=0)  # by plan: 1 (Free) … 30 (Enterprise)
    LEGACY_KEYCLOAK_EVENTS_EXPIRATION_S: float | None = None  # default: the realm's eventsExpiration
    # Coexistence sync (poll changes → apply change); see docs/sync.md
    LEGACY_CHANGES_QUEUE: str = "legacy-changes"
    SYNC_TABLE: str = "sync"  # Azure: the sync store (fingerprints, cursors, conflicts), beside the ledger
    SYNC_SOURCE: str = "jsonl"  # Azure: the feed poll_changes reads (a --source name)
    SYNC_FEED: str = ""  # Azure: where that feed is (a drop blob name, a tenant URL)
    SYNC_SCHEDULE: str = "0 */1 * * * *"  # Azure: poll_changes' timer (NCRONTAB)
    SYNC_POLL_INTERVAL_S: float = Field(default=60.0, gt=0)
    SYNC_POLL_LEASE_S: float = Field(default=120.0, gt=0)  # a poll's lease (renewed per page): one poller at a time
    SYNC_WRITE_SHARE: float = Field(default=0.5, gt=0.0, le=0.9)  # of the write quota, kept for a running sync
    SYNC_ENABLED: bool = False  # true: an import always leaves SYNC_WRITE_SHARE (a sync elsewhere); docs/sync.md
    SYNC_CONCURRENCY: int = Field(default=8, ge=1, le=64)  # local sync host: changes applied at once (other users)
    SYNC_CONFLICT_RULE: Literal["entra_wins_after_cutover", "legacy_wins", "entra_wins"] = "entra_wins_after_cutover"
    SYNC_CUTOVER_AT: datetime | None = None  # when the apps moved to Entra: from then on Entra wins conflicts
    SYNC_DELETE_POLICY: Literal["delete", "disable"] = "delete"
    SYNC_NO_HASH_PASSWORD_POLICY: Literal["force_reset", "leave"] = "force_reset"
    SYNC_MAX_ATTEMPTS: int = Field(default=8, ge=1)
    # Cutover monitoring (ingest sign-ins → alerts → dispatch alert); see docs/monitoring.md
    SIGNIN_INGEST_SCHEDULE: str = "0 */5 * * * *"  # Azure: ingest_signins' timer (NCRONTAB)
    # ingest_signins' windows (shared/handlers/ingest_signins.py IngestSettings): the late sweep re-reads each
    # range SIGNIN_OVERLAP_S after it (30 min of arrival delay + one interval); the fresh slice reaches back
    # SIGNIN_FRESH_OVERLAP_S (the usual 2–5 min delay + one interval).
    SIGNIN_OVERLAP_S: float = Field(default=35 * 60.0, gt=0)
    SIGNIN_FRESH_OVERLAP_S: float = Field(default=10 * 60.0, gt=0)
    SIGNIN_FIRST_LOOKBACK_S: float = Field(default=60 * 60.0, gt=0)  # no cursor yet: start this far back
    SIGNIN_MIN_SLICE_S: float = Field(default=60.0, gt=0)  # narrowest time slice after repeated 429s
    SIGNIN_BACKOFF_S: float = Field(default=2.0, gt=0)  # a 429 without Retry-After
    SIGNIN_APP_WAVES: dict[str, str] = Field(default_factory=dict)  # appId -> wave name (JSON); others "unassigned"
    MONITOR_TABLE: str = "monitor"  # Azure: the monitor store (cursors, sign-ins counted, points, alerts sent)
    ALERTS_QUEUE: str = "alerts"
    ALERT_WEBHOOK_URL: SecretStr | None = None  # Teams/Slack-style incoming webhook; none: alerts are only recorded
    # Decommissioning (docs/decommission.md): how long a sign-in keeps working without a new sign-in. 90 days is
    # the Microsoft identity platform's default refresh-token lifetime; use the legacy system's if it is longer.
    DECOMMISSION_REFRESH_TOKEN_DAYS: float = Field(default=90.0, gt=0)

    # Just-in-time password migration (the OnPasswordSubmit endpoint): JIT__TENANT_ID, JIT__AUDIENCES, …
    JIT: JitSettings = Field(default_factory=JitSettings)


def environment_secret(name: str) -> str | None:
    """A secret from the environment variable a user named (`--app ID:secret-env=NAME`); never logged."""
    return os.environ.get(name) or None
