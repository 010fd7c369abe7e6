"""Every error type the migration raises on purpose, split into Transient (retry later) and Permanent (give up).

`Transient`: the same call may succeed later. A stage handler lets it propagate: the message is redelivered
(abandoned locally, redelivered by Service Bus) and dead-lettered after MAX_DELIVERY_COUNT deliveries.
`Permanent`: retrying cannot help. Report it with a reason code (a record), park the message (a poison
message), or stop with a one-line error naming what to fix (a file, a setting).

Transient
  RunNotFound          a chunk reported for a run the ledger has not stored yet (both ledgers; the chunk is kept)
  LedgerContention     a run's tally kept changing under concurrent trackers (Table ledger)
  QuotaContention      a shared write-quota bucket kept changing under concurrent instances (Table quota store)
  SyncStoreContention  a sync store row (poll lease, counter, drop record) kept changing under concurrent instances
Permanent
  PoisonMessage        a delivered message no stage can handle: bad JSON, unknown or wrong type, oversized
  OversizedMessage     a producer built an envelope above MAX_MESSAGE_BYTES (send a claim check instead)
  StateUnavailable     the local state's disk is full, read-only or corrupt (shared.adapters.local.db)
  StateInUse           another process holds the state directory's run lock (shared.adapters.local.files)
  OtherRunUnfinished   `run` on a changed export while another run is unfinished (cli.runs)
  UnknownRun           --resume/--abandon named a run the state doesn't hold or can't take that choice (cli.runs)
  ExtensionTypeConflict the tenant already holds an extension property the mapping types differently
                       (shared.adapters.graph.directory; raised before any user is created)
  GraphAccessDenied    Graph answered 401/403 or no token could be had (shared.adapters.graph.errors)

No text of any error here quotes a message body, a record's content or a secret.
"""

from __future__ import annotations


class MigrationError(Exception):
    """Base of every error below; catch Transient or Permanent rather than this."""


class Transient(MigrationError):
    """Retry later: the condition is expected to clear (contention, ordering, a dependency that is down)."""


class Permanent(MigrationError):
    """Retrying cannot help: report with a reason code, park the message, or stop and name what to fix."""


class PoisonMessage(Permanent):
    """A delivered message that can never be handled. `code` and `reason` hold no message content."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class OversizedMessage(Permanent, ValueError):
    """An envelope whose body exceeds MAX_MESSAGE_BYTES: put the data in a blob and send a reference."""


class RunNotFound(Transient, LookupError):
    """record_chunk or a query named a run that save_run never stored (yet): redeliver later."""


class LedgerContention(Transient, RuntimeError):
    """A run's tally kept changing under us: let the message be redelivered."""


class QuotaContention(Transient, RuntimeError):
    """A shared write-quota bucket kept changing under us: let the message be redelivered."""


class SyncStoreContention(Transient, RuntimeError):
    """A sync store row (lease, counter, drop record) kept changing under us: redeliver, nothing was lost."""


class ExtensionTypeConflict(Permanent, ValueError):
    """An extension property exists in the tenant with another dataType than the mapping gives it.

    One line naming the property, both types and the fix; raised by the plan stage before any user is sent.
    """

    def __init__(self, name: str, tenant_type: str, wanted: str, attribute: str) -> None:
        super().__init__(
            f"extension property {name} is {tenant_type} in the tenant but the mapping makes {attribute!r} "
            f"{wanted}: declare [attributes.{attribute}] type = \"{tenant_type}\" in the mapping profile "
            f"(records that don't fit are then rejected alone), or map it to another name with "
            f"target.attribute_renames"
        )
        self.name = name
        self.tenant_type = tenant_type
        self.wanted = wanted
