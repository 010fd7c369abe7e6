"""R20 on a vault that mixes algorithms (issue: data-integrity defects, "timing reveals who exists").

Benchmark-style: ≥ 200 interleaved calls for unknown users and ≥ 200 for known users with a wrong
password (pbkdf2, bcrypt and firebase-scrypt in turn), through the real JitService; medians compared,
never single calls. Before the fix an unknown user was verified against the first stored row (pbkdf2
here) and answered ~40 ms sooner than a known bcrypt or firebase-scrypt user.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
import time
from typing import Any

from jit_rig import FakeTenant, Rig, bcrypt_hash, credential
from pydantic import SecretStr

from shared.records import PasswordHash
from tests.jit.test_jit_decisions import action_of
from tests.jit.test_jit_verifiers import FIREBASE

ROUNDS = 200
SALT = b"mixed-vault-salt"


# Costs kept small so the test is quick, yet far enough apart (≈5, 10 and 17 ms) that a decoy of the wrong
# algorithm would show: the old first-row decoy (pbkdf2) answered unknown users ≥ 10 ms sooner than bcrypt.
FIREBASE_CHEAP = FIREBASE.model_copy(update={"params": {**(FIREBASE.params or {}), "memCost": 12}})


def pbkdf2_hash(password: str, iterations: int = 10_000) -> PasswordHash:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), SALT, iterations)
    return PasswordHash(
        algorithm="pbkdf2-sha256", value=SecretStr(base64.b64encode(digest).decode()),
        salt=SecretStr(base64.b64encode(SALT).decode()), params={"iterations": iterations},
    )  # fmt: skip


async def test_unknown_users_cost_what_known_users_cost_in_a_mixed_vault(make_rig: Any, tenant: FakeTenant) -> None:
    rig: Rig = await make_rig(LOCKOUT_THRESHOLD=100_000, RATE_LIMIT_PER_S=100_000, RATE_LIMIT_BURST=100_000)
    known = {"pbkdf2": "known-pbkdf2", "bcrypt": "known-bcrypt", "firebase-scrypt": "known-scrypt"}
    # pbkdf2 first: the row a "first stored row" decoy would always pick.
    await rig.vault.store(credential(known["pbkdf2"], pbkdf2_hash("Right-Passw0rd")))
    await rig.vault.store(credential(known["bcrypt"], bcrypt_hash("Right-Passw0rd", cost=8)))
    await rig.vault.store(credential(known["firebase-scrypt"], FIREBASE_CHEAP))
    token = tenant.token()
    order = [*known.values()]
    timings: dict[str, list[float]] = {name: [] for name in [*known.values(), "ghost"]}

    async def call(who: str, i: int) -> float:
        body = tenant.body(who if who != "ghost" else f"ghost-{i}", "Wrong-Passw0rd", nonce=f"n{who}{i}")
        started = time.perf_counter()
        status, answer = await rig.call(body, token=token)
        elapsed = time.perf_counter() - started
        assert status == 200 and action_of(answer) == "Retry"
        return elapsed

    for i in range(-12, ROUNDS):  # the first rounds warm caches and the cost floor; not measured
        who = order[i % 3]
        pair = (who, "ghost") if i % 2 else ("ghost", who)
        for name in pair:
            elapsed = await call(name, i)
            if i >= 0:
                timings[name].append(elapsed)

    ghost_ms = statistics.median(timings["ghost"]) * 1000
    known_all = [t for name, values in timings.items() if name != "ghost" for t in values]
    known_ms = statistics.median(known_all) * 1000
    per_algorithm = {name: statistics.median(values) * 1000 for name, values in timings.items() if name != "ghost"}
    assert len(timings["ghost"]) >= 200 and len(known_all) >= 200
    print(f"median unknown {ghost_ms:.1f} ms, known {known_ms:.1f} ms, per algorithm {per_algorithm}")
    assert abs(known_ms - ghost_ms) < 5, (known_ms, ghost_ms)
    for name, median_ms in per_algorithm.items():
        assert abs(median_ms - ghost_ms) < 5, (name, median_ms, ghost_ms, per_algorithm)
