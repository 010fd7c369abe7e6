"""JitSettings: everything the OnPasswordSubmit endpoint needs, with Entra's documented values as defaults.

Nested in the app Settings as `JIT` (env `JIT__AUDIENCES='["api://…"]'`, `JIT__LOCKOUT_THRESHOLD=10`, …).
Nothing here reads the environment itself: shared.config.Settings does, for the whole app.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

# The Microsoft Entra authentication events service: the only caller allowed (azp in v2 tokens, appid in v1).
ENTRA_EVENTS_APP_ID = "99045fe1-7639-4a75-9d4a-577b6ca3810f"


class JitSettings(BaseModel):
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
