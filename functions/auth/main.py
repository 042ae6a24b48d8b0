"""The auth function: login, the caller's identity, and the public keys (JWKS)."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.auth import store
from functions.auth.settings import AuthSettings
from shared.auth.passwords import verify_password
from shared.auth.principal import ALL_ROLES, Principal
from shared.auth.tokens import TokenIssuer, load_private_key
from shared.contracts.auth import LoginIn
from shared.errors import Problem
from shared.http import PUBLIC, HttpFunction, RequestContext, Route
from shared.logs import configure_logging
from shared.runtime import Runtime

settings = AuthSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)
issuer = TokenIssuer(
    load_private_key(settings.auth_signing_key.get_secret_value()),
    issuer=settings.auth_issuer,
    audience=settings.auth_audience,
    ttl_seconds=settings.access_token_ttl_seconds,
)


def _user_json(user: store.UserRecord) -> dict[str, str]:
    return {"id": str(user.id), "username": user.username, "role": user.role.value}


async def _login(ctx: RequestContext) -> dict[str, object]:
    body = await ctx.body(LoginIn)
    async with await ctx.unit_of_work() as uow:
        user = await store.find_by_username(uow.conn, body.username.strip().lower())
    # Verify even for an unknown user (against a dummy hash): failure takes the same time.
    ok = verify_password(user.password_hash if user else None, body.password)
    if not ok or user is None or not user.active:
        raise Problem(401, "Usuário ou senha inválidos.", headers={"WWW-Authenticate": "Bearer"})
    token = issuer.issue(Principal(str(user.id), user.username, user.role))
    return {
        "access_token": token.token,
        "token_type": "bearer",
        "expires_in": token.expires_in,
        "user": _user_json(user),
    }


async def _me(ctx: RequestContext) -> dict[str, str]:
    async with await ctx.unit_of_work() as uow:
        user = await store.find_by_id(uow.conn, ctx.user.user_id)
    if user is None or not user.active:
        raise Problem(401, "This user no longer exists or is disabled.")
    return _user_json(user)


async def _jwks(ctx: RequestContext) -> Response:
    return JSONResponse(issuer.jwks(), headers={"Cache-Control": "public, max-age=60"})


_auth_fn = HttpFunction(
    runtime,
    [
        Route("POST", "/api/auth/login", _login, PUBLIC),
        Route("GET", "/api/me", _me, ALL_ROLES),
        Route("GET", "/.well-known/jwks.json", _jwks, PUBLIC),
    ],
)


@functions_framework.aio.http
async def auth(request: Request) -> Response:
    return await _auth_fn(request)
