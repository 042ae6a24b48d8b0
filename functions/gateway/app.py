"""The gateway: the browser's one address. Serves the UI and forwards /api to functions.

Its /api routes come from the one declaration of each endpoint (functions/gateway/routes.py,
shared/contracts/endpoints.py); the functions check tokens and roles again themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from functions.gateway import edge, ui
from functions.gateway.admission import Admission
from functions.gateway.proxy import Upstreams
from functions.gateway.routes import FunctionOf, add_api_routes
from functions.gateway.settings import GatewaySettings
from shared.auth.guard import authenticate, authorize
from shared.auth.live import LiveSessions
from shared.auth.principal import Principal, Role
from shared.auth.tokens import KeysUnavailable, RemoteJwks, TokenVerifier
from shared.errors import Problem
from shared.logs import configure_logging

settings = GatewaySettings()  # from the environment; fails fast
configure_logging("gateway")
# Past a function's capacity a request is shed (503 + Retry-After) before it is sent:
# functions/gateway/admission.py.
admission = Admission(settings.admission_limits())
upstreams = Upstreams(settings.gateway_services, settings.upstream_timeout_seconds, admission)
verifier = TokenVerifier(
    RemoteJwks(settings.auth_jwks_url), issuer=settings.auth_issuer, audience=settings.auth_audience
)


class AdmittedLiveSessions(LiveSessions):
    """The session check is a request to the auth function too: it passes auth's gate."""

    async def check(self, token: str) -> None:
        async with admission.slot("auth"):
            await super().check(token)


# Every guarded request asks auth whether its user still holds the token's rights (a
# demotion or deactivation bites on the next request): shared/auth/live.py.
live = AdmittedLiveSessions(settings.gateway_services["auth"])


# Each route guard and the roles it lets through: edge.BodyGuard runs the guard of the
# route a request reaches before FastAPI reads its body.
GUARDS: dict[Callable[..., Any], frozenset[Role]] = {}


async def caller(request: Request) -> Principal:
    """The request's user, verified once per request (BodyGuard may have done it already)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is None:
        known = await authenticate(verifier, request.headers, request.cookies, live=live)
        request.state.principal = known
    return known


@cache
def require(allowed: frozenset[Role]) -> Any:
    """A route's role check (one per set of roles): the same guard every function applies
    again behind it."""

    async def check(request: Request) -> Principal:
        principal = await caller(request)
        authorize(principal, allowed)
        return principal

    GUARDS[check] = allowed
    return Depends(check)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await upstreams.aclose()


app = FastAPI(
    title="Açougue API",
    version="0.1.0",
    description="The butcher shop's public HTTP API (DESIGN.md, 'The HTTP API').",
    lifespan=lifespan,
    # Off in the cluster (GATEWAY_PUBLIC_DOCS): the contract is in the repository, and a
    # public map of every route helps only a stranger; a 404 says nothing is there.
    docs_url="/docs" if settings.public_docs else None,
    redoc_url="/redoc" if settings.public_docs else None,
    openapi_url="/openapi.json" if settings.public_docs else None,
)

_guards_of = edge.GuardedRoutes(lambda: app.router.routes, GUARDS)
_function_of = FunctionOf()


async def _guard_first(request: Request) -> None:
    """Before FastAPI reads a body: a request its function cannot take now is shed at once
    (before its token, session and body cost anything), then the guards of its route run."""
    function = _function_of(request.method, request.scope["path"])
    if function is not None:
        admission.refuse_if_full(function)
    for allowed in _guards_of(request.scope):
        authorize(await caller(request), allowed)


# Added last runs first: headers go on every answer, the guard's included.
app.add_middleware(edge.BodyGuard, limit=settings.max_body_bytes, check=_guard_first)
app.add_middleware(edge.SecurityHeaders)


app.include_router(ui.router)
app.mount("/static", StaticFiles(directory=ui.STATIC), name="static")


@app.exception_handler(Problem)
async def _problem(_: Request, problem: Problem) -> Response:
    return problem.response()


@app.exception_handler(KeysUnavailable)
async def _keys(_: Request, exc: KeysUnavailable) -> Response:
    return Problem(503, "Cannot verify tokens right now; try again.").response()


@app.exception_handler(RequestValidationError)
async def _invalid(_: Request, exc: RequestValidationError) -> Response:
    errors = [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]
    return Problem(422, "The request has invalid fields.", errors=errors).response()


@app.exception_handler(StarletteHTTPException)
async def _http(_: Request, exc: StarletteHTTPException) -> Response:
    return Problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})).response()


@app.exception_handler(Exception)
async def _unexpected(_: Request, exc: Exception) -> Response:
    return Problem(500, "Something went wrong on our side.").response()


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
async def readyz() -> Response:
    """Ready when the auth function serves its keys: without them no request can pass."""
    try:
        answer = await upstreams.get_json("auth", "/.well-known/jwks.json")
    except Exception:
        answer = None
    if answer is None or answer.status_code != 200:
        return Problem(503, "The auth function is not answering.").response()
    return JSONResponse({"status": "ready"})


add_api_routes(app, upstreams, require)
