"""R3/R28: one retry layer. A 504 on a create, on `POST extensionProperties` or on a whole `$batch` — before
or after the server committed — is never re-sent by the SDK, and never re-sent by us before the identity
lookup. Figures: duplicates 0, misclassified 0, SDK-level re-sends 0.
"""

from __future__ import annotations

from pydantic import SecretStr

from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.adapters.graph.budget import ThrottleBudget
from shared.adapters.graph.client import make_graph_client
from shared.adapters.graph.directory import AppLane, GraphDirectory
from shared.records import ObjectIdentity, TargetUser
from tests.conftest import emulator_stats, set_faults
from tests.graph.wire import RecordingTransport, WireCall

TENANT = "contoso.onmicrosoft.com"
APP = "aaaaaaaa-0000-4000-8000-0000000000a1"
AMBIGUOUS = {500, 502, 504}


def target(n: int) -> TargetUser:
    email = f"user{n:04d}@example.com"
    return TargetUser(
        legacy_id=f"L{n:04d}", display_name=f"User {n}", mail=email,
        identities=[ObjectIdentity(sign_in_type="emailAddress", issuer=TENANT, issuer_assigned_id=email)],
        password=SecretStr("Str0ng!Passw0rd-x"), password_path="reset",
    )  # fmt: skip


def directory_for(base_url: str, wire: RecordingTransport, **kwargs: float) -> GraphDirectory:
    lane = AppLane(APP, make_graph_client(base_url, APP, transport=wire), ThrottleBudget(3000, 7.5), concurrency=4)
    return GraphDirectory([lane], ThrottleBudget(18000, 15.0), backoff_base_s=0.01, **kwargs)  # type: ignore[arg-type]


def batch_emails(call: WireCall) -> list[str]:
    return [r["body"]["identities"][0]["issuerAssignedId"] for r in call.body["requests"]]


def looked_up(call: WireCall) -> str | None:
    if call.method != "GET" or call.path != "/v1.0/users" or "issuerAssignedId" not in call.query:
        return None
    from urllib.parse import unquote_plus

    query = unquote_plus(call.query)
    return query.split("issuerAssignedId eq '", 1)[1].split("'", 1)[0]


def blind_resends(calls: list[WireCall]) -> list[str]:
    """Identities POSTed again after an ambiguous answer with no identity lookup in between."""
    unresolved: set[str] = set()
    offenders: list[str] = []
    for call in calls:
        email = looked_up(call)
        if email is not None:
            unresolved.discard(email)
            continue
        if call.method == "POST" and call.path.endswith("/$batch"):
            emails = batch_emails(call)
            offenders += [e for e in emails if e in unresolved]
            if call.status is None or call.status in AMBIGUOUS:
                unresolved.update(emails)
    return offenders


async def test_whole_batch_504_after_commit_is_resolved_by_lookup_never_resent(start_emulator) -> None:
    """R28: whole-$batch 504 after commit, 504/503/500 before, item-level 504-after-commit together."""
    emulator = start_emulator(time_scale=20, seed=11, tenant=TENANT)
    set_faults(emulator, **{"batch-504-after-commit": 0.2, "batch-504": 0.05, "batch-503": 0.05,
                            "504-after-commit": 0.1, "500": 0.05})  # fmt: skip
    wire = RecordingTransport()
    directory = directory_for(emulator.base_url, wire, max_transient_retries=12, inline_retry_budget_s=120.0)
    users = [target(n) for n in range(200)]
    try:
        results = await directory.create_users(users)
    finally:
        await directory.close()

    injected = emulator_stats(emulator)["faults"]["injected"]
    assert injected.get("batch-504-after-commit", 0) > 0 and injected.get("504-after-commit", 0) > 0, injected
    by_status: dict[str, int] = {}
    for result in results:
        by_status[result.status] = by_status.get(result.status, 0) + 1
    assert by_status == {"created": 200}, f"misclassified: {by_status}"
    assert all(r.object_id for r in results)
    assert emulator_stats(emulator)["users"] == 200, "duplicates in the tenant"
    assert directory.resolved_by_lookup > 0, "no committed write was resolved by lookup"
    batch_posts = [c for c in wire.calls if c.method == "POST" and c.path.endswith("/$batch")]
    assert len(batch_posts) == directory.requests_sent, "the SDK re-sent a $batch (a second retry layer)"
    assert blind_resends(wire.calls) == [], "re-sent without an identity lookup"


async def test_504_on_post_extension_properties_is_not_reposted_by_the_sdk(start_emulator) -> None:
    """The `make demo` warning's cause: a 504 after commit on POST extensionProperties, re-POSTed → 400."""
    emulator = start_emulator(time_scale=20, tenant=TENANT)
    set_faults(emulator, **{"504-after-commit": 1.0})
    wire = RecordingTransport()
    directory = directory_for(emulator.base_url, wire)
    compact = DEFAULT_EXTENSIONS_APP_ID.replace("-", "")
    names = {f"extension_{compact}_legacyId": "String", f"extension_{compact}_toBeMigrated": "Boolean"}
    try:
        await directory.ensure_extension_properties(names)  # raised ODataError 400 with the SDK's RetryHandler
    finally:
        await directory.close()
    posts = [c for c in wire.calls if c.method == "POST" and c.path.endswith("/extensionProperties")]
    assert sorted(p.body["name"] for p in posts) == ["legacyId", "toBeMigrated"], "a POST was sent twice"
    assert all(p.status == 504 for p in posts)


async def test_run_under_whole_batch_faults_creates_everyone_once_as_created(start_emulator, tmp_path) -> None:
    """R28 through `run`: whole-$batch 504-after-commit / 504 / 503 → duplicates 0, misclassified 0."""
    from cli.run_cmd import execute_run
    from tests.conftest import SAMPLE, settings_for
    from tests.spine.test_run_against_emulator import VALID_SAMPLE_USERS, legacy_ids_in_tenant, report_of

    emulator = start_emulator(time_scale=20, seed=3)
    set_faults(emulator, **{"batch-504-after-commit": 0.2, "batch-504": 0.05, "batch-503": 0.05})
    run = await execute_run(SAMPLE, "jsonl", settings_for(emulator, tmp_path), show_progress=False)
    counts = report_of(tmp_path, run)["counts"]
    assert emulator_stats(emulator)["faults"]["injected"].get("batch-504-after-commit", 0) > 0
    assert (counts["created"], counts["already_present"], counts["failed"]) == (VALID_SAMPLE_USERS, 0, 0), counts
    ids = legacy_ids_in_tenant(emulator)
    assert len(ids) == len(set(ids)) == VALID_SAMPLE_USERS, "duplicates in the tenant"
