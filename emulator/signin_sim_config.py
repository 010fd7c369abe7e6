"""Settings of Entra's side of a sign-in in the emulator: the custom-extension budget, smart lockout,
log arrival delay, and the error codes written to the sign-in log.

Documented values are defaults (docs/limits.md; entra-docs identity-platform/custom-extension-troubleshoot.md for
the 1003xxx codes). Codes Microsoft does not document for OnPasswordSubmit (what the log says after
UpdatePassword or Block) are settings, marked *unconfirmed* in docs/monitoring.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Sign-in log status codes (Entra error code reference, AADSTS…).
SUCCESS = 0
INVALID_PASSWORD = 50126
LOCKED = 50053
PASSWORD_EXPIRED = 50055
DISABLED = 50057
USER_NOT_FOUND = 50034
# Custom extension callout failures (custom-extension-troubleshoot.md).
CALLOUT_UNEXPECTED = 1003001
CALLOUT_INVALID_STATUS = 1003002
CALLOUT_INVALID_BODY = 1003003
CALLOUT_THROTTLED = 1003004
CALLOUT_TIMEOUT = 1003005

FAILURE_REASONS = {
    SUCCESS: None,
    INVALID_PASSWORD: "Error validating credentials due to invalid username or password.",
    LOCKED: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
    PASSWORD_EXPIRED: "The password is expired.",
    DISABLED: "User account is disabled.",
    USER_NOT_FOUND: "User account does not exist in the directory.",
    CALLOUT_UNEXPECTED: "CustomExtenstionUnexpectedError",
    CALLOUT_INVALID_STATUS: "CustomExtensionInvalidHTTPStatus",
    CALLOUT_INVALID_BODY: "CustomExtensionInvalidResponseBody",
    CALLOUT_THROTTLED: "CustomExtensionThrottlingError",
    CALLOUT_TIMEOUT: "CustomExtensionTimedOut",
}


class SignInSimConfig(BaseModel):
    """Windows and delays are seconds before `--time-scale`; the callout timeout is real milliseconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Custom extension budget (docs/limits.md): the extension's own clientConfiguration wins when it sets one.
    callout_timeout_ms: int = Field(2000, ge=200, le=2000)
    callout_max_retries: int = Field(1, ge=0, le=1)
    callouts_per_second: float = Field(50.0, gt=0)  # all custom extensions of the tenant together
    # Smart lockout: failures in a row before 50053, and how long the lock lasts.
    lockout_threshold: int = Field(10, ge=1)
    lockout_duration_s: float = Field(60.0, gt=0)
    # Sign-in log arrival: typically 2–5 min after the sign-in; a small share much later (up to 30 min).
    arrival_delay_min_s: float = Field(120.0, ge=0)
    arrival_delay_max_s: float = Field(300.0, ge=0)
    late_fraction: float = Field(0.02, ge=0, le=1)
    late_delay_max_s: float = Field(1800.0, ge=0)
    # Unconfirmed: what the log shows when the extension answers UpdatePassword (reset) or Block.
    update_password_error_code: int = PASSWORD_EXPIRED
    block_error_code: int = LOCKED
