"""Reconcile: the legacy export (mapped as the import maps it) against the tenant, user by user, field by field.

`reconcile_export` streams both sides through an on-disk work store (shared/reconcile/spill.py) and returns a
ReconcileResult; shared/reconcile/report.py writes it as HTML and JSON. Read-only on the tenant and the ledger.
"""

from __future__ import annotations

from shared.reconcile.compare import ReconcileInputs, reconcile_export
from shared.reconcile.model import Difference, DifferenceKind, ReconcileResult

__all__ = ["Difference", "DifferenceKind", "ReconcileInputs", "ReconcileResult", "reconcile_export"]
