"""The auth function: login and sessions, users, the caller's identity, the public keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.auth import domain, service, store
from functions.auth.sessions import Sessions
from functions.auth.settings import AuthSettings
from shared.auth.approvals import APPROVAL_TTL_SECONDS, approval_claims
from shared.auth.guard import authenticate
from shared.auth.passwords import hash_password_async
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier, load_private_key
from shared.contracts import endpoints as api
from shared.contracts.auth import ApprovalIn, LoginIn, PasswordChangeIn, UserIn, UserOut, UserPatch
from shared.errors import Problem
from shared.events.auth import UserUpdated
from shared.http import HttpFunction, RequestContext, Route
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
    retired_jwks=settings.retired_keys(),
)
# The auth function checks tokens with its own keys: no request to itself.
runtime.verifier = TokenVerifier(
    StaticKeys(issuer.jwks()), issuer=settings.auth_issuer, audience=settings.auth_audience
)
SESSIONS = Sessions(
    domain.LoginLimit(
        settings.login_limit_per_username,
        settings.login_limit_per_address,
        settings.login_window,
        timedelta(seconds=settings.login_max_delay_seconds),
    ),
    refresh_ttl=settings.refresh_ttl,
    session_max_age=settings.session_max_age,
)
REFRESH_COOKIE = "acougue_refresh"
COOKIE_PATH = "/api/auth"
BAD_CREDENTIALS = "Usuário ou senha inválidos."


def _client_address(request: Request) -> str:
    """The browser's address, behind the proxies the settings trust (domain.client_address)."""
    return domain.client_address(
        request.headers.get("x-forwarded-for", ""),
        request.client.host if request.client else None,
        trusted_hops=settings.trusted_proxy_hops,
        trusted_networks=settings.proxy_networks(),
    )


def _secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip() == "https"


def _principal(user: store.UserRecord) -> Principal:
    return Principal(
        str(user.id),
        user.username,
        user.role,
        version=user.security_version,
        password_change_required=user.must_change_password,
    )


def _session_response(request: Request, user: store.UserRecord, refresh_token: str) -> Response:
    token = issuer.issue(_principal(user))
    response = JSONResponse(
        {
            "access_token": token.token,
            "token_type": "bearer",
            "expires_in": token.expires_in,
            "password_change_required": user.must_change_password,
            "user": {"id": str(user.id), "username": user.username, "role": user.role.value},
        },
        headers={"Cache-Control": "no-store"},
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=settings.refresh_token_ttl_seconds,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
    )
    return response


def _bad_credentials() -> Problem:
    return Problem(401, BAD_CREDENTIALS, headers={"WWW-Authenticate": "Bearer"})


async def _login(ctx: RequestContext) -> Response:
    body = await ctx.body(LoginIn)
    username = domain.normalize_username(body.username)[:80]
    address = _client_address(ctx.request)
    async with await ctx.unit_of_work() as uow:
        user = await SESSIONS.checked_credentials(uow.conn, username, body.password, address)
        if user is None:
            await uow.commit()
            raise _bad_credentials()
        token = await SESSIONS.open(uow.conn, user)
        await uow.commit()
    return _session_response(ctx.request, user, token)


def _expired_session() -> Problem:
    return Problem(401, "Sessão expirada. Entre novamente.", headers={"WWW-Authenticate": "Bearer"})


async def _refresh(ctx: RequestContext) -> Response:
    presented = ctx.request.cookies.get(REFRESH_COOKIE)
    if not presented:
        raise _expired_session()
    async with await ctx.unit_of_work() as uow:
        rotated = await SESSIONS.rotate(uow.conn, presented)
        await uow.commit()
    if rotated is None:
        raise _expired_session()
    user, token = rotated
    return _session_response(ctx.request, user, token)


async def _logout(ctx: RequestContext) -> Response:
    presented = ctx.request.cookies.get(REFRESH_COOKIE)
    if presented:
        async with await ctx.unit_of_work() as uow:
            record = await store.find_refresh(uow.conn, domain.hash_refresh_token(presented))
            if record is not None:
                await store.revoke_family(uow.conn, record.family_id)
                await uow.commit()
    response = Response(status_code=204)
    response.delete_cookie(
        REFRESH_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(ctx.request),
        samesite="strict",
    )
    return response


async def _me(ctx: RequestContext) -> dict[str, str]:
    async with await ctx.unit_of_work() as uow:
        user = await store.find_by_id(uow.conn, ctx.user.user_id)
    if user is None or not user.active:
        raise Problem(401, "This user no longer exists or is disabled.")
    return {"id": str(user.id), "username": user.username, "role": user.role.value}


async def _list_users(ctx: RequestContext) -> dict[str, object]:
    async with await ctx.unit_of_work() as uow:
        users = await store.list_users(uow.conn)
    return {"items": [service.user_out(u).model_dump(mode="json") for u in users]}


async def _create_user(ctx: RequestContext) -> UserOut:
    user = await service.new_user(await ctx.body(UserIn))
    await ctx.command(lambda uow: service.create_user(uow, user))
    return service.user_out(user)


async def _update_user(ctx: RequestContext) -> UserOut:
    patch = await ctx.body(UserPatch)
    updated = await ctx.command(lambda uow: service.update_user(uow, ctx.params["user_id"], patch))
    return service.user_out(updated)


async def _check(ctx: RequestContext) -> Response:
    """The gateway's per-request question: does this token's user still hold what it says?
    204 yes; 401 when the user is gone, disabled, or their stamp moved on (a new role,
    password, or deactivation since the token was signed). One primary-key read."""
    principal = await authenticate(runtime.verifier, ctx.request.headers, ctx.request.cookies)
    async with await ctx.unit_of_work() as uow:
        state = await store.session_state(uow.conn, principal.user_id)
    if state is None or not state[0] or principal.version is None or state[1] != principal.version:
        raise Problem(
            401,
            "Sessão encerrada: seus acessos mudaram. Entre novamente.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return Response(status_code=204)


async def _change_password(ctx: RequestContext) -> Response:
    """The caller's own new password, with the current one. The only route a session
    that must change its password may use; it ends every other session of the user and
    answers a fresh one."""
    principal = await authenticate(runtime.verifier, ctx.request.headers, ctx.request.cookies)
    body = await ctx.body(PasswordChangeIn)
    address = _client_address(ctx.request)
    async with await ctx.unit_of_work() as uow:
        user = await store.find_by_id(uow.conn, principal.user_id, for_update=True)
        if user is None or not user.active or user.security_version != principal.version:
            raise _expired_session()
        checked = await SESSIONS.checked_credentials(
            uow.conn, user.username, body.current_password, address
        )
        if checked is None:
            await uow.commit()
            raise Problem(401, "Senha atual incorreta.", headers={"WWW-Authenticate": "Bearer"})
        domain.check_password(user.username, body.new_password)
        if body.new_password == body.current_password:
            raise Problem(422, "password: the new password must differ from the current one")
        updated = replace(
            user,
            password_hash=await hash_password_async(body.new_password),
            must_change_password=False,
        )
        await store.update_user(uow.conn, updated, new_stamp=True)
        await store.revoke_user_sessions(uow.conn, user.id)
        token = await SESSIONS.open(uow.conn, updated)
        await uow.emit(
            UserUpdated(**service.user_state(updated), changed=["password"]), subject=str(user.id)
        )
        await uow.commit()
    fresh = replace(updated, security_version=user.security_version + 1)  # as stored
    return _session_response(ctx.request, fresh, token)


async def _approve(ctx: RequestContext) -> Response:
    """An admin's approval typed at the counter: a two-minute token for one purpose,
    answered only for an active admin's right password (the login's limits apply)."""
    body = await ctx.body(ApprovalIn)
    username = domain.normalize_username(body.username)[:80]
    address = _client_address(ctx.request)
    async with await ctx.unit_of_work() as uow:
        user = await SESSIONS.checked_credentials(uow.conn, username, body.password, address)
        await uow.commit()
    if user is None or user.role is not Role.ADMIN:
        raise Problem(401, "Aprovação recusada: usuário ou senha de administrador inválidos.")
    claims = approval_claims(
        Principal(str(user.id), user.username, Role.ADMIN), body.purpose, issuer=issuer.issuer
    )
    return JSONResponse(
        {"approval_token": issuer.sign(claims), "expires_in": APPROVAL_TTL_SECONDS},
        headers={"Cache-Control": "no-store"},
    )


async def _jwks(ctx: RequestContext) -> Response:
    return JSONResponse(issuer.jwks(), headers={"Cache-Control": "public, max-age=60"})


_auth_fn = HttpFunction(
    runtime,
    [
        Route(api.LOGIN, _login),
        Route(api.REFRESH, _refresh),
        Route(api.LOGOUT, _logout),
        # Both authenticate the token themselves: a session that must change its password
        # may call them, where every other route answers 403.
        Route(api.CHECK_SESSION, _check),
        Route(api.CHANGE_PASSWORD, _change_password),
        Route(api.APPROVE, _approve),
        Route(api.ME, _me),
        Route(api.LIST_USERS, _list_users),
        Route(api.CREATE_USER, _create_user),
        Route(api.UPDATE_USER, _update_user),
        Route(api.JWKS, _jwks),
    ],
)


@functions_framework.aio.http
async def auth(request: Request) -> Response:
    return await _auth_fn(request)
