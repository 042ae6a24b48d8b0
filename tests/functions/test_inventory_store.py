"""Inventory on the real PostgreSQL: locking, idempotency, refunds."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from functions.inventory import service, store
from shared.contracts.inventory import MovementIn
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotYet
from shared.events.envelope import Envelope, new_envelope
from shared.events.sales import SalePaid
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase


@pytest.fixture
def runtime(database: ProvisionedDatabase) -> Runtime:
    # k_sink None: events stay in the outbox; these tests look at the stock
    return function_runtime(
        database, "inventory", "apply_sale_to_stock", k_sink=None, db_pool_max=10
    )


async def _product(runtime: Runtime, *, unit: str = "kg", price: int = 5000) -> uuid.UUID:
    product_id = uuid.uuid4()
    async with await runtime.unit_of_work() as uow:
        await store.upsert_product(
            uow.conn,
            store.ProductInfo(product_id, "Fraldinha", unit, price, Decimal("2.000"), True),
            1,
        )
        await uow.commit()
    return product_id


async def _receive(runtime: Runtime, product_id: uuid.UUID, quantity: str, cost: int) -> None:
    async with await runtime.unit_of_work() as uow:
        await service.register_movement(
            uow,
            MovementIn.model_validate(
                {
                    "product_id": product_id,
                    "kind": "receipt",
                    "quantity": quantity,
                    "unit_cost_cents": cost,
                }
            ),
        )
        await uow.commit()


async def _stock(runtime: Runtime, product_id: uuid.UUID) -> tuple[Decimal, Decimal, Decimal]:
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT s.quantity, s.average_cost,"
                " (SELECT sum(quantity) FROM movements m"
                "  WHERE m.product_id = s.product_id) AS total"
                " FROM stock s WHERE product_id = %s",
                (product_id,),
            )
        ).fetchone()
    assert row is not None
    return row["quantity"], row["average_cost"], row["total"]


def _sale(product_id: uuid.UUID, quantity: str) -> SalePaid:
    return SalePaid.model_validate(
        {
            "sale_id": str(uuid.uuid4()),
            "seller_id": None,
            "items": [
                {
                    "product_id": str(product_id),
                    "quantity": quantity,
                    "unit_price_cents": 5000,
                    "total_cents": 100,
                }
            ],
            "total_cents": 100,
            "payment_method": "cash",
        }
    )


async def test_concurrent_sales_of_one_product_lose_no_update(runtime: Runtime) -> None:
    product_id = await _product(runtime)
    await _receive(runtime, product_id, "10.000", 3000)

    async def sell() -> None:
        async with await runtime.unit_of_work() as uow:
            await service.apply_sale(uow, _sale(product_id, "0.250"))
            await uow.commit()

    await asyncio.gather(*(sell() for _ in range(60)))
    quantity, average, total = await _stock(runtime, product_id)
    assert quantity == Decimal("-5.000") == total  # 10 - 60 × 0.25: negative is allowed
    assert average == Decimal("3000")


async def test_a_duplicate_sale_paid_event_leaves_stock_once(runtime: Runtime) -> None:
    product_id = await _product(runtime)
    await _receive(runtime, product_id, "5.000", 4000)

    async def on_paid(uow: UnitOfWork, event: Envelope, payload: SalePaid) -> None:
        await service.apply_sale(uow, payload)

    subscriber = Subscriber(runtime, [On(SalePaid, on_paid)])
    sale = _sale(product_id, "1.500")
    event = new_envelope(
        type_="com.acougue.sale.paid",
        source="/acougue/update-sale-status",
        subject=sale.sale_id,
        data=sale.model_dump(mode="json"),
    )
    results = await asyncio.gather(*(subscriber.apply(event) for _ in range(3)))
    assert sorted(results) == [False, False, True]
    quantity, _, total = await _stock(runtime, product_id)
    assert quantity == Decimal("3.500") == total


async def test_a_refund_returns_exactly_what_the_sale_took(runtime: Runtime) -> None:
    product_id = await _product(runtime)
    await _receive(runtime, product_id, "4.000", 2999)
    sale = _sale(product_id, "1.333")
    async with await runtime.unit_of_work() as uow:
        await service.apply_sale(uow, sale)
        await uow.commit()
    _, average_before, _ = await _stock(runtime, product_id)
    for _ in range(2):  # a second refund of the same sale changes nothing
        async with await runtime.unit_of_work() as uow:
            await service.apply_refund(uow, sale)
            await uow.commit()
    quantity, average, total = await _stock(runtime, product_id)
    assert quantity == Decimal("4.000") == total
    # The stock's value is back to what it was, within the centavo the sale rounded.
    assert abs(quantity * average - quantity * average_before) <= 1


async def test_a_refund_before_its_sale_waits(runtime: Runtime) -> None:
    product_id = await _product(runtime)
    with pytest.raises(NotYet, match="has not left stock yet"):
        async with await runtime.unit_of_work() as uow:
            await service.apply_refund(uow, _sale(product_id, "1.000"))
