"""Decommission: the checklist that says when the legacy system, the vault and the JIT endpoint can go.

`run_checklist` verifies every item against the migration's state and returns one CheckResult per item,
each with its evidence; shared/decommission/archive.py writes the reports archive and its SHA-256 manifest.
"""

from __future__ import annotations

from shared.decommission.archive import verify_archive, write_archive
from shared.decommission.checks import CheckResult, DecommissionState, run_checklist

__all__ = ["CheckResult", "DecommissionState", "run_checklist", "verify_archive", "write_archive"]
