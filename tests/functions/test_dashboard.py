"""The dashboard (issue 18) on the real PostgreSQL, in a database of its own (pending PIX is a
figure of the whole table): sales seeded by SQL in the sales schema on a day and on the same
weekday a week before, at hours on both sides of the shop's midnight, by every method, with
returns, pending, cancelled and refunded sales; the function served by `shared.http` as
main.py serves it (token checked, problem+json), and inventory-query and payables stood in
for by real HTTP servers, so the composition goes over the wire: forwarded token, both asked
at once, one that does not answer costs its figures only."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from functions.sales import dashboard_api
from functions.sales.dashboard_api import DashboardSettings, Upstreams
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.http import HttpFunction
from shared.runtime import Runtime
from shared.shop_time import SHOP_ZONE
from tests.functions.support import function_runtime
from tests.support import database as test_database
from tests.support.database import ProvisionedDatabase
from tests.support.servers import free_port, serve

ISSUER = "acougue-auth"
AUDIENCE = "acougue"
TOKENS = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900
)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
STOCK = Principal(user_id=str(uuid.uuid4()), username="zeca", role=Role.ESTOQUISTA)
PROBLEM = "application/problem+json"

DAY = date(2031, 3, 12)  # a Wednesday
LAST_WEEK = DAY - timedelta(days=7)
# The products of the day's sales (F is not in the counter's price list: its line's name).
A, B, C, D, E, F = (uuid.UUID(f"00000000-0000-4000-8000-00000000000{n}") for n in range(1, 7))
NAMES = {A: "Picanha", B: "Linguiça", C: "Alcatra", D: "Costela", E: "Frango", F: "Osso"}
Line = tuple[uuid.UUID, str, int]  # product, quantity, line total
Back = tuple[uuid.UUID, str, int]  # product, quantity returned, refund


def local(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SHOP_ZONE)


async def seed_sale(
    conn: Any,
    at: datetime,
    method: str,
    lines: list[Line],
    *,
    status: str = "paid",
    total: int | None = None,
    returns: list[Back] = (),  # type: ignore[assignment]
) -> uuid.UUID:
    """A sale as complete-sale and update-sale-status leave it, and its returns as
    return-sale does (refunds as return_rules computes them, written here by hand)."""
    sale = uuid.uuid4()
    subtotal = sum(cents for _, _, cents in lines)
    total = subtotal if total is None else total
    await conn.execute(
        "INSERT INTO sales (id, seller_id, idempotency_key, request_hash, status, subtotal_cents,"
        " discount_cents, total_cents, payment_method, customer_id, created_at, paid_at)"
        " VALUES (%s, %s, %s, 'h', %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            sale,
            SELLER.user_id,
            str(sale),
            status,
            subtotal,
            subtotal - total,
            total,
            method,
            uuid.uuid4() if method == "fiado" else None,
            at,
            # Paid 70 s after the counter made it: the 23:59:30 PIX is paid on the next day.
            at + timedelta(seconds=70) if status == "paid" else None,
        ),
    )
    for line, (product, quantity, cents) in enumerate(lines, start=1):
        await conn.execute(
            "INSERT INTO sale_items (sale_id, line, product_id, name, unit, quantity,"
            " unit_price_cents, total_cents) VALUES (%s, %s, %s, %s, 'kg', %s, 0, %s)",
            (sale, line, product, NAMES[product], Decimal(quantity), cents),
        )
    for n, (product, quantity, refund) in enumerate(returns, start=1):
        back = uuid.uuid4()
        await conn.execute(
            "INSERT INTO sale_returns (id, sale_id, returned_by, reason, refund_cents,"
            " payment_method, request_hash, created_at) VALUES (%s, %s, %s, 'devolveu', %s,"
            " %s, 'h', %s)",
            (back, sale, ADMIN.user_id, refund, method, at + timedelta(hours=n)),
        )
        await conn.execute(
            "INSERT INTO sale_return_items (return_id, line, product_id, name, unit, quantity,"
            " refund_cents) VALUES (%s, 1, %s, %s, 'kg', %s, %s)",
            (back, product, NAMES[product], Decimal(quantity), refund),
        )
    return sale


async def seed(runtime: Runtime) -> None:
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        for product in (A, B, C, D, E):
            await conn.execute(
                "INSERT INTO products (product_id, name, unit, price_cents, active, version)"
                " VALUES (%s, %s, 'kg', 1000, true, 1)",
                (product, NAMES[product]),
            )
        # The day: seven paid sales.
        await seed_sale(conn, local(DAY, 0, 10), "cash", [(E, "1.000", 900), (F, "0.500", 100)])
        await seed_sale(conn, local(DAY, 9, 15), "pix", [(A, "1.000", 10000)])
        # 8000 less a discount of 800: A pays 4500, B 2700.
        await seed_sale(
            conn, local(DAY, 9, 40), "cash", [(A, "0.500", 5000), (B, "2.000", 3000)], total=7200
        )
        # 4500 less 500, three equal lines: 1333.33 each, the centavo left to the first (B).
        await seed_sale(
            conn,
            local(DAY, 14, 5),
            "credit",
            [(B, "1.000", 1500), (C, "1.000", 1500), (D, "1.000", 1500)],
            total=4000,
        )
        # Part returned: 1500 of 6000 back.
        await seed_sale(
            conn,
            local(DAY, 14, 30),
            "debit",
            [(C, "2.000", 6000)],
            returns=[(C, "0.500", 1500)],
        )
        # Returned in full, in two returns: a sale with no revenue left.
        await seed_sale(
            conn,
            local(DAY, 18, 0),
            "fiado",
            [(D, "1.000", 2000)],
            returns=[(D, "0.400", 800), (D, "0.600", 1200)],
        )
        await seed_sale(conn, local(DAY, 23, 59, 30), "pix", [(A, "0.250", 2500)])
        # The day's sales that are not revenue.
        await seed_sale(
            conn, local(DAY, 10, 0), "pix", [(A, "0.300", 3000)], status="pending_payment"
        )
        await seed_sale(
            conn, local(DAY, 10, 5), "debit", [(A, "0.300", 3000)], status="pending_payment"
        )
        await seed_sale(conn, local(DAY, 11, 0), "pix", [(A, "0.500", 5000)], status="cancelled")
        await seed_sale(conn, local(DAY, 12, 0), "credit", [(B, "1.000", 4000)], status="refunded")
        await seed_sale(
            conn, local(DAY, 13, 0), "pix", [(B, "1.000", 4000)], status="payment_failed"
        )
        # Either side of the day: 02:50 UTC on the day is still the evening before in São Paulo.
        await seed_sale(conn, local(DAY - timedelta(days=1), 23, 50), "cash", [(A, "1.000", 7777)])
        await seed_sale(conn, local(DAY + timedelta(days=1), 0, 30), "cash", [(A, "1.000", 8888)])
        # A PIX left pending long ago still waits now.
        await seed_sale(
            conn,
            local(date(2031, 1, 2), 9, 0),
            "pix",
            [(A, "0.100", 1000)],
            status="pending_payment",
        )
        # The same weekday a week before: two paid sales (one with a return) and a cancelled one.
        await seed_sale(conn, local(LAST_WEEK, 11, 0), "pix", [(A, "0.400", 4000)])
        await seed_sale(
            conn,
            local(LAST_WEEK, 15, 0),
            "cash",
            [(B, "2.000", 6000)],
            returns=[(B, "0.500", 1000)],
        )
        await seed_sale(
            conn, local(LAST_WEEK, 16, 0), "cash", [(B, "1.000", 3000)], status="cancelled"
        )
        await conn.commit()


EXPECTED_HOURS = {0: (1, 1000), 9: (2, 17200), 14: (2, 8500), 18: (1, 0), 23: (1, 2500)}
EXPECTED = {
    "date": "2031-03-12",
    "sales_count": 7,
    "revenue_cents": 29200,
    "average_ticket_cents": 4171,  # 29200 / 7 = 4171.43
    "by_method": {"pix": 12500, "debit": 4500, "credit": 4000, "cash": 8200, "fiado": 0},
    "by_hour": [
        {
            "hour": h,
            "sales_count": EXPECTED_HOURS.get(h, (0, 0))[0],
            "revenue_cents": EXPECTED_HOURS.get(h, (0, 0))[1],
        }
        for h in range(24)
    ],
    "top_products": [
        {"product_id": str(A), "name": "Picanha", "quantity": "1.750", "revenue_cents": 17000},
        {"product_id": str(C), "name": "Alcatra", "quantity": "2.500", "revenue_cents": 5833},
        {"product_id": str(B), "name": "Linguiça", "quantity": "3.000", "revenue_cents": 4034},
        {"product_id": str(D), "name": "Costela", "quantity": "1.000", "revenue_cents": 1333},
        {"product_id": str(E), "name": "Frango", "quantity": "1.000", "revenue_cents": 900},
    ],
    "low_stock_count": 2,
    "expiring_count": 3,
    "pending_pix_count": 2,
    "open_payables_cents": 152550,
    "same_weekday_last_week": {"sales_count": 2, "revenue_cents": 9000},
    "unavailable": [],
}


# -- the stand-ins for inventory-query and payables ------------------------------------


@dataclass(frozen=True)
class Seen:
    source: str
    authorization: str | None
    params: dict[str, str]
    started: float
    ended: float


@dataclass
class StandIn:
    """inventory-query's and payables' list endpoints, answering fixed lists after `delay`
    and recording what each request carried and when it was served."""

    delay: float = 0.0
    payables: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": str(uuid.uuid4()), "amount_cents": 200000, "open_cents": 150000},
            {"id": str(uuid.uuid4()), "amount_cents": 2550, "open_cents": 2550},
        ]
    )
    seen: list[Seen] = field(default_factory=list)
    # Requests still being served (a timed-out one is answered to nobody, later).
    in_flight: int = 0

    def settle(self) -> None:
        """Wait for requests still in flight, so that none is recorded in the next test."""
        deadline = time.monotonic() + 5
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    async def _stock(self, request: Request) -> Response:
        started = time.monotonic()
        self.in_flight += 1
        await asyncio.sleep(self.delay)
        lot = {"lot": "L1", "expires_on": "2031-03-13", "quantity": "1.000"}
        items = [
            {"product_id": str(A), "low": True, "negative": False, "expiring": [lot, lot]},
            {"product_id": str(B), "low": False, "negative": False, "expiring": [lot]},
            {"product_id": str(C), "low": True, "negative": True, "expiring": []},
            {"product_id": str(D), "low": False, "negative": False, "expiring": []},
        ]
        self._record("inventory", request, started)
        return JSONResponse({"items": items})

    async def _payables(self, request: Request) -> Response:
        started = time.monotonic()
        self.in_flight += 1
        await asyncio.sleep(self.delay)
        self._record("payables", request, started)
        return JSONResponse({"items": self.payables})

    def _record(self, source: str, request: Request, started: float) -> None:
        self.in_flight -= 1
        self.seen.append(
            Seen(
                source,
                request.headers.get("authorization"),
                dict(request.query_params),
                started,
                time.monotonic(),
            )
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/inventory/stock", self._stock),
                Route("/api/finance/payables", self._payables),
            ]
        )


@dataclass
class World:
    database: ProvisionedDatabase
    runtime: Runtime
    stand_in: StandIn
    url: str


@pytest.fixture(scope="module")
async def world(admin_database_url: str) -> AsyncIterator[World]:
    db = await test_database.create(admin_database_url)
    runtime = function_runtime(db, "sales", "dashboard", k_sink=None, event_authentication="off")
    runtime.verifier = TokenVerifier(StaticKeys(TOKENS.jwks()), issuer=ISSUER, audience=AUDIENCE)
    stand_in = StandIn()
    try:
        await seed(runtime)
        with serve(stand_in.app()) as url:
            yield World(db, runtime, stand_in, url)
    finally:
        await runtime.pool.close()
        test_database.drop(admin_database_url, db)


def _asgi(fn: HttpFunction) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


async def ask(
    world: World,
    who: Principal | None = ADMIN,
    *,
    inventory: str | None = None,
    payables: str | None = None,
    wait: float = 2.0,
    **params: str,
) -> httpx.Response:
    """GET /api/dashboard through the function, its upstreams the stand-in unless named."""
    upstreams = Upstreams(inventory or world.url, payables or world.url, timeout=wait)
    fn = HttpFunction(world.runtime, dashboard_api.routes(upstreams))
    headers = {"authorization": f"Bearer {TOKENS.issue(who).token}"} if who else {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_asgi(fn)), base_url="http://dashboard"
        ) as client:
            return await client.get("/api/dashboard", params=params, headers=headers)
    finally:
        await upstreams.aclose()


@pytest.fixture
def stand_in(world: World) -> Iterator[StandIn]:
    world.stand_in.seen.clear()
    world.stand_in.delay = 0.0
    yield world.stand_in
    world.stand_in.settle()
    world.stand_in.delay = 0.0


# -- the figures -----------------------------------------------------------------------


async def test_every_figure_of_a_day(world: World, stand_in: StandIn) -> None:
    answer = await ask(world, date=DAY.isoformat())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for key, expected in EXPECTED.items():  # one figure at a time: a failure names it
        assert (key, body[key]) == (key, expected)
    assert body == EXPECTED


async def test_the_figures_add_up(world: World, stand_in: StandIn) -> None:
    """By method, by hour and the six products (five shown) are the same revenue split
    three ways, to the centavo."""
    body = (await ask(world, date=DAY.isoformat())).json()
    assert sum(body["by_method"].values()) == body["revenue_cents"]
    assert sum(h["revenue_cents"] for h in body["by_hour"]) == body["revenue_cents"]
    assert sum(h["sales_count"] for h in body["by_hour"]) == body["sales_count"]
    osso = 100  # the sixth product, left out of the five
    assert sum(p["revenue_cents"] for p in body["top_products"]) + osso == body["revenue_cents"]


async def test_last_week_seen_from_its_own_day(world: World, stand_in: StandIn) -> None:
    body = (await ask(world, date=LAST_WEEK.isoformat())).json()
    assert (body["sales_count"], body["revenue_cents"], body["average_ticket_cents"]) == (
        2,
        9000,
        4500,
    )
    assert body["by_method"] == {"pix": 4000, "debit": 0, "credit": 0, "cash": 5000, "fiado": 0}
    assert body["top_products"] == [
        {"product_id": str(B), "name": "Linguiça", "quantity": "1.500", "revenue_cents": 5000},
        {"product_id": str(A), "name": "Picanha", "quantity": "0.400", "revenue_cents": 4000},
    ]
    assert body["same_weekday_last_week"] == {"sales_count": 0, "revenue_cents": 0}


async def test_a_day_without_sales(world: World, stand_in: StandIn) -> None:
    body = (await ask(world, date="2031-06-01")).json()
    assert (body["sales_count"], body["revenue_cents"], body["average_ticket_cents"]) == (0, 0, 0)
    assert body["by_method"] == dict.fromkeys(("pix", "debit", "credit", "cash", "fiado"), 0)
    assert [h["hour"] for h in body["by_hour"]] == list(range(24))
    assert body["top_products"] == []
    assert body["pending_pix_count"] == 2  # a figure of now, whatever the day


async def test_today_by_default(world: World, stand_in: StandIn) -> None:
    from shared.shop_time import today

    answer = await ask(world)
    assert answer.status_code == 200, answer.text
    assert answer.json()["date"] == today().isoformat()


# -- asking the other functions ------------------------------------------------------


async def test_upstreams_get_the_callers_token_and_are_asked_at_once(
    world: World, stand_in: StandIn
) -> None:
    stand_in.delay = 0.3
    token = TOKENS.issue(ADMIN).token
    upstreams = Upstreams(world.url, world.url, timeout=2.0)
    fn = HttpFunction(world.runtime, dashboard_api.routes(upstreams))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_asgi(fn)), base_url="http://dashboard"
    ) as client:
        answer = await client.get(
            "/api/dashboard",
            params={"date": DAY.isoformat()},
            headers={"authorization": f"Bearer {token}"},
        )
    await upstreams.aclose()
    assert answer.status_code == 200, answer.text
    seen = {s.source: s for s in stand_in.seen}
    assert set(seen) == {"inventory", "payables"}
    inventory, payables = seen["inventory"], seen["payables"]
    assert inventory.authorization == payables.authorization == f"Bearer {token}"
    assert inventory.params == {"expiring_within_days": "3"}
    assert payables.params == {"status": "open", "limit": "1000"}
    # Both served at the same time: each began before the other ended.
    assert inventory.started < payables.ended
    assert payables.started < inventory.ended


async def test_a_source_that_does_not_answer_costs_its_figures_only(
    world: World, stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Inventory too slow for the timeout, payables not listening: the sales figures stand."""
    stand_in.delay = 1.0
    closed = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="acougue.dashboard"):
        started = time.monotonic()
        answer = await ask(world, payables=closed, wait=0.3, date=DAY.isoformat())
        took = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["unavailable"] == ["inventory", "payables"]
    assert (body["low_stock_count"], body["expiring_count"], body["open_payables_cents"]) == (
        None,
        None,
        None,
    )
    missing = {"low_stock_count", "expiring_count", "open_payables_cents", "unavailable"}
    assert {k: v for k, v in body.items() if k not in missing} == {
        k: v for k, v in EXPECTED.items() if k not in missing
    }
    assert took < 0.95  # the timeout, not the slow answer
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "inventory unavailable: ReadTimeout" in logged
    assert "payables unavailable: ConnectError" in logged


async def test_an_answer_not_shaped_as_expected_is_unavailable(
    world: World, stand_in: StandIn
) -> None:
    stand_in.payables = [{"id": "x", "open_cents": "150.00"}]  # not centavos
    try:
        body = (await ask(world, date=DAY.isoformat())).json()
    finally:
        stand_in.payables = StandIn().payables
    assert body["unavailable"] == ["payables"]
    assert body["open_payables_cents"] is None
    assert (body["low_stock_count"], body["expiring_count"]) == (2, 3)


async def test_an_error_answer_is_unavailable(world: World, stand_in: StandIn) -> None:
    wrong = world.url + "/nowhere"  # the stand-in answers 404 there
    body = (await ask(world, inventory=wrong, date=DAY.isoformat())).json()
    assert body["unavailable"] == ["inventory"]
    assert body["open_payables_cents"] == 152550


# -- who may ask, and what is refused ------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [(SELLER, 403), (STOCK, 403), (None, 401)])
async def test_only_an_admin(
    world: World, stand_in: StandIn, who: Principal | None, status: int
) -> None:
    answer = await ask(world, who, date=DAY.isoformat())
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert stand_in.seen == []  # nothing asked on a refused caller's behalf


@pytest.mark.parametrize("day", ["2031-02-30", "ontem", "0001-01-01", "9999-12-31"])
async def test_a_bad_date_is_422(world: World, stand_in: StandIn, day: str) -> None:
    answer = await ask(world, date=day)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)


def test_settings_fail_fast() -> None:
    base: dict[str, Any] = {
        "function_target": "dashboard",
        "database_url": SecretStr("postgresql://x@127.0.0.1/db"),
        "auth_jwks_url": "http://auth/jwks",
        "event_authentication": "off",
    }
    ok = DashboardSettings(
        **base, inventory_query_url="http://inventory-query/", payables_url="http://payables"
    )
    assert ok.inventory_query_url == "http://inventory-query"
    with pytest.raises(ValidationError, match="payables_url"):
        DashboardSettings(**base, inventory_query_url="http://inventory-query")
    with pytest.raises(ValidationError, match="http"):
        DashboardSettings(**base, inventory_query_url="inventory-query", payables_url="http://p")
    with pytest.raises(ValidationError):
        DashboardSettings(
            **base,
            inventory_query_url="http://i",
            payables_url="http://p",
            dashboard_upstream_timeout_seconds=0,
        )
