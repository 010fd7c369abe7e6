"""import_chunk's MFA step over fake ports: methods land once, in Graph's slots, with a state per method."""

from __future__ import annotations

from typing import Any

from shared.handlers.import_chunk import import_chunk
from shared.messages import ChunkImported, ImportChunk
from shared.outcomes import MethodState
from shared.reasons import Reason
from shared.records import ObjectIdentity
from tests.fakes import FakePorts
from tests.handlers.conftest import WORKFLOW, given_chunk, user

PHONES: list[dict[str, Any]] = [
    {"type": "phone", "value": "+14255550100"},
    {"type": "phone", "value": "+442079460958"},
    {"type": "email", "value": "backup@example.com"},
    {"type": "totp", "value": "JBSWY3DPEHPK3PXP"},
]


def states(fake: FakePorts, legacy_id: str) -> dict[str, tuple[MethodState, str | None]]:
    entry = fake.ledger.entries[("jsonl", legacy_id)]
    return {key: (m.state, m.code) for key, m in entry.methods.items()}


async def deliver_until_done(fake: FakePorts, command: ImportChunk) -> tuple[ChunkImported, int]:
    for deliveries in range(1, WORKFLOW.max_attempts + 1):
        (out,) = await import_chunk(command, fake.ports, WORKFLOW)
        if isinstance(out.payload, ChunkImported):
            return out.payload, deliveries
        assert isinstance(out.payload, ImportChunk)
        command = out.payload
    raise AssertionError("the chunk never finished")


async def test_phones_go_mobile_then_alternate_in_graphs_format_and_totp_is_skipped_with_its_reason(
    fake: FakePorts,
) -> None:
    command = await given_chunk(fake, [user("u1", mfa=PHONES)])

    await deliver_until_done(fake, command)

    object_id = fake.ledger.entries[("jsonl", "u1")].object_id
    assert object_id is not None
    assert fake.directory.methods[object_id] == {
        "mobile": "+1 4255550100",
        "alternateMobile": "+44 2079460958",
        "email": "backup@example.com",
    }
    # one $batch round for the mobile and the email, the alternateMobile a round later (Entra wants the mobile first)
    assert [slot for _, slot in fake.directory.method_posts] == ["mobile", "email", "alternateMobile"]
    assert fake.directory.method_calls == [2, 1]
    assert states(fake, "u1") == {
        "phone:mobile": (MethodState.IMPORTED, None),
        "phone:alternateMobile": (MethodState.IMPORTED, None),
        "email": (MethodState.IMPORTED, None),
        "totp#1": (MethodState.SKIPPED, Reason.MFA_TOTP_NOT_IMPORTABLE),
    }


async def test_a_redelivered_chunk_posts_no_method_again(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user("u1", mfa=PHONES), user("u2", mfa=PHONES[:1])])
    await deliver_until_done(fake, command)
    posts = len(fake.directory.method_posts)

    await deliver_until_done(fake, command)

    assert posts == 4 and len(fake.directory.method_posts) == posts


async def test_a_504_after_commit_is_read_back_as_imported_not_sent_twice(fake: FakePorts) -> None:
    fake.directory.method_script = ["commit-then-504"]
    command = await given_chunk(fake, [user("u1", mfa=PHONES[:2])])

    await deliver_until_done(fake, command)

    assert [slot for _, slot in fake.directory.method_posts] == ["mobile", "alternateMobile"]
    assert states(fake, "u1") == {
        "phone:mobile": (MethodState.IMPORTED, None),
        "phone:alternateMobile": (MethodState.IMPORTED, None),
    }


async def test_a_chunks_methods_go_out_batched_two_rounds_not_one_request_per_method(fake: FakePorts) -> None:
    command = await given_chunk(fake, [user(f"u{i}", mfa=PHONES) for i in range(30)])

    await deliver_until_done(fake, command)

    assert fake.directory.method_calls == [60, 30]  # the adapter splits each call into $batch requests of 20
    assert len(fake.directory.method_posts) == 90
    assert all(len(held) == 3 for held in fake.directory.methods.values()) and len(fake.directory.methods) == 30


async def test_a_whole_batch_504_after_commit_is_read_back_as_imported_and_nothing_is_posted_twice(
    fake: FakePorts,
) -> None:
    fake.directory.method_script = ["batch-commit-then-504", "batch-commit-then-504"]  # both rounds lose their answer
    command = await given_chunk(fake, [user(f"u{i}", mfa=PHONES) for i in range(5)])

    await deliver_until_done(fake, command)

    assert len(fake.directory.method_posts) == 15, fake.directory.method_posts
    for i in range(5):
        assert states(fake, f"u{i}")["phone:mobile"] == (MethodState.IMPORTED, None)
        assert states(fake, f"u{i}")["phone:alternateMobile"] == (MethodState.IMPORTED, None)
        assert states(fake, f"u{i}")["email"] == (MethodState.IMPORTED, None)


async def test_one_lost_item_among_added_ones_is_read_back_not_resent(fake: FakePorts) -> None:
    # u0's mobile lands but its answer is lost; u0's email doesn't land at all
    fake.directory.method_script = ["commit-then-504", "unavailable"]
    command = await given_chunk(fake, [user(f"u{i}", mfa=PHONES[:1] + PHONES[2:3]) for i in range(3)])

    await deliver_until_done(fake, command)

    posts = [slot for object_id, slot in fake.directory.method_posts]
    assert sorted(posts) == ["email"] * 4 + ["mobile"] * 3  # only the email that never landed went again
    assert all(set(states(fake, f"u{i}").values()) == {(MethodState.IMPORTED, None)} for i in range(3))


async def test_a_throttled_method_continues_later_and_the_user_is_not_created_again(fake: FakePorts) -> None:
    fake.directory.method_script = ["throttled"]
    command = await given_chunk(fake, [user("u1", mfa=PHONES[:1])])

    result, deliveries = await deliver_until_done(fake, command)

    assert deliveries == 2 and result.created == 1
    assert fake.directory.sent == ["u1"]
    assert states(fake, "u1") == {"phone:mobile": (MethodState.IMPORTED, None)}


async def test_on_an_account_already_there_a_taken_slot_is_skipped_and_our_value_is_already_present(
    fake: FakePorts,
) -> None:
    fake.directory.add_existing(
        ObjectIdentity(
            sign_in_type="emailAddress", issuer="contoso.onmicrosoft.com", issuer_assigned_id="u1@example.com"
        ),
        "someone-elses",
    )
    fake.directory.methods["someone-elses"] = {"mobile": "+1 4255559999", "email": "backup@example.com"}
    fake.directory.method_script = ["read-unavailable"]  # the first read-back fails: the user's methods stay open
    command = await given_chunk(fake, [user("u1", mfa=PHONES[:1] + PHONES[2:3])])

    result, deliveries = await deliver_until_done(fake, command)

    assert deliveries == 2 and result.already_present == 1
    assert fake.directory.method_posts == []
    assert states(fake, "u1") == {
        "phone:mobile": (MethodState.SKIPPED, Reason.MFA_SLOT_TAKEN),
        "email": (MethodState.ALREADY_PRESENT, None),
    }
