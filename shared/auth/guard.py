"""The one check of who is calling and whether their role may: used by every HTTP
function and by the gateway, so that a function reached directly refuses just the same."""

from __future__ import annotations

from collections.abc import Mapping

from shared.auth.principal import Principal, Role
from shared.auth.tokens import InvalidToken, TokenVerifier
from shared.errors import Problem

ACCESS_COOKIE = "access_token"


def bearer_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The access token from `Authorization: Bearer`, else the browser's HttpOnly cookie."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return cookies.get(ACCESS_COOKIE) or None


async def authenticate(
    verifier: TokenVerifier, headers: Mapping[str, str], cookies: Mapping[str, str]
) -> Principal:
    token = bearer_token(headers, cookies)
    if not token:
        raise Problem(401, "Authentication required.", headers={"WWW-Authenticate": "Bearer"})
    try:
        return await verifier.verify(token)
    except InvalidToken as exc:
        raise Problem(
            401,
            f"Invalid access token: {exc}.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


def authorize(principal: Principal, allowed: frozenset[Role]) -> None:
    if principal.role not in allowed:
        raise Problem(403, "Your role may not do this.")
