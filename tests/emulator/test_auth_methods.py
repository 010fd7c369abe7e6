"""Contract: phone and email authentication methods (graph docs api/authentication-post-phonemethods.md,
api/authentication-post-emailmethods.md)."""

from __future__ import annotations

from typing import Any

import pytest
from msgraph import GraphServiceClient
from msgraph.generated.models.authentication_phone_type import AuthenticationPhoneType
from msgraph.generated.models.email_authentication_method import EmailAuthenticationMethod
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.phone_authentication_method import PhoneAuthenticationMethod


async def test_phone_and_email_methods(graph: GraphServiceClient, create_user: Any) -> None:
    user = await create_user("mfa@example.com")
    methods = graph.users.by_user_id(user["id"]).authentication
    phone = await methods.phone_methods.post(
        PhoneAuthenticationMethod(phone_number="+1 2065555555", phone_type=AuthenticationPhoneType.Mobile)
    )
    assert phone is not None and phone.id == "3179e48a-750b-4051-897c-87b9720928f7"
    email = await methods.email_methods.post(EmailAuthenticationMethod(email_address="backup@example.com"))
    assert email is not None and email.email_address == "backup@example.com"
    phones = await methods.phone_methods.get()
    assert phones is not None and [p.phone_number for p in phones.value or []] == ["+1 2065555555"]
    with pytest.raises(ODataError) as duplicate:
        await methods.phone_methods.post(
            PhoneAuthenticationMethod(phone_number="+1 2065550000", phone_type=AuthenticationPhoneType.Mobile)
        )
    assert duplicate.value.response_status_code == 400


async def test_bad_phone_number_and_unknown_user(graph: GraphServiceClient, create_user: Any) -> None:
    user = await create_user("mfa2@example.com")
    with pytest.raises(ODataError) as bad:
        await graph.users.by_user_id(user["id"]).authentication.phone_methods.post(
            PhoneAuthenticationMethod(phone_number="2065555555", phone_type=AuthenticationPhoneType.Mobile)
        )
    assert bad.value.response_status_code == 400
    with pytest.raises(ODataError) as missing:
        await graph.users.by_user_id("00000000-0000-0000-0000-000000000000").authentication.email_methods.post(
            EmailAuthenticationMethod(email_address="x@example.com")
        )
    assert missing.value.response_status_code == 404
