"""The one check of who is calling and whether their role may: used by every HTTP
function and by the gateway, so that a function reached directly refuses just the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from shared.auth.principal import Principal, Role
from shared.auth.tokens import InvalidToken, TokenVerifier
from shared.errors import Problem

ACCESS_COOKIE = "access_token"
PASSWORD_CHANGE_REQUIRED = "Password change required: set a new one with POST /api/auth/password."  # noqa: S105


class LiveCheck(Protocol):
    """Asks the auth function whether a verified token still matches its user's state."""

    async def check(self, token: str) -> None: ...


def bearer_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The access token from `Authorization: Bearer`, else the browser's HttpOnly cookie."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return cookies.get(ACCESS_COOKIE) or None


async def authenticate(
    verifier: TokenVerifier,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    *,
    live: LiveCheck | None = None,
) -> Principal:
    """The caller, from a verified token. With `live` (the gateway), the user's current
    state is checked too, so that a role change or deactivation bites on the next request
    instead of when the token expires; the signature is checked first, so forged tokens
    never cost the auth function a request."""
    token = bearer_token(headers, cookies)
    if not token:
        raise Problem(401, "Authentication required.", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await verifier.verify(token)
    except InvalidToken as exc:
        raise Problem(
            401,
            f"Invalid access token: {exc}.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    if live is not None:
        await live.check(token)
    return principal


def authorize(principal: Principal, allowed: frozenset[Role]) -> None:
    if principal.password_change_required:
        # The bootstrap admin's first password was seen by a log or a Secret: nothing else
        # may happen until it is replaced.
        raise Problem(403, PASSWORD_CHANGE_REQUIRED, title="Password change required")
    if principal.role not in allowed:
        raise Problem(403, "Your role may not do this.")
