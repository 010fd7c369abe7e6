"""How a legacy feed is reached and paced: credentials (never on a command line) and per-source settings.

`FeedCredentials` holds the secrets as SecretStr so no repr, log line or exception shows them. They come from
Settings (LEGACY_CLIENT_ID, LEGACY_CLIENT_SECRET, LEGACY_API_TOKEN) or from a JSON file named by
LEGACY_CREDENTIALS_FILE / `--credentials-file` (`{"client_id": …, "client_secret": …}` or `{"api_token": …}`).
Defaults are the vendors' documented figures (docs/feeds.md names the source of each).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.sync.feeds.errors import FeedMisconfigured

if TYPE_CHECKING:
    from shared.config import Settings


class FeedCredentials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_token: SecretStr | None = None


class FeedOptions(BaseModel):
    """Per-feed settings. Durations in seconds or days as named; `start_at` is where a feed with no cursor starts
    (normally the bulk export's time); None = the oldest entry the feed still holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_at: datetime | None = None
    overlap_s: float = Field(default=300.0, ge=0)  # re-read window for time-cursored feeds (Okta, Keycloak)
    max_pages_per_read: int = Field(default=20, ge=1)
    max_inline_wait_s: float = Field(default=30.0, ge=0)  # longer 429 waits become FeedThrottled
    timeout_s: float = Field(default=30.0, gt=0)
    # Auth0 keeps logs 1 day (Free) … 30 days (Enterprise): the poller's outage budget. Free is the safe default.
    auth0_log_retention_days: float = Field(default=1.0, gt=0)
    auth0_audience: str | None = None  # default https://<feed host>/api/v2/
    okta_retention_days: float = Field(default=90.0, gt=0)
    okta_page_limit: int = Field(default=1000, ge=1, le=1000)
    # Keycloak: events expire only when the realm sets an expiration; None = ask the realm's events config.
    keycloak_events_expiration_s: float | None = Field(default=None, gt=0)
    keycloak_token_realm: str | None = None  # default: the feed's realm
    keycloak_page_size: int = Field(default=100, ge=1)
    seen_limit: int = Field(default=2000, ge=100)  # dedupe memory kept in the cursor
    b2c_tenant_id: str | None = None  # the B2C tenant, for a client-secret credential (else DefaultAzureCredential)

    @property
    def overlap(self) -> timedelta:
        return timedelta(seconds=self.overlap_s)


def load_credentials(
    *,
    client_id: str | None = None,
    client_secret: SecretStr | None = None,
    api_token: SecretStr | None = None,
    file: Path | None = None,
) -> FeedCredentials:
    """Settings values, with a credentials file's keys laid over them. A bad file is a one-line error naming it."""
    values: dict[str, Any] = {"client_id": client_id, "client_secret": client_secret, "api_token": api_token}
    if file is not None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FeedMisconfigured(f"{file}: cannot read the credentials file ({exc.strerror or exc})") from None
        except ValueError:
            raise FeedMisconfigured(f"{file}: the credentials file is not JSON") from None
        if not isinstance(data, dict) or not set(data) <= {"client_id", "client_secret", "api_token"}:
            raise FeedMisconfigured(f"{file}: expected an object with client_id/client_secret or api_token")
        values.update({k: v for k, v in data.items() if v})
    return FeedCredentials.model_validate(values)


def credentials_from_settings(settings: Settings, file: Path | None = None) -> FeedCredentials:
    path = file or (Path(settings.LEGACY_CREDENTIALS_FILE) if settings.LEGACY_CREDENTIALS_FILE else None)
    return load_credentials(
        client_id=settings.LEGACY_CLIENT_ID,
        client_secret=settings.LEGACY_CLIENT_SECRET,
        api_token=settings.LEGACY_API_TOKEN,
        file=path,
    )


def options_from_settings(settings: Settings) -> FeedOptions:
    return FeedOptions(
        start_at=settings.LEGACY_FEED_START_AT,
        overlap_s=settings.LEGACY_FEED_OVERLAP_S,
        auth0_log_retention_days=settings.LEGACY_AUTH0_LOG_RETENTION_DAYS,
        keycloak_events_expiration_s=settings.LEGACY_KEYCLOAK_EVENTS_EXPIRATION_S,
    )
