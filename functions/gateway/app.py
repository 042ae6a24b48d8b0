"""The gateway: the browser's one address. Serves the UI and forwards /api to functions.

Each route names the function that owns it and declares its body model, so the OpenAPI
document is the public contract; the functions check tokens and roles again themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Body, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from functions.gateway import edge, ui
from functions.gateway.proxy import Upstreams
from functions.gateway.settings import GatewaySettings
from shared.auth.forms import ApprovalIn, PasswordChangeIn
from shared.auth.guard import authenticate, authorize
from shared.auth.live import LiveSessions
from shared.auth.principal import ALL_ROLES, Principal, Role
from shared.auth.tokens import KeysUnavailable, RemoteJwks, TokenVerifier
from shared.contracts.auth import LoginIn, UserIn, UserPatch
from shared.contracts.catalog import CategoryIn, ProductIn, ProductPatch
from shared.contracts.finance import CashClosingIn, CashOperationIn, ExpenseIn
from shared.contracts.inventory import BreakdownIn, MovementIn
from shared.contracts.sales import PaymentIn, SaleIn, SaleStatus
from shared.errors import Problem
from shared.logs import configure_logging

settings = GatewaySettings()  # from the environment; fails fast
configure_logging("gateway")
upstreams = Upstreams(settings.gateway_services, settings.upstream_timeout_seconds)
verifier = TokenVerifier(
    RemoteJwks(settings.auth_jwks_url), issuer=settings.auth_issuer, audience=settings.auth_audience
)
# Every guarded request asks auth whether its user still holds the token's rights (a
# demotion or deactivation bites on the next request): shared/auth/live.py.
live = LiveSessions(settings.gateway_services["auth"])


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


def require(allowed: frozenset[Role]) -> Any:
    """A route's role check: the same guard every function applies again behind it."""

    async def check(request: Request) -> Principal:
        principal = await caller(request)
        authorize(principal, allowed)
        return principal

    GUARDS[check] = allowed
    return Depends(check)


ANY_USER = require(ALL_ROLES)
ADMIN = require(frozenset({Role.ADMIN}))
STOCK_WRITERS = require(frozenset({Role.ADMIN, Role.ESTOQUISTA}))
SELLERS = require(frozenset({Role.ADMIN, Role.VENDEDOR}))


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


async def _guard_first(request: Request) -> None:
    """The guards of the route a request reaches, run before FastAPI reads its body."""
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


@app.post("/api/auth/login", tags=["auth"])
async def login(request: Request, body: Annotated[LoginIn, Body()]) -> Response:
    return await upstreams.forward(request, "auth")


@app.post("/api/auth/refresh", tags=["auth"])
async def refresh(request: Request) -> Response:
    return await upstreams.forward(request, "auth")


@app.post("/api/auth/logout", status_code=204, tags=["auth"])
async def logout(request: Request) -> Response:
    return await upstreams.forward(request, "auth")


@app.post("/api/auth/password", tags=["auth"])
async def change_password(request: Request, body: Annotated[PasswordChangeIn, Body()]) -> Response:
    """The caller's own new password (auth checks the token and the current password)."""
    return await upstreams.forward(request, "auth")


@app.post("/api/auth/approvals", tags=["auth"], dependencies=[SELLERS])
async def approve(request: Request, body: Annotated[ApprovalIn, Body()]) -> Response:
    """An admin's on-the-spot approval: a two-minute token (shared/auth/approvals.py)."""
    return await upstreams.forward(request, "auth")


@app.get("/api/users", tags=["auth"], dependencies=[ADMIN])
async def list_users(request: Request) -> Response:
    return await upstreams.forward(request, "auth")


@app.post("/api/users", status_code=201, tags=["auth"], dependencies=[ADMIN])
async def create_user(request: Request, body: Annotated[UserIn, Body()]) -> Response:
    return await upstreams.forward(request, "auth")


@app.patch("/api/users/{user_id}", tags=["auth"], dependencies=[ADMIN])
async def update_user(
    request: Request, user_id: UUID, body: Annotated[UserPatch, Body()]
) -> Response:
    return await upstreams.forward(request, "auth")


@app.get("/api/me", tags=["auth"], dependencies=[ANY_USER])
async def me(request: Request) -> Response:
    return await upstreams.forward(request, "auth")


@app.get("/api/categories", tags=["catalog"], dependencies=[ANY_USER])
async def list_categories(request: Request) -> Response:
    return await upstreams.forward(request, "catalog-query")


@app.post("/api/categories", status_code=201, tags=["catalog"], dependencies=[STOCK_WRITERS])
async def create_category(request: Request, body: Annotated[CategoryIn, Body()]) -> Response:
    return await upstreams.forward(request, "create-category")


@app.get("/api/products", tags=["catalog"], dependencies=[ANY_USER])
async def list_products(
    request: Request,
    q: Annotated[str | None, Query(max_length=120)] = None,
    active: bool | None = None,
) -> Response:
    return await upstreams.forward(request, "catalog-query")


@app.get("/api/products/{product_id}", tags=["catalog"], dependencies=[ANY_USER])
async def get_product(request: Request, product_id: UUID) -> Response:
    return await upstreams.forward(request, "catalog-query")


@app.post("/api/products", status_code=201, tags=["catalog"], dependencies=[STOCK_WRITERS])
async def create_product(request: Request, body: Annotated[ProductIn, Body()]) -> Response:
    return await upstreams.forward(request, "create-product")


@app.patch("/api/products/{product_id}", tags=["catalog"], dependencies=[STOCK_WRITERS])
async def update_product(
    request: Request, product_id: UUID, body: Annotated[ProductPatch, Body()]
) -> Response:
    return await upstreams.forward(request, "update-product")


@app.get("/api/events", tags=["platform"], dependencies=[ADMIN])
async def recent_events(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50, type: str | None = None
) -> Response:
    return await upstreams.forward(request, "event-log")


@app.get("/api/dead-letters", tags=["platform"], dependencies=[ADMIN])
async def dead_letters(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Response:
    return await upstreams.forward(request, "dead-letter")


@app.post(
    "/api/dead-letters/{dead_letter_id}/replay",
    status_code=202,
    tags=["platform"],
    dependencies=[ADMIN],
)
async def replay_dead_letter(request: Request, dead_letter_id: UUID) -> Response:
    return await upstreams.forward(request, "dead-letter")


@app.post(
    "/api/inventory/movements", status_code=201, tags=["inventory"], dependencies=[STOCK_WRITERS]
)
async def register_movement(request: Request, body: Annotated[MovementIn, Body()]) -> Response:
    return await upstreams.forward(request, "register-movement")


@app.post(
    "/api/inventory/breakdowns", status_code=201, tags=["inventory"], dependencies=[STOCK_WRITERS]
)
async def register_breakdown(request: Request, body: Annotated[BreakdownIn, Body()]) -> Response:
    return await upstreams.forward(request, "register-movement")


@app.get("/api/inventory/stock", tags=["inventory"], dependencies=[ANY_USER])
async def stock_levels(
    request: Request, expiring_within_days: Annotated[int, Query(ge=0, le=365)] = 3
) -> Response:
    return await upstreams.forward(request, "inventory-query")


@app.get("/api/inventory/stock/{product_id}", tags=["inventory"], dependencies=[ANY_USER])
async def stock_of_product(
    request: Request,
    product_id: UUID,
    expiring_within_days: Annotated[int, Query(ge=0, le=365)] = 3,
) -> Response:
    return await upstreams.forward(request, "inventory-query")


@app.get("/api/inventory/movements", tags=["inventory"], dependencies=[STOCK_WRITERS])
async def stock_movements(
    request: Request,
    product_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    return await upstreams.forward(request, "inventory-query")


@app.post("/api/sales", status_code=201, tags=["sales"], dependencies=[SELLERS])
async def complete_sale(
    request: Request,
    body: Annotated[SaleIn, Body()],
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
) -> Response:
    return await upstreams.forward(request, "complete-sale")


@app.post("/api/sales/{sale_id}/payments", tags=["sales"], dependencies=[SELLERS])
async def retry_payment(
    request: Request, sale_id: UUID, body: Annotated[PaymentIn, Body()]
) -> Response:
    return await upstreams.forward(request, "complete-sale")


@app.post("/api/sales/{sale_id}/cancel", status_code=202, tags=["sales"], dependencies=[ADMIN])
async def cancel_sale(request: Request, sale_id: UUID) -> Response:
    return await upstreams.forward(request, "cancel-sale")


@app.get("/api/sales", tags=["sales"], dependencies=[SELLERS])
async def list_sales(
    request: Request,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    status: SaleStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    return await upstreams.forward(request, "sales-query")


@app.get("/api/sales/{sale_id}", tags=["sales"], dependencies=[SELLERS])
async def get_sale(request: Request, sale_id: UUID) -> Response:
    return await upstreams.forward(request, "sales-query")


@app.get("/api/sales/{sale_id}/pix.svg", tags=["sales"], dependencies=[SELLERS])
async def pix_qr_code(request: Request, sale_id: UUID) -> Response:
    return await upstreams.forward(request, "sales-query")


@app.post("/api/finance/expenses", status_code=201, tags=["finance"], dependencies=[ADMIN])
async def post_expense(request: Request, body: Annotated[ExpenseIn, Body()]) -> Response:
    return await upstreams.forward(request, "post-ledger-entry")


@app.post("/api/finance/cash-operations", status_code=201, tags=["finance"], dependencies=[ADMIN])
async def cash_operation(request: Request, body: Annotated[CashOperationIn, Body()]) -> Response:
    return await upstreams.forward(request, "post-ledger-entry")


@app.post("/api/finance/cash-closing", tags=["finance"], dependencies=[ADMIN])
async def close_cash(request: Request, body: Annotated[CashClosingIn, Body()]) -> Response:
    return await upstreams.forward(request, "post-ledger-entry")


@app.get("/api/finance/cash-closing", tags=["finance"], dependencies=[ADMIN])
async def cash_closing(request: Request, day: date | None = None) -> Response:
    return await upstreams.forward(request, "finance-report")


class Period(BaseModel):
    """The local days a finance query covers (São Paulo), as `from` and `to`."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class ReportQuery(Period):
    group_by: Literal["day", "week", "month"] = "day"


class EntriesQuery(Period):
    limit: int = Field(default=1000, ge=1, le=100_000)


@app.get("/api/finance/report", tags=["finance"], dependencies=[ADMIN])
@app.get("/api/finance/report.csv", tags=["finance"], dependencies=[ADMIN])
async def finance_report(request: Request, query: Annotated[ReportQuery, Query()]) -> Response:
    return await upstreams.forward(request, "finance-report")


@app.get("/api/finance/entries", tags=["finance"], dependencies=[ADMIN])
@app.get("/api/finance/entries.csv", tags=["finance"], dependencies=[ADMIN])
async def ledger_entries(request: Request, query: Annotated[EntriesQuery, Query()]) -> Response:
    return await upstreams.forward(request, "finance-report")


@app.get("/api/finance/trial-balance", tags=["finance"], dependencies=[ADMIN])
async def trial_balance(request: Request, to: date | None = None) -> Response:
    return await upstreams.forward(request, "finance-report")
