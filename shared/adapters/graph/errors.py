"""Permanent Graph errors: retrying cannot help, so the run stops at once with the cause and its fix.

GraphAccessDenied: Graph answered 401 (the token is refused: wrong tenant, app not registered there, bad
or expired credential) or 403 (a permission is missing or not consented), or the credential could not get
a token at all. str() is one line naming the app, the status and what to do; it never holds a token.
Hosts dead-letter the message on first delivery and record the cause on the run (no redelivery spin).
"""

from __future__ import annotations

from shared.errors import Permanent


class GraphAccessDenied(Permanent):
    """401/403 from Graph, or no token: permanent for this configuration."""

    def __init__(self, app_id: str, status: int | None, detail: str = "") -> None:
        self.app_id = app_id
        self.status = status
        if status == 403:
            fix = (f"app {app_id} lacks a Graph application permission{': ' + detail if detail else ''}; "
                   "grant it with admin consent (ciam-migrate doctor names which)")  # fmt: skip
        elif status == 401:
            fix = (f"Graph refused the token of app {app_id}: check --tenant is the external tenant and the app "
                   "is registered there, then run ciam-migrate doctor")  # fmt: skip
        else:
            fix = f"no token for app {app_id}{' (' + detail + ')' if detail else ''}; run ciam-migrate doctor"
        super().__init__(f"Graph {status or 'sign-in'}: {fix}")
