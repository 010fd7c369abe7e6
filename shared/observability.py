"""Azure Monitor telemetry, switched on only where APPLICATIONINSIGHTS_CONNECTION_STRING is set.

Tests and local runs never set it, so they emit nothing. Log records pass through the same logging
calls as everywhere else; nothing here adds message bodies or secrets to them.
"""

from __future__ import annotations

from shared.config import Settings


def configure_azure_monitor(settings: Settings | None = None) -> bool:
    settings = settings or Settings()
    if settings.APPLICATIONINSIGHTS_CONNECTION_STRING is None:
        return False
    from azure.monitor.opentelemetry import configure_azure_monitor as configure

    configure(connection_string=settings.APPLICATIONINSIGHTS_CONNECTION_STRING.get_secret_value())
    return True
