"""The tenant's just-in-time migration configuration: custom authentication extensions, OnPasswordSubmit
listeners (by id, as Graph returned them) and the extension apps' encryption certificates (by app object id and
keyId). Kept in memory; `callout_config` fills it through Graph, `signin_sim` reads it at sign-in time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography import x509


@dataclass
class CalloutRegistry:
    """The tenant's custom extensions, listeners and extension-app encryption certificates."""

    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    listeners: dict[str, dict[str, Any]] = field(default_factory=dict)
    certificates: dict[tuple[str, str], x509.Certificate] = field(default_factory=dict)  # (app object id, keyId)

    def reset(self) -> None:
        self.extensions.clear()
        self.listeners.clear()
        self.certificates.clear()

    def listener_for(self, app_id: str | None) -> dict[str, Any] | None:
        """The OnPasswordSubmit listener that applies to a sign-in into `app_id` (an empty list: all apps)."""
        for listener in self.listeners.values():
            included = listener.get("conditions", {}).get("applications", {}).get("includeApplications") or []
            ids = {str(a.get("appId", "")).lower() for a in included if isinstance(a, dict)}
            if not ids or (app_id is not None and app_id.lower() in ids):
                return listener
        return None
