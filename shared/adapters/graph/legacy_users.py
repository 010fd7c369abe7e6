"""A live Azure AD B2C / Entra tenant as a legacy source: its users read through Microsoft Graph.

Pages through GET /users ($select of the fields the profile reads, `identities` included; up to 999
per page) with msgraph-sdk, in constant memory (one page); each user is mapped by the `b2c` reader's
`graph_user`, and `line` is the user's position in the listing. Used when the export argument of a
`--source b2c` run or plan is a Graph base URL (https://graph.microsoft.com, or the emulator's
http://127.0.0.1:port).

`GraphLegacyUsers.users` is the async read the run's plan stage iterates inside its handler (the
`LegacyUsers` port); `read_b2c_live` is the same read for synchronous callers (`ciam-migrate plan`),
on a private event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

from shared.sources.b2c import graph_url_of, graph_user
from shared.sources.base import SourceItem, SourceOptions, UnreadableExport
from shared.sources.fieldmap import FieldMap

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


class GraphLegacyUsers:
    """The LegacyUsers port: a `b2c` export named by a Graph URL is read live."""

    def reads(self, source: str, export_ref: str) -> bool:
        return source == "b2c" and graph_url_of(export_ref) is not None

    def users(self, export_ref: str, options: SourceOptions) -> AsyncIterator[SourceItem]:
        graph_url = graph_url_of(export_ref)
        if graph_url is None:
            raise UnreadableExport(export_ref, None, "not a Graph URL")
        return graph_users(graph_url, options)


async def graph_users(graph_url: str, options: SourceOptions) -> AsyncGenerator[SourceItem, None]:
    from shared.adapters.graph.client import make_graph_client

    fieldmap = FieldMap(options)
    providers = options.identity_providers
    client = make_graph_client(graph_url, options.graph_app_id)
    position = 0
    try:
        page = await first_users_page(client, SELECT + list(options.graph_extensions))
        while page is not None:
            for user in page.value or ():
                position += 1
                yield graph_user(position, as_graph_json(user), fieldmap, providers)
            next_link = page.odata_next_link
            page = await client.users.with_url(next_link).get() if next_link else None
    except UnreadableExport:
        raise
    except Exception as exc:  # the SDK raises many types; the user needs one line, not a traceback
        raise UnreadableExport(
            graph_url, position or None, f"Graph read failed: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None


def read_b2c_live(graph_url: str, options: SourceOptions) -> Iterator[SourceItem]:
    """graph_users for a caller without an event loop of its own (not inside a running loop)."""
    loop = asyncio.new_event_loop()
    users = graph_users(graph_url, options)
    try:
        while True:
            try:
                item = loop.run_until_complete(anext(users))
            except StopAsyncIteration:
                return
            yield item
    finally:
        loop.run_until_complete(users.aclose())
        loop.close()


async def first_users_page(client: Any, select: list[str]) -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=select, top=999)
    return await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))


def as_graph_json(user: Any) -> dict[str, Any]:
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
