"""What each long-tail policy writes to a user in Entra External ID (sources in docs/longtail.md).

* reset: a new random password with `passwordProfile.forceChangePasswordNextSignIn: true` — nobody knows the
  password, so the user goes through self-service password reset (email one-time passcode) and sets one.
* email-otp: the user's email registered as an email authentication method (POST
  /users/{id}/authentication/emailMethods); they sign in through the email one-time passcode of SSPR.
* disable: `accountEnabled: false` (sign-in blocked; the account and its data stay).
Every policy also sets the JIT flag to false: the hash is gone, the JIT endpoint has nothing to verify.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

from shared.mapping import _random_password

Policy = Literal["reset", "email-otp", "disable"]
POLICIES: tuple[str, ...] = get_args(Policy)


def policy_patch(policy: Policy, flag: str, random_password: Callable[[], str] = _random_password) -> dict[str, Any]:
    """The PATCH /users/{id} body for `policy`. Holds a password for `reset`: never log it."""
    body: dict[str, Any] = {flag: False}
    if policy == "reset":
        body["passwordProfile"] = {"password": random_password(), "forceChangePasswordNextSignIn": True}
    elif policy == "disable":
        body["accountEnabled"] = False
    return body
