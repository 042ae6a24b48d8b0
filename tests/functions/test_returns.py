"""return-sale (issue 17) on the real PostgreSQL, through its HTTP function in process:
POST /api/sales/{id}/returns as an admin's token would reach it from the gateway.

The till is another slice: its two calls (`open_session_of`, `record_refund`) are stood in
for here, so what return-sale hands the till is what is checked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg.rows import dict_row
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.sales import returns, returns_store, service, store
from functions.sales import till as tills
from functions.sales.approvals import ApprovalVerifier
from functions.sales.domain import SaleConflict, SaleState, Status
from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier, public_jwk
from shared.contracts.sales import SaleIn, SaleOut
from shared.events.catalog import ProductState
from shared.http import HttpFunction
from shared.money import allocate
from shared.runtime import Runtime
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

KEY = Ed25519PrivateKey.generate()
MASK = ScaleMask.from_setting(DEFAULT_MASK)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dono", role=Role.ADMIN)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
POLICY = service.DiscountPolicy(
    limit_percent={Role.VENDEDOR: 100},
    verifier=ApprovalVerifier(StaticKeys({"keys": [public_jwk(KEY.public_key())]}), issuer="x"),
)
BEEF_PRICE, PORK_PRICE = 5000, 2000  # R$ 50,00/kg and R$ 20,00/kg
RETURNED = "com.acougue.sale.returned"


class FakeTill:
    """What return-sale asks of the till and tells it."""

    def __init__(self) -> None:
        self.sessions: dict[UUID, UUID] = {}
        self.refunds: list[tuple[UUID, str, int, UUID]] = []

    async def open_session_of(self, conn: Any, operator_id: UUID) -> UUID | None:
        return self.sessions.get(operator_id)

    async def record_refund(
        self, conn: Any, session_id: UUID, method: str, amount_cents: int, return_id: UUID
    ) -> None:
        self.refunds.append((session_id, method, amount_cents, return_id))


@pytest.fixture
def till(monkeypatch: pytest.MonkeyPatch) -> FakeTill:
    fake = FakeTill()
    monkeypatch.setattr(tills, "open_session_of", fake.open_session_of)
    monkeypatch.setattr(tills, "record_refund", fake.record_refund)
    return fake


@pytest.fixture
async def counter(database: ProvisionedDatabase) -> Runtime:
    """complete-sale's runtime: makes the sales that come back."""
    return function_runtime(database, "sales", "complete_sale", k_sink=None)


@pytest.fixture
async def return_sale(database: ProvisionedDatabase) -> Runtime:
    runtime = function_runtime(database, "sales", "return_sale", k_sink=None)
    runtime.verifier = TokenVerifier(
        StaticKeys({"keys": [public_jwk(KEY.public_key())]}),
        issuer=runtime.settings.auth_issuer,
        audience=runtime.settings.auth_audience,
    )
    return runtime


@pytest.fixture
async def api(return_sale: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    fn = HttpFunction(return_sale, returns.routes())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://return-sale") as client:
        yield client


def token(who: Principal = ADMIN) -> dict[str, str]:
    issuer = TokenIssuer(KEY, issuer="acougue-auth", audience="acougue", ttl_seconds=300)
    return {"Authorization": f"Bearer {issuer.issue(who).token}"}


@pytest.fixture
async def products(counter: Runtime) -> dict[str, str]:
    ids = {}
    for name, price in (("Picanha", BEEF_PRICE), ("Costela suína", PORK_PRICE)):
        pid = str(uuid.uuid4())
        async with await counter.unit_of_work() as uow:
            await service.apply_product(
                uow,
                ProductState(
                    product_id=pid,
                    name=name,
                    unit="kg",
                    price_cents=price,
                    category_id=None,
                    plu=None,
                    barcode=None,
                    min_stock="0.000",
                    active=True,
                    version=1,
                ),
            )
            await uow.commit()
        ids[name] = pid
    return {"beef": ids["Picanha"], "pork": ids["Costela suína"]}


Sell = Callable[..., Awaitable[SaleOut]]


@pytest.fixture
def sell(counter: Runtime, products: dict[str, str]) -> Sell:
    async def make(
        lines: dict[str, str], discount_cents: int = 0, *, paid: bool = True, **state: Any
    ) -> SaleOut:
        body = SaleIn.model_validate(
            {
                "items": [
                    {"product_id": products[name], "quantity": q} for name, q in lines.items()
                ],
                "discount_cents": discount_cents,
                "payment": {"method": "pix"},
            }
        )
        async with await counter.unit_of_work() as uow:
            sale, _ = await service.complete_sale(
                uow, SELLER, str(uuid.uuid4()), body, MASK, POLICY
            )
            if paid:
                await store.save_state(
                    uow.conn, sale.id, SaleState(Status.PAID, 1, **state), payment_status="approved"
                )
            await uow.commit()
        return sale

    return make


def asked(products: dict[str, str], reason: str = "Carne com osso demais", **lines: str) -> Any:
    return {
        "items": [{"product_id": products[name], "quantity": q} for name, q in lines.items()],
        "reason": reason,
    }


async def events_of(database: ProvisionedDatabase, sale_id: UUID) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(
        database.admin_dsn, row_factory=dict_row
    ) as conn:
        cursor = await conn.execute(
            "SELECT attributes, data FROM sales.outbox WHERE aggregate_id = %s"
            " AND event_type = %s ORDER BY id",
            (str(sale_id), RETURNED),
        )
        return await cursor.fetchall()


async def test_a_return_is_made_refunded_and_announced(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
) -> None:
    # R$ 100,00 of beef and R$ 20,00 of pork, R$ 12,00 off: the customer paid R$ 108,00.
    sale = await sell({"beef": "2.000", "pork": "1.000"}, 1200)
    assert sale.total_cents == 10800
    beef_paid, _ = allocate(10800, [Decimal(10000), Decimal(2000)])  # 9000
    session = uuid.uuid4()
    till.sessions[UUID(ADMIN.user_id)] = session

    answer = await api.post(
        f"/api/sales/{sale.id}/returns",
        json=asked(products, beef="0.500"),
        headers=token(),
    )

    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == f"/api/sales/{sale.id}"
    made = answer.json()
    assert made["refund_cents"] == beef_paid // 4 == 2250
    assert made["sale_id"] == str(sale.id)
    assert made["by"] == ADMIN.user_id
    assert made["method"] == "pix"
    assert made["reason"] == "Carne com osso demais"
    assert made["items"] == [
        {
            "product_id": products["beef"],
            "name": "Picanha",
            "quantity": "0.500",
            "refund_cents": 2250,
        }
    ]
    # The returning admin's till gives the money back, by the sale's method.
    assert till.refunds == [(session, "pix", 2250, UUID(made["id"]))]
    # One sale.returned, from return-sale, with everything its consumers act on.
    [event] = await events_of(database, sale.id)
    assert event["attributes"]["source"] == "/acougue/return-sale"
    assert event["attributes"]["subject"] == str(sale.id)
    assert event["data"] == {
        "sale_id": str(sale.id),
        "return_id": made["id"],
        "seller_id": SELLER.user_id,
        "items": [
            {
                "product_id": products["beef"],
                "name": "Picanha",
                "quantity": "0.500",
                "refund_cents": 2250,
            }
        ],
        "refund_cents": 2250,
        "payment_method": "pix",
        "customer_id": None,
        "till_session_id": str(session),
        "reason": "Carne com osso demais",
    }


async def test_without_an_open_till_nothing_is_given_to_a_till(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
) -> None:
    sale = await sell({"pork": "1.000"})
    answer = await api.post(
        f"/api/sales/{sale.id}/returns", json=asked(products, pork="1"), headers=token()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["refund_cents"] == PORK_PRICE
    assert till.refunds == []
    [event] = await events_of(database, sale.id)
    assert event["data"]["till_session_id"] is None


@pytest.mark.parametrize(
    ("paid", "state", "words"),
    [
        (False, {}, "aguardando pagamento"),
        (True, {"cancel_requested": True}, "sendo cancelada"),
    ],
    ids=["unpaid", "being-cancelled"],
)
async def test_only_a_paid_sale_takes_a_return(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
    paid: bool,
    state: dict[str, Any],
    words: str,
) -> None:
    sale = await sell({"beef": "1.000"}, paid=paid, **state)
    answer = await api.post(
        f"/api/sales/{sale.id}/returns", json=asked(products, beef="1"), headers=token()
    )
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert words in answer.json()["detail"]
    assert await events_of(database, sale.id) == []


async def test_an_unknown_sale_is_404(
    api: httpx.AsyncClient, products: dict[str, str], till: FakeTill
) -> None:
    answer = await api.post(
        f"/api/sales/{uuid.uuid4()}/returns", json=asked(products, beef="1"), headers=token()
    )
    assert answer.status_code == 404, answer.text


async def test_only_an_admin_takes_a_return(
    api: httpx.AsyncClient, sell: Sell, products: dict[str, str], till: FakeTill
) -> None:
    sale = await sell({"beef": "1.000"})
    path = f"/api/sales/{sale.id}/returns"
    assert (await api.post(path, json=asked(products, beef="1"))).status_code == 401
    answer = await api.post(path, json=asked(products, beef="1"), headers=token(SELLER))
    assert answer.status_code == 403


async def test_more_than_is_left_is_refused(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
) -> None:
    sale = await sell({"beef": "2.000"})
    path = f"/api/sales/{sale.id}/returns"

    async def post(**lines: str) -> httpx.Response:
        return await api.post(path, json=asked(products, **lines), headers=token())

    over = await post(beef="2.001")
    assert over.status_code == 422, over.text
    not_sold = await post(pork="0.100")
    assert not_sold.status_code == 422
    assert "não está nesta venda" in not_sold.json()["detail"]
    assert (await post(beef="1.500")).status_code == 201
    # What earlier returns took back counts: 0.500 kg is left.
    again = await post(beef="0.501")
    assert again.status_code == 422, again.text
    assert "só resta 0.500 kg" in again.json()["detail"]
    assert again.json()["available"] == "0.500"
    last = await post(beef="0.500")
    assert last.status_code == 201
    assert (await post(beef="0.001")).status_code == 422
    # Everything back: exactly the sale's total was refunded, in two events.
    events = await events_of(database, sale.id)
    assert [e["data"]["refund_cents"] for e in events] == [7500, 2500]
    assert sum(e["data"]["refund_cents"] for e in events) == sale.total_cents


async def test_returns_in_thirds_refund_the_total_exactly(
    api: httpx.AsyncClient, sell: Sell, products: dict[str, str], till: FakeTill
) -> None:
    """3 kg with R$ 0,01 off (R$ 149,99): thirds refund 50,00 + 49,99 + 50,00."""
    sale = await sell({"beef": "3.000"}, 1)
    refunds = []
    for _ in range(3):
        answer = await api.post(
            f"/api/sales/{sale.id}/returns", json=asked(products, beef="1"), headers=token()
        )
        assert answer.status_code == 201, answer.text
        refunds.append(answer.json()["refund_cents"])
    # Each refunds share(returned so far) - share(returned before), half-up like the shop.
    assert refunds == [5000, 4999, 5000]
    assert sum(refunds) == sale.total_cents == 14999


async def test_two_returns_racing_for_the_last_kilo_only_one_wins(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sale = await sell({"beef": "3.000"})
    path = f"/api/sales/{sale.id}/returns"
    first = await api.post(path, json=asked(products, beef="2"), headers=token())
    assert first.status_code == 201
    # Each return dawdles after reading what was returned before, so that without the
    # sale's row lock both would read "1 kg left" and both would take it.
    read = returns_store.returned_so_far

    async def slow_read(conn: Any, sale_id: UUID) -> dict[UUID, Decimal]:
        found = await read(conn, sale_id)
        await asyncio.sleep(0.3)
        return found

    monkeypatch.setattr(returns_store, "returned_so_far", slow_read)
    answers = await asyncio.gather(
        *(
            api.post(path, json=asked(products, f"caixa {n}", beef="1"), headers=token())
            for n in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 422], [a.text for a in answers]
    events = await events_of(database, sale.id)
    assert len(events) == 2
    assert sum(e["data"]["refund_cents"] for e in events) == sale.total_cents


async def test_a_retried_return_with_the_same_key_returns_once(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
) -> None:
    sale = await sell({"beef": "2.000"})
    path = f"/api/sales/{sale.id}/returns"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = asked(products, beef="0.500")
    first = await api.post(path, json=body, headers={**token(), **key})
    second = await api.post(path, json=body, headers={**token(), **key})
    assert (first.status_code, second.status_code) == (201, 201)
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert len(await events_of(database, sale.id)) == 1
    assert len(till.refunds) == 0  # no session open: and, above all, not twice
    # The same key for a different return is a mistake, not a replay.
    other = await api.post(path, json=asked(products, beef="0.600"), headers={**token(), **key})
    assert other.status_code == 422
    # Concurrent retries of the same key: one return.
    racing = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        *(api.post(path, json=body, headers={**token(), **racing}) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await events_of(database, sale.id)) == 2


async def test_a_sales_returns_oldest_first(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    return_sale: Runtime,
) -> None:
    sale = await sell({"beef": "2.000", "pork": "1.000"})
    path = f"/api/sales/{sale.id}/returns"
    made = []
    for reason, lines in (
        ("primeira", {"beef": "0.250", "pork": "1.000"}),
        ("segunda", {"beef": "1.000"}),
    ):
        answer = await api.post(path, json=asked(products, reason, **lines), headers=token())
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    untouched = await sell({"beef": "1.000"})
    async with await return_sale.unit_of_work() as uow:
        found = await returns.returns_of(uow.conn, sale.id)
        none = await returns.returns_of(uow.conn, untouched.id)
    assert [r.model_dump(mode="json") for r in found] == made
    assert [r.reason for r in found] == ["primeira", "segunda"]
    assert [[(str(i.product_id), i.quantity) for i in r.items] for r in found] == [
        [(products["beef"], Decimal("0.250")), (products["pork"], Decimal("1.000"))],
        [(products["beef"], Decimal("1.000"))],
    ]
    assert none == []


async def test_a_fiado_return_goes_back_to_the_account_not_the_till(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
) -> None:
    sale = await sell({"beef": "1.000"})
    customer = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(database.admin_dsn) as conn:
        await conn.execute(
            "UPDATE sales.sales SET payment_method = 'fiado', customer_id = %s WHERE id = %s",
            (customer, sale.id),
        )
    till.sessions[UUID(ADMIN.user_id)] = uuid.uuid4()
    answer = await api.post(
        f"/api/sales/{sale.id}/returns", json=asked(products, beef="1"), headers=token()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["method"] == "fiado"
    assert till.refunds == []
    [event] = await events_of(database, sale.id)
    assert event["data"]["payment_method"] == "fiado"
    assert event["data"]["customer_id"] == str(customer)
    assert event["data"]["refund_cents"] == BEEF_PRICE


async def test_a_sale_with_returns_is_not_cancelled(
    api: httpx.AsyncClient,
    sell: Sell,
    products: dict[str, str],
    till: FakeTill,
    database: ProvisionedDatabase,
) -> None:
    """Cancelling would refund again what the return gave back; the rest goes back by
    returns. A paid sale without returns still cancels."""
    sale = await sell({"beef": "1.000", "pork": "1.000"})
    untouched = await sell({"pork": "1.000"})
    answer = await api.post(
        f"/api/sales/{sale.id}/returns", json=asked(products, pork="0.500"), headers=token()
    )
    assert answer.status_code == 201, answer.text
    cancel = function_runtime(database, "sales", "cancel_sale", k_sink=None)
    with pytest.raises(SaleConflict, match="devoluções"):
        async with await cancel.unit_of_work() as uow:
            await service.cancel_sale(uow, ADMIN, sale.id)
    async with await cancel.unit_of_work() as uow:
        await service.cancel_sale(uow, ADMIN, untouched.id)
        await uow.commit()
        found = await store.get_sale(uow.conn, untouched.id)
    assert found is not None
    assert found.state.cancel_requested  # refunded once the payment's refund comes back


async def test_a_paid_sale_cancelled_is_paid_back_from_the_cancellers_till(
    sell: Sell, database: ProvisionedDatabase
) -> None:
    """The sale's money came into its seller's drawer; the refund leaves the canceller's
    open one (the real till here, not the stand-in), once."""
    from functions.sales.till import open_till
    from shared.contracts.till import TillOpenIn

    till_runtime = function_runtime(database, "sales", "till", k_sink=None)
    async with await till_runtime.unit_of_work() as uow:
        session = await open_till(uow, ADMIN, TillOpenIn(opening_cents=20000))
        await uow.commit()
    sale = await sell({"pork": "1.000"})  # R$ 20,00 by PIX, paid
    cancel = function_runtime(database, "sales", "cancel_sale", k_sink=None)
    for _ in range(2):  # asked twice: the second is refused, nothing recorded again
        try:
            async with await cancel.unit_of_work() as uow:
                await service.cancel_sale(
                    uow,
                    ADMIN,
                    sale.id,
                    till_session_of=tills.open_session_of,
                    till_refund=tills.record_refund,
                )
                await uow.commit()
        except SaleConflict:
            pass
    async with await cancel.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT session_id, method, amount_cents FROM till_refunds WHERE return_id = %s",
            (sale.id,),
        )
        rows = await cursor.fetchall()
    assert [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows] == [
        (session.id, "pix", PORK_PRICE)
    ]
