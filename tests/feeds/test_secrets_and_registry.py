"""Secrets never leave their box (canary values in logs and exceptions), and the registry the CLI builds from."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from shared.sync.feeds import (
    FeedAuthError,
    FeedCredentials,
    FeedMisconfigured,
    UnknownFeedSource,
    build_feed,
    is_live_feed,
    load_credentials,
)
from tests.feeds.conftest import drain, feed_url, live

CANARY = "canary-S3CRET-7f3a"


@pytest.mark.parametrize("source", ["auth0", "keycloak"])
async def test_a_refused_client_secret_appears_nowhere(legacy, caplog, source):
    handle = legacy(source, events_enabled=True) if source == "keycloak" else legacy(source)
    wrong = FeedCredentials(
        client_id="ciam-sync" if source == "keycloak" else "sync-client", client_secret=SecretStr(CANARY)
    )
    feed = live(source, handle, credentials=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FeedAuthError) as refused:
        await feed.feed.read(None)
    assert CANARY not in str(refused.value) and CANARY not in repr(refused.value)
    assert CANARY not in repr(wrong) and CANARY not in caplog.text
    await feed.close()


@pytest.mark.parametrize("source", ["auth0", "okta", "keycloak"])
async def test_tokens_and_secrets_are_not_logged_during_a_sync(legacy, caplog, source):
    handle = legacy(source, events_enabled=True) if source == "keycloak" else legacy(source)
    handle.emulator.seed_sample()
    handle.emulator.bucket.configure(burst=2, per_second=20)  # 429s on the way: their log lines too
    caplog.set_level(logging.DEBUG)
    feed = live(source, handle)
    await drain(feed, None)
    for user in handle.emulator.users():
        await feed.state.read_user(str(user.get("user_id") or user.get("id")))
    issued = [*list(getattr(handle.emulator, "_tokens", ())), "sync-secret", "kc-secret", "okta-api-token"]
    assert issued and not any(secret in caplog.text for secret in issued)
    await feed.close()


def test_registry_and_credentials(tmp_path):
    assert is_live_feed("auth0", "https://acme.auth0.com") and not is_live_feed("jsonl", "changes.jsonl")
    assert not is_live_feed("okta", "export.csv")
    with pytest.raises(UnknownFeedSource, match="live feeds: auth0, okta, keycloak, b2c"):
        build_feed("cognito", "https://x", FeedCredentials())
    with pytest.raises(FeedMisconfigured, match="API token"):
        build_feed("okta", "https://acme.okta.com", FeedCredentials())
    with pytest.raises(FeedMisconfigured, match="must name the realm"):
        build_feed("keycloak", "https://sso.example.com", FeedCredentials(client_id="a", client_secret=SecretStr("b")))
    file = tmp_path / "creds.json"
    file.write_text(f'{{"client_id": "c", "client_secret": "{CANARY}"}}')
    credentials = load_credentials(file=file)
    assert credentials.client_id == "c" and CANARY not in repr(credentials)
    file.write_text("not json " + CANARY)
    with pytest.raises(FeedMisconfigured) as bad:
        load_credentials(file=file)
    assert str(bad.value) == f"{file}: the credentials file is not JSON"


def test_feed_url_forms():
    from shared.sync.feeds.keycloak import feed_location

    assert feed_location("https://sso.example.com/realms/acme") == ("https://sso.example.com", "acme")
    assert feed_location("https://sso.example.com/auth/admin/realms/acme/") == ("https://sso.example.com/auth", "acme")
    assert feed_url("auth0", type("H", (), {"base_url": "http://127.0.0.1:1"})()) == "http://127.0.0.1:1"


async def test_feed_for_is_the_sync_registry_hook(legacy):
    from types import SimpleNamespace

    from shared.config import Settings
    from shared.sync.feeds import feed_for

    handle = legacy("okta")
    handle.emulator.seed_sample()
    settings = Settings(LEGACY_API_TOKEN=SecretStr("okta-api-token"))
    assert feed_for(SimpleNamespace(source="jsonl", feed="changes.jsonl", settings=settings)) is None
    spec = feed_for(SimpleNamespace(source="okta", feed=handle.base_url, settings=settings))
    assert spec is not None
    user = handle.emulator.users()[0]["id"]
    assert (await spec.state.read_user(user)).legacy_id == user
    await spec.close()
