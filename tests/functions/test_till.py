"""Each operator's till (issue 17) on the real PostgreSQL, through the `till` function's
own HTTP entry point (tokens checked, roles, problem+json) and `apply-to-till`'s CloudEvent
entry point; paid sales are rows of the sales table, as complete-sale and
update-sale-status leave them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.sales import till, till_store
from functions.sales.till import open_session_of
from shared import shop_time
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.domain_errors import Conflict, NotFound
from shared.http import HttpFunction
from shared.runtime import Runtime
from shared.subscriber import Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

ISSUER = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer="acougue-auth", audience="acougue", ttl_seconds=900
)
SESSIONS = "/api/till/sessions"
# Concurrent requests in the race tests, each on its own connection of a warm pool.
RACERS = 8


def person(role: Role, name: str = "joana") -> Principal:
    return Principal(user_id=str(uuid.uuid4()), username=name, role=role)


def auth(who: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.issue(who).token}"}


def _asgi(fn: Any) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


@dataclass
class Till:
    runtime: Runtime
    http: httpx.AsyncClient
    events: httpx.AsyncClient

    async def open(self, who: Principal, opening: int = 10000) -> httpx.Response:
        return await self.http.post(SESSIONS, json={"opening_cents": opening}, headers=auth(who))

    async def opened(self, who: Principal, opening: int = 10000) -> dict[str, Any]:
        answer = await self.open(who, opening)
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def move(
        self, who: Principal, session: str, kind: str, amount: int, reason: str = "troco"
    ) -> httpx.Response:
        return await self.http.post(
            f"{SESSIONS}/{session}/movements",
            json={"kind": kind, "amount_cents": amount, "reason": reason},
            headers=auth(who),
        )

    async def close(self, who: Principal, session: str, **counted: int) -> httpx.Response:
        return await self.http.post(
            f"{SESSIONS}/{session}/close", json={"counted": counted}, headers=auth(who)
        )

    async def sessions(self, who: Principal, **query: str) -> list[dict[str, Any]]:
        answer = await self.http.get(SESSIONS, params=query, headers=auth(who))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def session(self, who: Principal, session_id: str) -> dict[str, Any]:
        found = [s for s in await self.sessions(who) if s["id"] == session_id]
        assert len(found) == 1
        return found[0]

    async def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        pool = await self.runtime.pool.get()
        async with pool.connection() as conn:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall() if cursor.description else []
            await conn.commit()
        return list(rows)

    async def outbox(self, event_type: str, subject: str) -> list[dict[str, Any]]:
        rows = await self.sql(
            "SELECT data, attributes FROM outbox WHERE event_type = %s AND aggregate_id = %s"
            " ORDER BY id",
            (event_type, subject),
        )
        return rows

    async def sale(
        self,
        session: str | None,
        method: str,
        total: int,
        *,
        status: str = "paid",
        seller: str | None = None,
        conn: Any = None,
    ) -> str:
        """A sale as complete-sale and update-sale-status leave it (a fiado sale names
        its customer, as 004_fiado requires); on `conn` (uncommitted) when given."""
        sale_id = uuid.uuid4()
        row: dict[str, Any] = {
            "id": sale_id,
            "seller_id": seller or str(uuid.uuid4()),
            "idempotency_key": str(sale_id),
            "request_hash": "h",
            "status": status,
            "subtotal_cents": total,
            "discount_cents": 0,
            "total_cents": total,
            "payment_method": method,
            "cash_received_cents": total + 350 if method == "cash" else None,
            "change_cents": 350 if method == "cash" else None,
            "till_session_id": session,
            "paid_at": datetime.now(UTC) if status == "paid" else None,
        }
        if method == "fiado":
            row["customer_id"] = uuid.uuid4()
        columns = ", ".join(row)
        values = ", ".join(f"%({c})s" for c in row)
        insert = f"INSERT INTO sales ({columns}) VALUES ({values})"
        if conn is not None:
            await conn.execute(insert, row)
        else:
            await self.sql(insert, row)
        return str(sale_id)

    async def settle(self, sale_id: str, status: str) -> None:
        await self.sql("UPDATE sales SET status = %s WHERE id = %s", (status, sale_id))

    async def deliver(
        self, data: dict[str, Any], event_id: str | None = None, at: datetime | None = None
    ) -> httpx.Response:
        """customer.payment_received as the broker delivers it (binary mode), taken `at`."""
        headers = {
            "ce-specversion": "1.0",
            "ce-id": event_id or str(uuid.uuid4()),
            "ce-source": "/acougue/receive-customer-payment",
            "ce-type": "com.acougue.customer.payment_received",
            "ce-subject": data["customer_id"],
            "ce-time": (at or datetime.now(UTC)).isoformat(),
            "content-type": "application/json",
        }
        return await self.events.post("/", content=json.dumps(data), headers=headers)


@pytest.fixture(scope="module")
async def tills(database: ProvisionedDatabase) -> AsyncIterator[Till]:
    runtime = function_runtime(
        database,
        "sales",
        "till",
        k_sink=None,
        event_authentication="off",
        db_pool_min=RACERS,
        db_pool_max=RACERS + 2,
    )
    runtime.verifier = TokenVerifier(
        StaticKeys(ISSUER.jwks()), issuer="acougue-auth", audience="acougue"
    )
    applier = function_runtime(
        database, "sales", "apply_to_till", k_sink=None, event_authentication="off"
    )
    fn = HttpFunction(runtime, till.routes())
    sub = Subscriber(applier, till.events())
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=_asgi(fn)), base_url="http://t") as h,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=_asgi(sub)), base_url="http://e") as e,
    ):
        yield Till(runtime, h, e)
    await runtime.pool.close()
    await applier.pool.close()


def amounts(cash: int = 0, pix: int = 0, debit: int = 0, credit: int = 0) -> dict[str, int]:
    return {"cash_cents": cash, "pix_cents": pix, "debit_cents": debit, "credit_cents": credit}


# -- opening ----------------------------------------------------------------------------


async def test_an_operator_opens_their_own_till_once(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = await tills.opened(joana, 15000)
    assert session["operator_id"] == joana.user_id
    assert session["operator_name"] == "joana"
    assert session["status"] == "open"
    assert session["opening_cents"] == 15000
    assert session["expected"] == amounts(cash=15000)
    again = await tills.open(joana, 100)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "já tem um caixa aberto" in again.json()["detail"]
    assert again.json()["session_id"] == session["id"]
    # Another operator, and an admin, each have their own.
    assert (await tills.open(person(Role.VENDEDOR, "ana"))).status_code == 201
    assert (await tills.open(person(Role.ADMIN, "dono"))).status_code == 201


async def test_of_concurrent_openings_exactly_one_wins(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    await (await tills.runtime.pool.get()).wait()  # every racer has a connection already
    answers = await asyncio.gather(*(tills.open(joana, 1000 + i) for i in range(RACERS)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * (RACERS - 1)
    rows = await tills.sql(
        "SELECT count(*) AS n FROM till_sessions WHERE operator_id = %s AND status = 'open'",
        (joana.user_id,),
    )
    assert rows[0]["n"] == 1


async def test_who_may_use_the_till(tills: Till) -> None:
    clerk = person(Role.ESTOQUISTA)
    assert (await tills.open(clerk)).status_code == 403
    assert (await tills.http.get(SESSIONS, headers=auth(clerk))).status_code == 403
    assert (await tills.http.post(SESSIONS, json={"opening_cents": 1})).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"opening_cents": -1},
        {"opening_cents": 100_000_001},
        {"opening_cents": "100"},
        {"opening_cents": 1.5},
        {},
        {"opening_cents": 100, "operator_id": str(uuid.uuid4())},
    ],
)
async def test_an_opening_out_of_bounds_is_a_422(tills: Till, body: dict[str, Any]) -> None:
    answer = await tills.http.post(SESSIONS, json=body, headers=auth(person(Role.VENDEDOR)))
    assert answer.status_code == 422


# -- listing ----------------------------------------------------------------------------


async def test_a_vendedor_lists_their_own_sessions_and_an_admin_all(tills: Till) -> None:
    joana, ana, admin = person(Role.VENDEDOR), person(Role.VENDEDOR), person(Role.ADMIN)
    first = await tills.opened(joana, 100)
    assert (await tills.close(joana, first["id"], cash_cents=100)).status_code == 200
    second = await tills.opened(joana, 200)
    other = await tills.opened(ana, 300)
    mine = await tills.sessions(joana)
    assert [s["id"] for s in mine] == [second["id"], first["id"]]  # newest first
    assert {s["operator_id"] for s in mine} == {joana.user_id}
    everyone = {s["id"] for s in await tills.sessions(admin, limit="500")}
    assert {first["id"], second["id"], other["id"]} <= everyone
    assert [s["id"] for s in await tills.sessions(joana, status="open")] == [second["id"]]
    assert [s["id"] for s in await tills.sessions(joana, status="closed")] == [first["id"]]
    assert (
        await tills.http.get(SESSIONS, params={"status": "x"}, headers=auth(joana))
    ).status_code == 422
    assert (
        await tills.http.get(SESSIONS, params={"limit": "501"}, headers=auth(joana))
    ).status_code == 422


async def test_the_date_is_the_shop_day_the_session_opened(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    today = await tills.opened(joana)
    await tills.close(joana, today["id"], cash_cents=0)
    # One opened at 23:30 in São Paulo the day before (02:30 UTC today).
    day = shop_time.today()
    late = shop_time.start_of(day) - timedelta(minutes=30)
    yesterday = uuid.uuid4()
    await tills.sql(
        "INSERT INTO till_sessions (id, operator_id, status, opened_at, opening_cents)"
        " VALUES (%s, %s, 'open', %s, 0)",
        (yesterday, joana.user_id, late),
    )
    on_day = await tills.sessions(joana, date=day.isoformat())
    assert [s["id"] for s in on_day] == [today["id"]]
    before = await tills.sessions(joana, date=(day - timedelta(days=1)).isoformat())
    assert [s["id"] for s in before] == [str(yesterday)]
    bad = await tills.http.get(SESSIONS, params={"date": "31/12/2026"}, headers=auth(joana))
    assert bad.status_code == 422


# -- expected amounts -------------------------------------------------------------------


async def test_expected_counts_the_sessions_paid_sales_by_method(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 10000))["id"]
    await tills.sale(session, "cash", 4725)  # change given back: the total counts
    await tills.sale(session, "cash", 1275)
    await tills.sale(session, "pix", 3000)
    await tills.sale(session, "debit", 2000)
    await tills.sale(session, "credit", 5000)
    await tills.sale(session, "cash", 9999, status="pending_payment")  # not paid yet
    await tills.sale(session, "cash", 8888, status="payment_failed")
    # Paid, then cancelled: it came into this drawer; its refund leaves the canceller's.
    await tills.sale(session, "pix", 7777, status="refunded")
    await tills.sale(session, "cash", 6666, status="cancelled")  # never paid
    await tills.sale(None, "cash", 5555)  # made with no till open
    other = (await tills.opened(person(Role.VENDEDOR), 0))["id"]
    await tills.sale(other, "cash", 4444)  # another operator's drawer
    found = await tills.session(joana, session)
    assert found["expected"] == amounts(cash=16000, pix=10777, debit=2000, credit=5000)
    assert found["sales_count"] == 6


async def test_a_fiado_sale_is_not_money_in_the_drawer(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 500))["id"]
    await tills.sale(session, "fiado", 12345)
    await tills.sale(session, "cash", 100)
    found = await tills.session(joana, session)
    assert found["expected"] == amounts(cash=600)
    assert found["sales_count"] == 2


# -- movements --------------------------------------------------------------------------


async def test_sangria_and_suprimento_move_the_expected_cash(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 10000))["id"]
    await tills.sale(session, "cash", 5000)
    await tills.sale(session, "pix", 7000)
    supply = await tills.move(joana, session, "suprimento", 2000, "troco do banco")
    assert supply.status_code == 201, supply.text
    body = supply.json()
    assert (body["kind"], body["amount_cents"], body["reason"]) == (
        "suprimento",
        2000,
        "troco do banco",
    )
    assert (body["session_id"], body["by"]) == (session, joana.user_id)
    # 10000 + 5000 + 2000 = 17000 cash: pix is not in the drawer for a sangria.
    over = await tills.move(joana, session, "sangria", 17001)
    assert over.status_code == 422
    assert over.json()["code"] == "sangria_exceeds_cash"
    assert "maior que o dinheiro esperado" in over.json()["detail"]
    taken = await tills.move(joana, session, "sangria", 17000, "depósito")
    assert taken.status_code == 201
    found = await tills.session(joana, session)
    assert found["expected"] == amounts(cash=0, pix=7000)
    assert [(m["kind"], m["amount_cents"]) for m in found["movements"]] == [
        ("suprimento", 2000),
        ("sangria", 17000),
    ]
    assert (await tills.move(joana, session, "sangria", 1)).status_code == 422
    # Each movement is news for finance, with the session as its aggregate.
    events = await tills.outbox("com.acougue.till.movement_recorded", session)
    assert [(e["data"]["kind"], e["data"]["amount_cents"]) for e in events] == [
        ("suprimento", 2000),
        ("sangria", 17000),
    ]
    first = events[0]
    assert first["data"]["movement_id"] == body["id"]
    assert first["data"]["operator_id"] == joana.user_id
    assert first["data"]["reason"] == "troco do banco"
    assert first["attributes"]["source"] == "/acougue/till"


async def test_only_the_operator_or_an_admin_moves_a_session(tills: Till) -> None:
    joana, ana, admin = person(Role.VENDEDOR), person(Role.VENDEDOR), person(Role.ADMIN)
    session = (await tills.opened(joana, 1000))["id"]
    stranger = await tills.move(ana, session, "suprimento", 100)
    assert stranger.status_code == 404
    assert stranger.json()["detail"] == "Caixa não encontrado."
    assert (await tills.move(joana, str(uuid.uuid4()), "suprimento", 100)).status_code == 404
    by_admin = await tills.move(admin, session, "sangria", 500, "cofre")
    assert by_admin.status_code == 201
    assert by_admin.json()["by"] == admin.user_id
    events = await tills.outbox("com.acougue.till.movement_recorded", session)
    assert [e["data"]["operator_id"] for e in events] == [joana.user_id]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "sangria", "amount_cents": 0, "reason": "x"},
        {"kind": "sangria", "amount_cents": -5, "reason": "x"},
        {"kind": "sangria", "amount_cents": 100_000_001, "reason": "x"},
        {"kind": "retirada", "amount_cents": 5, "reason": "x"},
        {"kind": "sangria", "amount_cents": 5, "reason": ""},
        {"kind": "sangria", "amount_cents": 5, "reason": "   "},
        {"kind": "sangria", "amount_cents": 5, "reason": "x" * 201},
        {"kind": "sangria", "amount_cents": 5},
    ],
)
async def test_a_movement_out_of_bounds_is_a_422(tills: Till, body: dict[str, Any]) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    answer = await tills.http.post(
        f"{SESSIONS}/{session}/movements", json=body, headers=auth(joana)
    )
    assert answer.status_code == 422


async def test_concurrent_sangrias_never_take_more_than_the_cash(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    await (await tills.runtime.pool.get()).wait()
    answers = await asyncio.gather(*(tills.move(joana, session, "sangria", 300) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [422] * 3
    assert (await tills.session(joana, session))["expected"]["cash_cents"] == 100


# -- closing ----------------------------------------------------------------------------


async def test_closing_shows_expected_counted_and_the_difference(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 10000))["id"]
    await tills.sale(session, "cash", 3000)
    await tills.sale(session, "pix", 4000)
    await tills.sale(session, "credit", 2500)
    assert (await tills.move(joana, session, "sangria", 5000, "cofre")).status_code == 201
    closed = await tills.close(
        joana, session, cash_cents=7900, pix_cents=4000, debit_cents=100, credit_cents=2500
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    assert body["expected"] == amounts(cash=8000, pix=4000, debit=0, credit=2500)
    assert body["counted"] == amounts(cash=7900, pix=4000, debit=100, credit=2500)
    assert body["difference"] == amounts(cash=-100, pix=0, debit=100, credit=0)
    assert body["sales_count"] == 3
    assert [m["kind"] for m in body["movements"]] == ["sangria"]
    # The figures stand: a sale paid afterwards does not change a closed session.
    await tills.sale(session, "cash", 999)
    listed = await tills.session(joana, session)
    assert (listed["expected"], listed["difference"]) == (body["expected"], body["difference"])
    events = await tills.outbox("com.acougue.till.session_closed", session)
    assert len(events) == 1
    data = events[0]["data"]
    assert data["expected"] == body["expected"]
    assert data["counted"] == body["counted"]
    assert (data["operator_id"], data["opening_cents"]) == (joana.user_id, 10000)
    # Closed: no second closing, no movement; a new session may open.
    twice = await tills.close(joana, session, cash_cents=0)
    assert twice.status_code == 409
    assert twice.json()["detail"] == "Este caixa já foi fechado."
    assert (await tills.move(joana, session, "suprimento", 100)).status_code == 409
    assert len(await tills.outbox("com.acougue.till.session_closed", session)) == 1
    assert (await tills.open(joana)).status_code == 201


@pytest.mark.parametrize("status", ["pending_payment", "payment_failed"])
async def test_a_session_with_unpaid_sales_does_not_close(tills: Till, status: str) -> None:
    """Paid after the closing (a slow PIX, a retried card), a sale would come into a drawer
    whose figures froze: received or cancelled first, then the till closes."""
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    await tills.sale(session, "cash", 3000)
    waiting = await tills.sale(session, "pix", 8500, status=status)
    refused = await tills.close(joana, session, cash_cents=4000)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "till_has_unpaid_sales"
    assert refused.json()["unpaid"] == 1
    assert (await tills.session(joana, session))["status"] == "open"
    await tills.settle(waiting, "cancelled")
    assert (await tills.close(joana, session, cash_cents=4000)).status_code == 200


async def test_a_sale_being_recorded_holds_the_closing_until_it_commits(tills: Till) -> None:
    """complete-sale's lookup shares the session's row until its sale commits; the closing
    then sees that sale (unpaid: refused) instead of freezing without it."""
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    async with await tills.runtime.unit_of_work() as selling:
        assert await open_session_of(selling.conn, UUID(joana.user_id)) == UUID(session)
        closing = asyncio.create_task(tills.close(joana, session, cash_cents=1000))
        await asyncio.sleep(0.3)
        assert not closing.done()  # waits for the sale's transaction
        await tills.sale(session, "cash", 500, status="pending_payment", conn=selling.conn)
        await selling.commit()
    assert (await closing).status_code == 409


async def test_only_the_operator_or_an_admin_closes_a_session(tills: Till) -> None:
    joana, ana, admin = person(Role.VENDEDOR), person(Role.VENDEDOR), person(Role.ADMIN)
    session = (await tills.opened(joana, 1000))["id"]
    assert (await tills.close(ana, session, cash_cents=1000)).status_code == 404
    assert (await tills.close(joana, str(uuid.uuid4()), cash_cents=0)).status_code == 404
    by_admin = await tills.close(admin, session, cash_cents=1000)
    assert by_admin.status_code == 200
    assert by_admin.json()["difference"] == amounts()


async def test_concurrent_closings_close_once(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    await (await tills.runtime.pool.get()).wait()
    answers = await asyncio.gather(
        *(tills.close(joana, session, cash_cents=1000) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert len(await tills.outbox("com.acougue.till.session_closed", session)) == 1


@pytest.mark.parametrize(
    "counted",
    [
        {"cash_cents": -1},
        {"cash_cents": 1_000_000_001},
        {"pix_cents": 5},  # cash is required
        {"cash_cents": 1, "fiado_cents": 5},
        {"cash_cents": "1"},
    ],
)
async def test_counted_amounts_out_of_bounds_are_a_422(
    tills: Till, counted: dict[str, Any]
) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    answer = await tills.http.post(
        f"{SESSIONS}/{session}/close", json={"counted": counted}, headers=auth(joana)
    )
    assert answer.status_code == 422
    assert (await tills.session(joana, session))["status"] == "open"


# -- customers' payments (apply-to-till) ------------------------------------------------


def payment(receiver: Principal, method: str = "cash", amount: int = 2500) -> dict[str, Any]:
    return {
        "payment_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "amount_cents": amount,
        "method": method,
        "received_by": receiver.user_id,
    }


async def test_a_customer_payment_counts_once_in_the_receivers_open_till(tills: Till) -> None:
    joana, ana = person(Role.VENDEDOR), person(Role.VENDEDOR)
    session = (await tills.opened(joana, 1000))["id"]
    others = (await tills.opened(ana, 0))["id"]
    cash, pix = payment(joana, "cash", 2500), payment(joana, "pix", 4000)
    first = await tills.deliver(cash, event_id="e-1")
    assert (first.status_code, first.json()) == (200, {"status": "applied"})
    # The broker delivers it again: the inbox answers duplicate.
    again = await tills.deliver(cash, event_id="e-1")
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    # The same payment in another event (a replay under a new id): still counted once.
    assert (await tills.deliver(cash)).status_code == 200
    assert (await tills.deliver(pix)).status_code == 200
    assert (await tills.session(joana, session))["expected"] == amounts(cash=3500, pix=4000)
    assert (await tills.session(ana, others))["expected"] == amounts()


async def test_a_customer_payment_with_no_open_till_counts_nowhere(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    answer = await tills.deliver(payment(joana))
    assert (answer.status_code, answer.json()) == (200, {"status": "applied"})
    session = (await tills.opened(joana, 0))["id"]
    # Opening later does not pull in what was received before.
    assert (await tills.session(joana, session))["expected"] == amounts()
    closed = (await tills.close(joana, session, cash_cents=0)).json()
    late = payment(joana)
    assert (await tills.deliver(late)).status_code == 200
    assert (await tills.session(joana, closed["id"]))["expected"] == amounts()
    rows = await tills.sql(
        "SELECT 1 FROM till_customer_payments WHERE payment_id = %s", (late["payment_id"],)
    )
    assert rows == []


async def test_a_payment_taken_before_the_open_session_is_not_pulled_into_it(
    tills: Till,
) -> None:
    """Received, then the till closed and opened again before the event arrived: the money
    belongs to the closed session, never to the new one."""
    joana = person(Role.VENDEDOR)
    taken = datetime.now(UTC)
    await asyncio.sleep(0.01)
    session = (await tills.opened(joana, 0))["id"]
    assert (await tills.deliver(payment(joana), at=taken)).status_code == 200
    assert (await tills.session(joana, session))["expected"] == amounts()
    assert (await tills.deliver(payment(joana, amount=700))).status_code == 200
    assert (await tills.session(joana, session))["expected"] == amounts(cash=700)


async def test_a_payment_event_breaking_its_contract_is_refused(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    bad = payment(joana, "fiado")  # an account is not paid "no fiado"
    assert (await tills.deliver(bad)).status_code == 400
    assert (await tills.deliver({**payment(joana), "amount_cents": 0})).status_code == 400
    session = (await tills.opened(joana, 0))["id"]
    not_uuid = {**payment(joana), "payment_id": "p-1"}
    assert (await tills.deliver(not_uuid)).status_code == 422
    assert (await tills.session(joana, session))["expected"] == amounts()


# -- the calls complete-sale and return-sale make ---------------------------------------


async def test_open_session_of_names_the_operators_open_session(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    pool = await tills.runtime.pool.get()
    async with pool.connection() as conn:
        assert await till.open_session_of(conn, uuid.UUID(joana.user_id)) is None
    session = (await tills.opened(joana, 0))["id"]
    async with pool.connection() as conn:
        assert str(await till.open_session_of(conn, uuid.UUID(joana.user_id))) == session
    await tills.close(joana, session, cash_cents=0)
    async with pool.connection() as conn:
        assert await till.open_session_of(conn, uuid.UUID(joana.user_id)) is None


async def refund(tills: Till, session: str, method: str, amount: int, return_id: uuid.UUID) -> None:
    pool = await tills.runtime.pool.get()
    async with pool.connection() as conn:
        await till.record_refund(conn, uuid.UUID(session), method, amount, return_id)
        await conn.commit()


async def test_a_returns_refund_leaves_the_drawer_once(tills: Till) -> None:
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 10000))["id"]
    await tills.sale(session, "pix", 6000)
    cash_return, pix_return = uuid.uuid4(), uuid.uuid4()
    await refund(tills, session, "cash", 1500, cash_return)
    await refund(tills, session, "cash", 1500, cash_return)  # return-sale again: once
    await refund(tills, session, "pix", 2000, pix_return)
    await refund(tills, session, "fiado", 3000, uuid.uuid4())  # back to the account
    assert (await tills.session(joana, session))["expected"] == amounts(cash=8500, pix=4000)
    closed = (await tills.close(joana, session, cash_cents=8500, pix_cents=4000)).json()
    assert closed["difference"] == amounts()
    # A closed drawer pays nothing out; the same return again still changes nothing.
    with pytest.raises(Conflict):
        await refund(tills, session, "cash", 100, uuid.uuid4())
    await refund(tills, session, "cash", 1500, cash_return)
    with pytest.raises(NotFound):
        await refund(tills, str(uuid.uuid4()), "cash", 100, uuid.uuid4())


async def test_a_sale_is_not_held_up_by_a_till_being_worked(tills: Till) -> None:
    """A movement or a closing locks its session (FOR NO KEY UPDATE); a sale recording the
    session meanwhile (its foreign key takes KEY SHARE) goes through at once."""
    joana = person(Role.VENDEDOR)
    session = (await tills.opened(joana, 0))["id"]
    pool = await tills.runtime.pool.get()
    async with pool.connection() as working:
        assert await till_store.get_session(working, uuid.UUID(session), for_update=True)
        async with pool.connection() as selling:
            await selling.execute("SET lock_timeout = '2s'")
            sale = uuid.uuid4()
            await selling.execute(
                "INSERT INTO sales (id, seller_id, idempotency_key, request_hash, status,"
                " subtotal_cents, discount_cents, total_cents, payment_method, till_session_id)"
                " VALUES (%s, %s, %s, 'h', 'pending_payment', 100, 0, 100, 'pix', %s)",
                (sale, joana.user_id, str(sale), session),
            )
            await selling.execute("RESET lock_timeout")
            await selling.commit()
        await working.rollback()
