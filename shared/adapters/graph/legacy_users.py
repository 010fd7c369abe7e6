"""The `b2c` source, live: users read from an Azure AD B2C / Entra tenant through Microsoft Graph.

Pages through GET /users ($select of the fields the profile reads, `identities` included; up to 999
per page) with msgraph-sdk on a private event loop, so the reader stays a plain sync iterator in
constant memory (one page). `line` is the user's position in the listing. Used when the export
argument is a Graph base URL (https://graph.microsoft.com, or the emulator's http://127.0.0.1:port).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.sources.b2c import graph_user
from shared.sources.base import SourceItem, SourceOptions, UnreadableExport
from shared.sources.fieldmap import FieldMap

_URL = re.compile(r"^(https?):/+(.+)$")
SELECT = [
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mobilePhone",
    "accountEnabled",
    "createdDateTime",
    "identities",
    "otherMails",
]


def graph_url_of(path: Path | str) -> str | None:
    """The Graph base URL if `path` names one (pathlib folds '//' to '/': restore it), else None."""
    match = _URL.match(str(path))
    return f"{match.group(1)}://{match.group(2)}" if match else None


def read_b2c_live(graph_url: str, options: SourceOptions) -> Iterator[SourceItem]:
    from shared.adapters.graph.client import make_graph_client

    fieldmap = FieldMap(options)
    providers = options.identity_providers
    extensions = list(options.graph_extensions)
    client = make_graph_client(graph_url, options.graph_app_id)
    loop = asyncio.new_event_loop()
    position = 0
    try:
        page = loop.run_until_complete(_first_page(client, SELECT + extensions))
        while page is not None:
            for user in page.value or ():
                position += 1
                yield graph_user(position, _as_graph_json(user), fieldmap, providers)
            next_link = page.odata_next_link
            page = loop.run_until_complete(client.users.with_url(next_link).get()) if next_link else None
    except UnreadableExport:
        raise
    except Exception as exc:  # the SDK raises many types; the user needs one line, not a traceback
        raise UnreadableExport(
            graph_url, position or None, f"Graph read failed: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    finally:
        loop.close()


async def _first_page(client: Any, select: list[str]) -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=select, top=999)
    return await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))


def _as_graph_json(user: Any) -> dict[str, Any]:
    """The SDK's User model back into Graph's JSON shape, which graph_user() reads."""
    created = user.created_date_time
    data: dict[str, Any] = {
        "id": user.id,
        "displayName": user.display_name,
        "givenName": user.given_name,
        "surname": user.surname,
        "mail": user.mail,
        "mobilePhone": user.mobile_phone,
        "accountEnabled": user.account_enabled,
        "createdDateTime": created.isoformat() if created else None,
        "otherMails": user.other_mails,
        "identities": [
            {"signInType": i.sign_in_type, "issuer": i.issuer, "issuerAssignedId": i.issuer_assigned_id}
            for i in user.identities or ()
        ],
    }
    data.update({k: v for k, v in (user.additional_data or {}).items() if k.startswith("extension_")})
    return data
