"""Fiado at the counter (issue 17), on the real PostgreSQL, each function as its own role:
complete-sale stores the customer (and the seller's till session), process-payment hands the
attempt to the customer's account once and charges nothing, update-sale-status takes the
account's decision, and only from the account (a fiado approval from the acquirer is refused
and dead-lettered, never applied).

charge-account (the customers domain) is not here: its events are written as it emits them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from functions.payments import service as payments
from functions.payments.settings import PaymentSettings
from functions.sales import receipts, service, status, store
from functions.sales import till as tills
from functions.sales.approvals import ApprovalVerifier
from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys
from shared.contracts.sales import PaymentIn, ReturnItemOut, ReturnOut, SaleIn, SaleOut
from shared.domain_errors import Conflict, NotFound
from shared.events.envelope import new_envelope
from shared.events.payments import PaymentApproved, PaymentDeclined, PaymentRefunded
from shared.events.registry import Payload, type_of
from shared.events.sales import SaleCancelled, SaleCompleted, SalePaymentRequested
from shared.runtime import Runtime
from shared.subscriber import Subscriber
from tests.functions.support import UNUSED_JWKS_URL, counter_product, function_runtime
from tests.support.database import ProvisionedDatabase

MASK = ScaleMask.from_setting(DEFAULT_MASK)
POLICY = service.DiscountPolicy(
    limit_percent={Role.VENDEDOR: 10},
    verifier=ApprovalVerifier(StaticKeys({"keys": []}), issuer="acougue-auth"),
)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
CUSTOMER = uuid.uuid4()
SESSION = uuid.uuid4()
ACCOUNTS = "/acougue/charge-account"
ACQUIRER = "/acougue/process-payment"
OVER_LIMIT = "limite de fiado excedido"


@pytest.fixture
async def sales(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(database, "sales", "complete_sale", k_sink=None)


@pytest.fixture
async def sales_status(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(database, "sales", "update_sale_status", k_sink=None)


@pytest.fixture
async def payments_runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(database, "payments", "process_payment", k_sink=None)


@pytest.fixture
def payment_settings(database: ProvisionedDatabase) -> PaymentSettings:
    return PaymentSettings(
        function_target="process_payment",
        database_url=SecretStr(database.role_dsn("payments")),
        auth_jwks_url=UNUSED_JWKS_URL,
        pix_key="pix@acougue.example",
        pix_merchant_name="Acougue Modelo",
        pix_merchant_city="SAO PAULO",
    )


@pytest.fixture
async def product_id(sales: Runtime) -> str:
    return await counter_product(sales, "Alcatra", 5000)


@pytest.fixture
async def status_client(sales_status: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """update-sale-status as the broker reaches it (HTTP, binary CloudEvents)."""
    subscriber = Subscriber(sales_status, status.events())

    async def deliver(request: Request) -> Response:
        return await subscriber(request)

    app = Starlette(routes=[Route("/", deliver, methods=["POST"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://update-sale-status"
    ) as client:
        yield client


@pytest.fixture(autouse=True)
async def open_till(sales: Runtime) -> None:
    """SELLER's open till session (the till's own table; opened once for the module)."""
    pool = await sales.pool.get()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO till_sessions (id, operator_id, status, opening_cents)"
            " VALUES (%s, %s, 'open', 0) ON CONFLICT DO NOTHING",
            (SESSION, uuid.UUID(SELLER.user_id)),
        )


async def sell_fiado(sales: Runtime, product_id: str, method: str = "fiado") -> SaleOut:
    fiado = method == "fiado"
    body = SaleIn.model_validate(
        {
            "items": [{"product_id": product_id, "quantity": "2.000"}],
            "payment": {"method": method, **({"customer_id": str(CUSTOMER)} if fiado else {})},
        }
    )
    async with await sales.unit_of_work() as uow:
        sale, _ = await service.complete_sale(
            uow,
            SELLER,
            str(uuid.uuid4()),
            body,
            MASK,
            POLICY,
            till_session_of=tills.open_session_of,
        )
        await uow.commit()
    return sale


async def outbox(runtime: Runtime, subject: str, event_type: str) -> list[dict[str, Any]]:
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT data FROM outbox WHERE aggregate_id = %s AND event_type = %s ORDER BY id",
            (subject, f"com.acougue.{event_type}"),
        )
        return [row["data"] for row in await cursor.fetchall()]


async def read(runtime: Runtime, sale_id: uuid.UUID) -> SaleOut:
    async with await runtime.unit_of_work() as uow:
        found = await store.get_sale(uow.conn, sale_id)
    assert found is not None
    return found.sale


async def deliver(client: httpx.AsyncClient, payload: Payload, source: str) -> httpx.Response:
    event = new_envelope(
        type_=type_of(type(payload)),
        source=source,
        subject=getattr(payload, "sale_id", "x"),
        data=payload.model_dump(mode="json"),
    )
    return await client.post("/", content=event.body(), headers=event.binary_headers())


def facts(sale: SaleOut, method: str = "fiado", attempt: int = 1) -> dict[str, Any]:
    return {
        "payment_id": str(uuid.uuid4()),
        "sale_id": str(sale.id),
        "attempt": attempt,
        "method": method,
        "amount_cents": sale.total_cents,
    }


def approved(sale: SaleOut, method: str = "fiado", attempt: int = 1) -> PaymentApproved:
    fiado = method == "fiado"
    return PaymentApproved(
        **facts(sale, method, attempt),
        fee_cents=0,
        customer_id=str(CUSTOMER) if fiado else None,
        customer_name="Dona Maria" if fiado else None,
    )


async def test_a_fiado_sale_stores_its_customer_and_till_and_asks_for_the_account(
    sales: Runtime, product_id: str
) -> None:
    sale = await sell_fiado(sales, product_id)
    assert (sale.status, sale.payment.method) == ("pending_payment", "fiado")
    assert (sale.customer_id, sale.till_session_id) == (CUSTOMER, SESSION)
    assert (sale.payment.installments, sale.payment.change_cents) == (None, None)
    kept = await read(sales, sale.id)
    assert (kept.customer_id, kept.customer_name, kept.till_session_id) == (
        CUSTOMER,
        None,
        SESSION,
    )
    (completed,) = await outbox(sales, str(sale.id), "sale.completed")
    assert completed["payment"] == {
        "method": "fiado",
        "installments": None,
        "cash_received_cents": None,
        "customer_id": str(CUSTOMER),
    }


async def test_a_seller_without_an_open_till_records_none(sales: Runtime, product_id: str) -> None:
    other = Principal(user_id=str(uuid.uuid4()), username="ana", role=Role.ADMIN)
    body = SaleIn.model_validate(
        {"items": [{"product_id": product_id, "quantity": "1.000"}], "payment": {"method": "pix"}}
    )
    async with await sales.unit_of_work() as uow:
        sale, _ = await service.complete_sale(
            uow, other, str(uuid.uuid4()), body, MASK, POLICY, till_session_of=tills.open_session_of
        )
        await uow.commit()
    assert ((await read(sales, sale.id)).till_session_id, sale.customer_id) == (None, None)


async def test_process_payment_hands_a_fiado_attempt_over_once_and_charges_nothing(
    sales: Runtime,
    product_id: str,
    payments_runtime: Runtime,
    payment_settings: PaymentSettings,
) -> None:
    sale = await sell_fiado(sales, product_id)
    (data,) = await outbox(sales, str(sale.id), "sale.completed")
    request = SaleCompleted.model_validate(data)
    for _ in range(3):  # redeliveries (new event ids too: the inbox would not catch them)
        async with await payments_runtime.unit_of_work() as uow:
            await payments.charge(uow, request, payment_settings)
            await uow.commit()
    (asked,) = await outbox(payments_runtime, str(sale.id), "payment.fiado_requested")
    assert asked["customer_id"] == str(CUSTOMER)
    assert asked["seller_id"] == SELLER.user_id
    assert (asked["attempt"], asked["amount_cents"], asked["method"]) == (1, 10000, "fiado")
    uuid.UUID(asked["payment_id"])
    for decided in ("payment.approved", "payment.declined", "payment.pending"):
        assert await outbox(payments_runtime, str(sale.id), decided) == []
    # Cancelled at the counter: the account gives it back (charge-account), not the acquirer.
    async with await payments_runtime.unit_of_work() as uow:
        await payments.cancel(
            uow, SaleCancelled(sale_id=str(sale.id), was_paid=False, total_cents=10000)
        )
        await uow.commit()
    for decided in ("payment.declined", "payment.refunded"):
        assert await outbox(payments_runtime, str(sale.id), decided) == []


async def test_a_card_attempt_after_a_fiado_one_is_still_refunded_by_the_acquirer(
    sales: Runtime,
    product_id: str,
    payments_runtime: Runtime,
    payment_settings: PaymentSettings,
) -> None:
    sale = await sell_fiado(sales, product_id)
    (data,) = await outbox(sales, str(sale.id), "sale.completed")
    second = SalePaymentRequested(
        sale_id=str(sale.id),
        seller_id=SELLER.user_id,
        attempt=2,
        total_cents=sale.total_cents,
        payment={"method": "debit"},
    )
    async with await payments_runtime.unit_of_work() as uow:
        await payments.charge(uow, SaleCompleted.model_validate(data), payment_settings)
        await payments.charge(uow, second, payment_settings)
        await payments.cancel(
            uow, SaleCancelled(sale_id=str(sale.id), was_paid=True, total_cents=10000)
        )
        await uow.commit()
    (refund,) = await outbox(payments_runtime, str(sale.id), "payment.refunded")
    assert (refund["method"], refund["attempt"]) == ("debit", 2)


async def test_the_accounts_approval_pays_the_sale_and_names_the_customer(
    sales: Runtime, product_id: str, status_client: httpx.AsyncClient
) -> None:
    sale = await sell_fiado(sales, product_id)
    answer = await deliver(status_client, approved(sale), ACCOUNTS)
    assert answer.status_code == 200, answer.text
    kept = await read(sales, sale.id)
    assert (kept.status, kept.payment.status) == ("paid", "approved")
    assert (kept.customer_id, kept.customer_name) == (CUSTOMER, "Dona Maria")
    (paid,) = await outbox(sales, str(sale.id), "sale.paid")
    assert (paid["payment_method"], paid["total_cents"]) == ("fiado", 10000)
    # The account gives it back (a cancellation by an admin): the sale is refunded.
    refund = PaymentRefunded(**facts(sale), fee_cents=0)
    assert (await deliver(status_client, refund, ACCOUNTS)).status_code == 200
    assert (await read(sales, sale.id)).status == "refunded"


async def test_over_the_limit_the_sale_fails_and_is_paid_another_way(
    sales: Runtime, product_id: str, status_client: httpx.AsyncClient
) -> None:
    sale = await sell_fiado(sales, product_id)
    declined = PaymentDeclined(**facts(sale), reason=OVER_LIMIT)
    assert (await deliver(status_client, declined, ACCOUNTS)).status_code == 200
    kept = await read(sales, sale.id)
    assert (kept.status, kept.payment.reason) == ("payment_failed", OVER_LIMIT)
    (failed,) = await outbox(sales, str(sale.id), "sale.payment_failed")
    assert failed["reason"] == OVER_LIMIT
    async with await sales.unit_of_work() as uow:
        retried = await service.retry_payment(uow, SELLER, sale.id, PaymentIn(method="pix"))
        await uow.commit()
    assert (retried.status, retried.attempt, retried.payment.method) == (
        "pending_payment",
        2,
        "pix",
    )
    assert retried.customer_id is None
    (requested,) = await outbox(sales, str(sale.id), "sale.payment_requested")
    assert requested["payment"]["customer_id"] is None
    # A late fiado approval of the first attempt changes nothing.
    assert (await deliver(status_client, approved(sale), ACCOUNTS)).status_code == 200
    assert (await read(sales, sale.id)).status == "pending_payment"


@pytest.mark.parametrize(
    ("method", "source", "decider"),
    [
        pytest.param("fiado", ACQUIRER, ACCOUNTS, id="fiado-decided-by-the-acquirer"),
        pytest.param("pix", ACCOUNTS, ACQUIRER, id="pix-decided-by-the-accounts"),
    ],
)
async def test_a_decision_from_the_wrong_decider_is_refused_and_never_applied(
    sales: Runtime,
    product_id: str,
    status_client: httpx.AsyncClient,
    method: str,
    source: str,
    decider: str,
) -> None:
    sale = await sell_fiado(sales, product_id, method)
    for forged in (
        approved(sale, method),
        PaymentDeclined(**facts(sale, method), reason=OVER_LIMIT),
    ):
        answer = await deliver(status_client, forged, source)
        assert answer.status_code == 422, answer.text  # dead-lettered at once, not retried
        assert answer.headers["content-type"] == "application/problem+json"
    kept = await read(sales, sale.id)
    assert (kept.status, kept.payment.status, kept.customer_name) == (
        "pending_payment",
        "pending",
        None,
    )
    assert await outbox(sales, str(sale.id), "sale.paid") == []
    # The right decider's word still counts.
    assert (await deliver(status_client, approved(sale, method), decider)).status_code == 200
    assert (await read(sales, sale.id)).status == "paid"


async def test_an_approval_by_the_right_decider_of_another_method_is_refused(
    sales: Runtime, product_id: str, status_client: httpx.AsyncClient
) -> None:
    """The acquirer approving a card payment the fiado attempt never asked for."""
    sale = await sell_fiado(sales, product_id)
    answer = await deliver(status_client, approved(sale, "debit"), ACQUIRER)
    assert answer.status_code == 422, answer.text
    assert (await read(sales, sale.id)).status == "pending_payment"


async def test_a_sale_read_alone_carries_its_returns_and_the_receipt_too(
    sales: Runtime, product_id: str, status_client: httpx.AsyncClient
) -> None:
    """GET /api/sales/{id} and the receipt take the sale's returns from return-sale's
    `returns_of` (here a stand-in with one return); the list leaves them out."""
    sale = await sell_fiado(sales, product_id)
    back = ReturnOut(
        id=uuid.uuid4(),
        sale_id=sale.id,
        at=datetime.now(UTC),
        by=uuid.uuid4(),
        reason="osso demais",
        refund_cents=2500,
        method="fiado",
        items=[
            ReturnItemOut(
                product_id=sale.items[0].product_id,
                name="Alcatra",
                quantity=Decimal("0.500"),
                refund_cents=2500,
            )
        ],
    )

    async def returns_of(conn: Any, sale_id: uuid.UUID) -> list[ReturnOut]:
        return [back] if sale_id == sale.id else []

    async with await sales.unit_of_work() as uow:
        shown = await service.sale_for(uow.conn, SELLER, sale.id, returns_of=returns_of)
        with pytest.raises(Conflict, match="aguardando pagamento"):
            await service.receipt_sale(uow.conn, SELLER, sale.id, returns_of)
    assert (shown.returns, shown.returned_cents) == ([back], 2500)
    assert (await deliver(status_client, approved(sale), ACCOUNTS)).status_code == 200
    async with await sales.unit_of_work() as uow:
        printed = await service.receipt_sale(uow.conn, SELLER, sale.id, returns_of)
        other = Principal(user_id=str(uuid.uuid4()), username="ana", role=Role.VENDEDOR)
        with pytest.raises(NotFound):
            await service.receipt_sale(uow.conn, other, sale.id, returns_of)
    assert printed.returned_cents == 2500
    assert "osso demais" in receipts.text(printed, receipts.Shop("Açougue"))
