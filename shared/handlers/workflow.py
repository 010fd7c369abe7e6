"""Workflow: the settings every handler needs, derived once from Settings (whose defaults are the only ones)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import Settings


@dataclass(frozen=True)
class Workflow:
    import_chunks_queue: str
    run_events_queue: str
    max_attempts: int
    quota_writes_per_s: float  # what utilisation is measured against
    quota_window_s: float  # over which Graph counts the per-app write quota (time-scaled for the emulator)
    extensions_app_id: str
    tenant: str
    group_assignments_queue: str = "group-assignments"
    # accept_export_drop: which blobs are export drops, and where their PlanExport goes
    export_plans_queue: str = "export-plans"
    blob_container: str = "migration"
    export_drops_prefix: str = "exports/"
    chunk_size: int = 500

    @classmethod
    def from_settings(cls, settings: Settings, apps: int) -> Workflow:
        quota = settings.WRITE_QUOTA
        per_app = quota.per_app / (quota.per_app_window_s / quota.time_scale)
        per_tenant = quota.per_tenant / (quota.per_tenant_window_s / quota.time_scale)
        return cls(
            import_chunks_queue=settings.IMPORT_CHUNKS_QUEUE,
            run_events_queue=settings.RUN_EVENTS_QUEUE,
            group_assignments_queue=settings.GROUP_ASSIGNMENTS_QUEUE,
            export_plans_queue=settings.EXPORT_PLANS_QUEUE,
            blob_container=settings.BLOB_CONTAINER,
            export_drops_prefix=settings.EXPORT_DROPS_PREFIX,
            chunk_size=settings.CHUNK_SIZE,
            max_attempts=settings.MAX_ATTEMPTS,
            quota_writes_per_s=min(per_app * max(apps, 1), per_tenant),
            quota_window_s=quota.per_app_window_s / quota.time_scale,
            extensions_app_id=settings.EXTENSIONS_APP_ID or "",
            tenant=settings.TENANT,
        )
