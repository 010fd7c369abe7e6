"""R19-R24 and the four actions: requests as Entra sends them, answers exactly as docs/limits.md describes."""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
import uuid
from typing import Any

import pytest
from jit_rig import FakeTenant, Rig, bcrypt_hash, credential
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from shared.jit.protocol import GENERIC_FAILURE_BODY
from shared.records import PasswordHash

STRONG = "Str0ng-Passw0rd!"


def action_of(body: Any) -> str:
    assert isinstance(body, dict) and len(body["data"]["actions"]) == 1
    return str(body["data"]["actions"][0]["@odata.type"]).rsplit(".", 1)[1]


async def test_right_password_migrates_echoes_the_nonce_and_deletes_the_hash(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig()
    stored = bcrypt_hash(STRONG)
    await rig.vault.store(credential("oid-1", stored))
    status, body = await rig.call(tenant.body("oid-1", STRONG, nonce="n-123"))
    assert status == 200
    assert body == {
        "data": {
            "@odata.type": "microsoft.graph.onPasswordSubmitResponseData",
            "actions": [{"@odata.type": "microsoft.graph.passwordSubmit.MigratePassword"}],
            "nonce": "n-123",
        }
    }
    # R24: no hash left for a migrated user, in the store or in the file
    assert await rig.vault.load("oid-1") is None
    raw = b"".join(p.read_bytes() for p in rig.state_dir.glob("vault.db*"))
    assert stored.value.get_secret_value().encode() not in raw


@pytest.mark.parametrize(
    ("alg", "enc"),
    [
        ("RSA-OAEP", "A128GCM"),
        ("RSA-OAEP-256", "A256CBC-HS512"),
        ("RSA-OAEP", "A256GCM"),
        ("RSA-OAEP-256", "A128CBC-HS256"),
    ],
)
async def test_accepted_jwe_algorithms(make_rig: Any, tenant: FakeTenant, alg: str, enc: str) -> None:
    rig: Rig = await make_rig()
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    status, body = await rig.call(tenant.body("oid-1", STRONG, nonce=f"{alg}-{enc}", alg=alg, enc=enc))
    assert status == 200 and action_of(body) == "MigratePassword" and body["data"]["nonce"] == f"{alg}-{enc}"


async def test_right_but_weak_password_gets_update_password_and_keeps_the_hash(
    make_rig: Any, tenant: FakeTenant
) -> None:
    rig: Rig = await make_rig()
    for oid, weak in (("short", "Ab1!"), ("two-classes", "alllowercase123"), ("unicode", "Pässwörd-123")):
        await rig.vault.store(credential(oid, bcrypt_hash(weak)))
        status, body = await rig.call(tenant.body(oid, weak))
        assert (oid, status, action_of(body)) == (oid, 200, "UpdatePassword")
        assert await rig.vault.load(oid) is not None


async def test_wrong_password_retries_and_disabled_legacy_account_blocks(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig()
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    await rig.vault.store(credential("oid-off", bcrypt_hash(STRONG), disabled=True))
    assert action_of((await rig.call(tenant.body("oid-1", "nope")))[1]) == "Retry"
    _, blocked = await rig.call(tenant.body("oid-off", STRONG))
    item = blocked["data"]["actions"][0]  # type: ignore[index]
    assert item["@odata.type"] == "microsoft.graph.passwordSubmit.Block" and item["title"] and item["message"]
    assert await rig.vault.load("oid-off") is not None


async def test_bad_requests_get_one_generic_answer_with_no_detail(
    make_rig: Any, tenant: FakeTenant, other_encryption_key: RSAKey
) -> None:
    rig: Rig = await make_rig(MAX_BODY_BYTES=4096)
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    bad_bodies = {
        "not json": b"{nope",
        "wrong type": tenant.body("oid-1", STRONG).replace(b"authenticationEvent.passwordSubmit", b"other"),
        "malformed jwe": tenant.body("oid-1", STRONG, context="a.b.c.d.e"),
        "not a jwe": tenant.body("oid-1", STRONG, context="eyJhbGciOiJub25lIn0.e30."),
        "wrong key": tenant.body("oid-1", STRONG, key=other_encryption_key),
        "rsa1_5": tenant.body("oid-1", STRONG, alg="RSA1_5"),
        "missing nonce": tenant.body("oid-1", STRONG, nonce=None),
        "wrong tenant": tenant.body("oid-1", STRONG).replace(b'"tenantId": "aaaabbbb', b'"tenantId": "ffffbbbb'),
    }
    for name, body in bad_bodies.items():
        status, answer = await rig.call(body)
        assert (name, status, answer) == (name, 400, json.loads(GENERIC_FAILURE_BODY))

    huge = tenant.body("oid-1", STRONG) + b" " * 5000

    async def read_body(limit: int) -> bytes:
        raise AssertionError("an announced oversized body must not be read")

    answer = await rig.service.handle(f"Bearer {tenant.token()}", len(huge), read_body)
    assert (answer.status, answer.body) == (413, GENERIC_FAILURE_BODY)
    assert rig.verifications == []
    assert await rig.vault.load("oid-1") is not None


async def test_unknown_user_and_wrong_password_look_the_same(make_rig: Any, tenant: FakeTenant) -> None:
    """R20: same action and body; the unknown user still costs a verification (dummy)."""
    rig: Rig = await make_rig()
    await rig.vault.store(credential("known", bcrypt_hash(STRONG)))
    status_a, wrong = await rig.call(tenant.body("known", "Wrong-Passw0rd", nonce="same"))
    status_b, unknown = await rig.call(tenant.body("not-in-vault", "Wrong-Passw0rd", nonce="same"))
    assert (status_a, wrong) == (status_b, unknown)
    assert rig.verifications == ["bcrypt", "bcrypt"]


async def test_unknown_user_timing_matches_wrong_password(make_rig: Any, tenant: FakeTenant) -> None:
    """R20 timing: median difference < 5 ms over a few hundred warm calls, with a hash expensive enough
    (bcrypt cost 8, ~15 ms) that skipping the dummy verification would fail this test."""
    rig: Rig = await make_rig(LOCKOUT_THRESHOLD=10_000, RATE_LIMIT_PER_S=10_000, RATE_LIMIT_BURST=10_000)
    await rig.vault.store(credential("known", bcrypt_hash(STRONG, cost=8)))
    token = tenant.token()
    bodies = {
        who: [tenant.body(who, "Wrong-Passw0rd", nonce=f"n{i}") for i in range(200)] for who in ("known", "ghost")
    }
    timings: dict[str, list[float]] = {"known": [], "ghost": []}
    for i in range(-10, 200):  # the first 10 pairs warm up caches and are not measured
        for who in ("known", "ghost") if i % 2 else ("ghost", "known"):
            started = time.perf_counter()
            status, body = await rig.call(bodies[who][max(i, 0)], token=token)
            if i >= 0:
                timings[who].append(time.perf_counter() - started)
            assert status == 200 and action_of(body) == "Retry"
    known_ms = statistics.median(timings["known"]) * 1000
    ghost_ms = statistics.median(timings["ghost"]) * 1000
    assert known_ms > 8, "the hash must be slow enough for this test to detect a missing dummy verification"
    assert abs(known_ms - ghost_ms) < 5, (known_ms, ghost_ms)


async def test_lockout_blocks_after_threshold_with_no_further_verification(make_rig: Any, tenant: FakeTenant) -> None:
    """R21: 50 wrong passwords on one account."""
    rig: Rig = await make_rig(LOCKOUT_THRESHOLD=5)
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    actions = [action_of((await rig.call(tenant.body("oid-1", f"wrong-{i}")))[1]) for i in range(50)]
    assert actions == ["Retry"] * 5 + ["Block"] * 45
    assert len(rig.verifications) == 5  # verifications past the threshold: 0
    # Even the right password is refused while locked, without being checked.
    assert action_of((await rig.call(tenant.body("oid-1", STRONG)))[1]) == "Block"
    assert len(rig.verifications) == 5 and await rig.vault.load("oid-1") is not None


async def test_one_password_across_many_accounts_hits_the_global_rate_limit(make_rig: Any, tenant: FakeTenant) -> None:
    """R21: spraying one password across 1,000 accounts spends at most burst + rate x time verifications."""
    rig: Rig = await make_rig(RATE_LIMIT_PER_S=20, RATE_LIMIT_BURST=20)
    token = tenant.token()
    bodies = [tenant.body(f"acct-{i}", "Summer2024!") for i in range(1000)]
    started = time.monotonic()
    statuses = [(await rig.call(body, token=token))[0] for body in bodies]
    elapsed = time.monotonic() - started
    assert set(statuses) == {200, 429}
    assert statuses.count(200) == len(rig.verifications)
    assert len(rig.verifications) <= 20 + 20 * elapsed + 1


async def test_entra_retry_same_correlation_id_is_counted_once(make_rig: Any, tenant: FakeTenant) -> None:
    """R22: same correlationId, same password, new nonce → same decision, own nonce, one failure."""
    rig: Rig = await make_rig(LOCKOUT_THRESHOLD=2)
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    correlation = str(uuid.uuid4())
    first = await rig.call(tenant.body("oid-1", "wrong", nonce="first", correlation_id=correlation))
    retry = await rig.call(tenant.body("oid-1", "wrong", nonce="second", correlation_id=correlation))
    assert action_of(first[1]) == action_of(retry[1]) == "Retry"
    assert (first[1]["data"]["nonce"], retry[1]["data"]["nonce"]) == ("first", "second")  # type: ignore[index]
    # Concurrent delivery of a retry while the first is still verifying: also one failure.
    other = str(uuid.uuid4())
    both = await asyncio.gather(
        rig.call(tenant.body("oid-1", "wrong-2", nonce="a", correlation_id=other)),
        rig.call(tenant.body("oid-1", "wrong-2", nonce="b", correlation_id=other)),
    )
    assert [action_of(b) for _, b in both] == ["Retry", "Retry"]
    # Two distinct failures so far (threshold 2): the account is now locked, which shows the count is exact.
    assert action_of((await rig.call(tenant.body("oid-1", STRONG)))[1]) == "Block"
    assert len(rig.verifications) == 2


async def test_a_different_password_under_the_same_correlation_id_is_a_new_attempt(
    make_rig: Any, tenant: FakeTenant
) -> None:
    rig: Rig = await make_rig()
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    correlation = str(uuid.uuid4())
    assert action_of((await rig.call(tenant.body("oid-1", "wrong", correlation_id=correlation)))[1]) == "Retry"
    assert action_of((await rig.call(tenant.body("oid-1", STRONG, correlation_id=correlation)))[1]) == "MigratePassword"


async def test_retry_after_migrate_repeats_migrate_though_the_hash_is_gone(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig()
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG)))
    correlation = str(uuid.uuid4())
    _, first = await rig.call(tenant.body("oid-1", STRONG, nonce="1", correlation_id=correlation))
    _, again = await rig.call(tenant.body("oid-1", STRONG, nonce="2", correlation_id=correlation))
    assert action_of(first) == action_of(again) == "MigratePassword"
    assert again["data"]["nonce"] == "2"  # type: ignore[index]
    assert await rig.vault.load("oid-1") is None


async def test_live_legacy_check_is_off_by_default_and_used_when_enabled(
    make_rig: Any, tenant: FakeTenant, jit_settings: Any, state_dir: Any
) -> None:
    asked: list[str] = []

    class LegacyApi:
        async def check(self, *, object_id: str, username: str | None, password: SecretStr) -> str:
            asked.append(object_id)
            return "valid" if password.get_secret_value() == STRONG else "invalid"

    from shared.bootstrap import open_jit_service, open_local_vault
    from shared.telemetry import TallyTelemetry

    for enabled, expected in ((False, "Retry"), (True, "MigratePassword")):
        settings = jit_settings.model_copy(update={"LIVE_CHECK_ENABLED": enabled})
        service = await open_jit_service(
            settings,
            state_dir=state_dir / str(enabled),
            telemetry=TallyTelemetry(),
            vault=open_local_vault(str(state_dir / str(enabled))),
            live_check=LegacyApi(),  # type: ignore[arg-type]
        )
        body = tenant.body("no-hash-user", STRONG)

        async def read_body(limit: int, body: bytes = body) -> bytes:
            return body

        answer = await service.handle(f"Bearer {tenant.token()}", len(body), read_body)
        assert action_of(json.loads(answer.body)) == expected
        await service.close()
    assert asked == ["no-hash-user"]


async def test_canary_secrets_never_reach_logs_telemetry_outcomes_or_answers(
    make_rig: Any, tenant: FakeTenant, caplog: pytest.LogCaptureFixture
) -> None:
    """R23: a canary password, hash, JWE and token through success and failure paths."""
    caplog.set_level(logging.DEBUG)
    canary_password = "Canary-Pa55word-7f3a9!"
    canary_hash = bcrypt_hash(canary_password)
    rig: Rig = await make_rig(LOCKOUT_THRESHOLD=3)
    await rig.vault.store(credential("oid-1", canary_hash))
    token = tenant.token()
    jwe = tenant.password_context(canary_password, "nonce-c")
    wrong_jwe = tenant.password_context(canary_password + "x", "nonce-w")
    answers = []
    for body in (
        tenant.body("oid-1", "", context=wrong_jwe),
        tenant.body("ghost", "", context=jwe),
        tenant.body("oid-1", "", context=jwe),  # success
        tenant.body("oid-1", canary_password, nonce=None),
        tenant.body("oid-1", "", context=jwe[:-5] + "AAAAA"),  # tampered
        b'{"data": {"encryptedPasswordContext": "' + jwe.encode() + b'"}}',  # fails validation, quotes input
    ):
        answers.append(await rig.call(body, token=token))
    answers.append(await rig.call(tenant.body("oid-1", canary_password), token=token + "x"))

    def broken_verifier(password: str, h: PasswordHash) -> bool:
        raise RuntimeError(f"boom {password} {h.value.get_secret_value()}")

    rig.service._decider._verifier = broken_verifier  # type: ignore[attr-defined]
    await rig.vault.store(credential("oid-2", canary_hash))
    answers.append(await rig.call(tenant.body("oid-2", canary_password), token=token))
    assert answers[-1][0] == 500

    outcomes = [repr(o) for o in await rig.service._state.outcomes()]  # type: ignore[attr-defined]
    haystacks = {
        "logs": caplog.text + "".join(repr(r.args) + str(r.exc_info) for r in caplog.records),
        "telemetry": repr(rig.telemetry.records) + repr(rig.telemetry.counts),
        "outcomes": "".join(outcomes),
        "answers": repr(answers),
    }
    canaries = {
        "password": canary_password,
        "hash": canary_hash.value.get_secret_value(),
        "jwe": jwe[:60],
        "token": token.split(".")[2][:40],
    }
    assert caplog.records, "the test must capture something for the absence of secrets to mean anything"
    hits = [(where, what) for where, text in haystacks.items() for what, c in canaries.items() if c in text]
    assert hits == []


async def test_load_is_shed_instead_of_queued_past_entras_timeout(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig(MAX_CONCURRENT_VERIFICATIONS=2)
    await rig.vault.store(credential("oid-1", bcrypt_hash(STRONG, cost=8)))
    token = tenant.token()
    results = await asyncio.gather(*(rig.call(tenant.body("oid-1", f"w{i}"), token=token) for i in range(6)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(429) >= 1 and len(rig.verifications) == statuses.count(200) <= 2 + 4
    assert len(rig.verifications) < 6
