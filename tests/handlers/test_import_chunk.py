"""import_chunk, branch by branch, over fake ports: given a ledger and a tenant, when a chunk is imported, then …

Every test calls the handler directly; nothing here does I/O. The promise each protects is its name.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.handlers.import_chunk import import_chunk
from shared.messages import ChunkImported, ImportChunk
from shared.outcomes import LedgerEntry, Outcome
from shared.records import ObjectIdentity
from tests.fakes import FakePorts
from tests.handlers.conftest import RUN, WORKFLOW, given_chunk, user


def outcomes(fake: FakePorts) -> dict[str, Outcome]:
    return {legacy_id: e.outcome for (_, legacy_id), e in fake.ledger.entries.items()}


def email_identity(legacy_id: str) -> ObjectIdentity:
    return ObjectIdentity(
        sign_in_type="emailAddress", issuer="contoso.onmicrosoft.com", issuer_assigned_id=f"{legacy_id}@example.com"
    )


async def continue_until_done(fake: FakePorts, command: ImportChunk) -> ChunkImported:
    """Deliver the chunk and each continuation it asks for, as the host would."""
    for _ in range(WORKFLOW.max_attempts):
        (out,) = await import_chunk(command, fake.ports, WORKFLOW)
        if isinstance(out.payload, ChunkImported):
            return out.payload
        assert isinstance(out.payload, ImportChunk)
        command = out.payload
    raise AssertionError("the chunk never finished")


async def test_new_users_are_created_once_and_each_jit_user_has_a_vaulted_hash(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1"), user("u2"), user("u3")])

    (out,) = await import_chunk(command, fake.ports, WORKFLOW)

    assert out.payload == ChunkImported(run_id=RUN, chunk_id="c0000", created=3)
    assert out.id == f"{RUN}:imported:c0000"
    assert fake.directory.sent == ["u1", "u2", "u3"]
    assert outcomes(fake) == {"u1": Outcome.CREATED, "u2": Outcome.CREATED, "u3": Outcome.CREATED}
    vaulted = {c.legacy_id for c in fake.vault.credentials.values()} if fake.vault else set()
    assert vaulted == {"u1", "u2", "u3"}


async def test_the_intent_is_durable_before_any_create_is_sent(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1"), user("u2")])

    await import_chunk(command, fake.ports, WORKFLOW)

    first_write = fake.ledger.writes[0]
    assert {(e.legacy_id, e.outcome, e.create_sent) for e in first_write} == {
        ("u1", Outcome.PENDING, True),
        ("u2", Outcome.PENDING, True),
    }


async def test_a_redelivered_finished_chunk_sends_nothing_and_reports_the_same_figures(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1"), user("u2")])
    (first,) = await import_chunk(command, fake.ports, WORKFLOW)

    (again,) = await import_chunk(command, fake.ports, WORKFLOW)

    assert again == first
    assert fake.directory.sent == ["u1", "u2"]


async def test_a_user_an_earlier_run_created_counts_as_already_present_and_is_not_sent(fake: FakePorts) -> None:
    await continue_until_done(fake, await given_chunk(fake, [user("u1")], run_id="jsonl-abc-00"))
    command = await given_chunk(fake, [user("u1"), user("u2")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.already_present) == (1, 1)
    assert fake.directory.sent == ["u1", "u2"]  # u1 once, by the first run


async def test_someone_elses_user_is_already_present_and_gets_no_hash(fake: FakePorts) -> None:
    fake.directory.add_existing(email_identity("u1"), object_id="theirs")
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.already_present) == (0, 1)
    assert fake.ledger.entries[("jsonl", "u1")].object_id == "theirs"
    assert fake.vault is not None and fake.vault.credentials == {}


async def test_a_conflict_after_our_own_ambiguous_write_is_created_and_vaulted(fake: FakePorts) -> None:
    fake.directory.script("u1", "commit-then-conflict")
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.already_present) == (1, 0)
    assert fake.vault is not None and {c.legacy_id for c in fake.vault.credentials.values()} == {"u1"}


async def test_a_throttled_user_continues_after_retry_after_with_a_new_message_id(fake: FakePorts) -> None:
    fake.directory.script("u2", "throttled")
    command = await given_chunk(fake, [user("u1"), user("u2")])

    (out,) = await import_chunk(command, fake.ports, WORKFLOW)

    assert isinstance(out.payload, ImportChunk) and out.payload.attempt == 1
    assert out.id == f"{RUN}:import:c0000:attempt-1"
    assert out.not_before == fake.clock.now() + timedelta(seconds=3.0)
    assert outcomes(fake) == {"u1": Outcome.CREATED, "u2": Outcome.PENDING}
    (done,) = await import_chunk(out.payload, fake.ports, WORKFLOW)
    assert done.payload == ChunkImported(run_id=RUN, chunk_id="c0000", created=2)
    assert fake.directory.sent == ["u1", "u2", "u2"]  # only the throttled user is re-sent


async def test_a_user_whose_create_committed_before_a_429_is_ours_and_vaulted(fake: FakePorts) -> None:
    # The lost-hash report: 504 after commit, the retry throttled, the next attempt meets our own user.
    fake.directory.script("u1", "commit-then-throttled")
    command = await given_chunk(fake, [user("u1"), user("u2")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.already_present) == (2, 0)
    assert fake.vault is not None and {c.legacy_id for c in fake.vault.credentials.values()} == {"u1", "u2"}
    assert fake.directory.created_by("u1") == [fake.ledger.entries[("jsonl", "u1")].object_id]


async def test_a_create_sent_by_an_earlier_run_that_failed_is_still_ours(fake: FakePorts) -> None:
    fake.directory.script("u1", "commit-then-transient", "throttled", "throttled", "throttled")
    fake.directory.lookups_fail = True  # Graph can't show the user when the first run gives up
    await continue_until_done(fake, await given_chunk(fake, [user("u1")], run_id="jsonl-abc-00"))
    assert outcomes(fake) == {"u1": Outcome.FAILED}
    fake.directory.lookups_fail = False

    result = await continue_until_done(fake, await given_chunk(fake, [user("u1")]))

    assert (result.created, result.already_present) == (1, 0)
    assert fake.vault is not None and {c.legacy_id for c in fake.vault.credentials.values()} == {"u1"}


async def test_a_deferred_row_from_an_older_version_counts_as_sent(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1")])
    fake.directory.add_existing(email_identity("u1"), object_id="ours-from-before")
    await fake.ledger.record(
        [LedgerEntry(source="jsonl", legacy_id="u1", run_id=RUN, outcome=Outcome.DEFERRED, updated_at=fake.clock.now())]
    )

    result = await continue_until_done(fake, command)

    assert (result.created, result.already_present) == (1, 0)


async def test_a_conflict_not_yet_visible_to_lookups_stays_open_then_resolves(fake: FakePorts) -> None:
    fake.directory.script("u1", "commit-then-conflict")
    fake.directory.lookup_lag = 5  # more misses than one attempt's lookups
    command = await given_chunk(fake, [user("u1")])

    (out,) = await import_chunk(command, fake.ports, WORKFLOW)
    assert isinstance(out.payload, ImportChunk)
    assert outcomes(fake) == {"u1": Outcome.PENDING}
    fake.directory.lookup_lag = 0
    fake.directory.users[("contoso.onmicrosoft.com", "u1@example.com")].lookups_until_visible = 0

    result = await continue_until_done(fake, out.payload)

    assert result.created == 1 and len(fake.directory.created_by("u1")) == 1


async def test_a_create_answered_without_an_id_is_linked_by_lookup(fake: FakePorts) -> None:
    fake.directory.script("u1", "created-without-id")
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert result.created == 1
    assert fake.ledger.entries[("jsonl", "u1")].object_id == fake.directory.created_by("u1")[0]
    assert fake.vault is not None and len(fake.vault.credentials) == 1


async def test_graph_refusing_a_user_fails_it_with_graphs_code(fake: FakePorts) -> None:
    fake.directory.script("u1", "rejected")
    command = await given_chunk(fake, [user("u1"), user("u2")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.failed) == (1, 1)
    assert fake.ledger.entries[("jsonl", "u1")].code == "Request_BadRequest"


async def test_a_user_throttled_on_every_attempt_fails_as_graph_unavailable(fake: FakePorts) -> None:
    fake.directory.script("u1", *["throttled"] * WORKFLOW.max_attempts)
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert result.failed == 1
    entry = fake.ledger.entries[("jsonl", "u1")]
    assert (entry.outcome, entry.code) == (Outcome.FAILED, "graph_unavailable")
    assert len(fake.directory.sent) == WORKFLOW.max_attempts


async def test_an_unanswered_create_on_the_last_attempt_that_committed_is_created(fake: FakePorts) -> None:
    fake.directory.script("u1", *["throttled"] * (WORKFLOW.max_attempts - 1), "commit-then-transient")
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.failed) == (1, 0)
    assert fake.vault is not None and len(fake.vault.credentials) == 1


async def test_an_unresolvable_conflict_on_the_last_attempt_fails_as_conflict_unresolved(fake: FakePorts) -> None:
    fake.directory.add_existing(email_identity("u1"))
    fake.directory.lookups_fail = True
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert result.failed == 1
    assert fake.ledger.entries[("jsonl", "u1")].code == "conflict_unresolved"


async def test_a_record_the_mapping_now_refuses_fails_with_its_reason_and_is_not_sent(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1", email=None), user("u2")])

    result = await continue_until_done(fake, command)

    assert (result.created, result.failed) == (1, 1)
    assert fake.ledger.entries[("jsonl", "u1")].code == "no_sign_in_identity"
    assert fake.directory.sent == ["u2"]


async def test_a_plaintext_entra_refuses_is_vaulted_as_a_derived_pbkdf2_hash(fake: FakePorts) -> None:
    weak, strong = {"plaintext": "short"}, {"plaintext": "Str0ng-enough-Passw0rd!"}
    command = await given_chunk(fake, [user("weak", password=weak), user("strong", password=strong)])

    await continue_until_done(fake, command)

    assert fake.vault is not None
    (credential,) = fake.vault.credentials.values()
    assert credential.legacy_id == "weak"
    assert credential.password_hash.algorithm == "pbkdf2-sha256"
    assert credential.password_hash.value.get_secret_value() != "short"


async def test_users_without_a_password_go_to_reset_and_get_no_hash(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1", password=None)])

    result = await continue_until_done(fake, command)

    assert result.created == 1
    assert fake.vault is not None and fake.vault.credentials == {}


async def test_without_a_vault_the_import_still_creates_users(fake: FakePorts) -> None:
    fake.vault = None
    command = await given_chunk(fake, [user("u1")])

    result = await continue_until_done(fake, command)

    assert result.created == 1


async def test_a_chunk_of_an_abandoned_run_is_dropped_unsent(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1")])
    run = fake.ledger.runs[RUN]
    fake.ledger.runs[RUN] = run.model_copy(update={"abandoned_at": fake.clock.now()})

    assert await import_chunk(command, fake.ports, WORKFLOW) == []
    assert fake.directory.sent == [] and fake.ledger.entries == {}


async def test_a_chunk_of_an_unknown_run_is_an_error_naming_the_run(fake: FakePorts) -> None:
    with pytest.raises(LookupError, match="jsonl-nope"):
        await import_chunk(ImportChunk(run_id="jsonl-nope", source="jsonl", chunk_id="c0"), fake.ports, WORKFLOW)
