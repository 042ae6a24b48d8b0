"""Returns of part of a sale in stock (apply-sale-to-stock, sale.returned) on the real
PostgreSQL: each returned quantity comes back at the cost it left with, once per (return,
product), several returns of one product each once; a cancellation after returns puts back
only the rest, and the returns and the cancellation of everything sold put back exactly
what the sale took out."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.inventory import domain, service, store
from functions.inventory.domain import RuleError
from shared.contracts.inventory import MovementIn
from shared.domain_errors import NotYet
from shared.events.envelope import new_envelope
from shared.events.registry import type_of
from shared.events.sales import SalePaid, SaleRefunded, SaleReturned
from shared.money import cents
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase
from tooling.manifests import REPO_ROOT

# -- the cost a returned quantity comes back at (pure) ----------------------------------------


@given(
    st.integers(1, 10**6).map(lambda n: Decimal(n) / 1000),
    st.integers(0, 10**9),
    st.lists(st.integers(1, 1000), min_size=1, max_size=8),
)
@example(Decimal("1.000"), 1, [1, 1, 1])
@example(Decimal("3.000"), 10000, [1, 1, 1])
def test_returns_of_everything_sold_cost_exactly_what_the_sale_took(
    sold: Decimal, cost: int, weights: list[int]
) -> None:
    """Split the sold quantity into returns in any proportions (to the gram): each costs
    its share to within a centavo and never less than nothing, and together they cost the
    sale's cost exactly."""
    grams = int(sold * 1000)
    total_weight = sum(weights)
    parts = [grams * w // total_weight for w in weights]
    parts[-1] += grams - sum(parts)
    back, costs = Decimal(0), []
    for part in parts:
        quantity = Decimal(part) / 1000
        if quantity == 0:
            continue
        one = domain.returned_cost(sold, cost, back, quantity)
        exact = Decimal(cost) * quantity / sold
        assert one >= 0
        assert abs(one - exact) <= 1
        costs.append(one)
        back += quantity
    assert back == sold
    assert sum(costs) == cost


def test_a_return_of_more_than_was_sold_is_refused() -> None:
    with pytest.raises(RuleError, match="more of a product came back"):
        domain.returned_cost(Decimal("1.000"), 3000, Decimal("0.600"), Decimal("0.401"))
    with pytest.raises(RuleError, match="positive"):
        domain.returned_cost(Decimal("1.000"), 3000, Decimal(0), Decimal(0))


# -- on the database ---------------------------------------------------------------------------


@pytest.fixture
def runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(
        database, "inventory", "apply_sale_to_stock", k_sink=None, db_pool_max=10
    )


@pytest.fixture
def stock_events(runtime: Runtime) -> Subscriber:
    """apply-sale-to-stock's subscriber as main.py wires it (checked below)."""
    return Subscriber(
        runtime,
        [
            On.applying(SalePaid, service.apply_sale),
            On.applying(SaleRefunded, service.apply_refund),
            On.applying(SaleReturned, service.apply_return),
        ],
    )


def test_main_wires_sale_returned_to_apply_sale_to_stock() -> None:
    code = (
        "import json\n"
        "from functions.inventory import main\n"
        "print(json.dumps(sorted(main._sales_events.handlers)))\n"
    )
    env = {
        **os.environ,
        "FUNCTION_TARGET": "apply_sale_to_stock",
        "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",
        "AUTH_JWKS_URL": "http://127.0.0.1:1/unused",
        "EVENT_AUTHENTICATION": "off",
    }
    answer = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO_ROOT,
        env=env,
    )
    assert answer.returncode == 0, answer.stderr
    assert type_of(SaleReturned) in json.loads(answer.stdout.strip().splitlines()[-1])


async def _product(runtime: Runtime) -> uuid.UUID:
    product_id = uuid.uuid4()
    async with await runtime.unit_of_work() as uow:
        await store.upsert_product(
            uow.conn,
            store.ProductInfo(product_id, "Picanha", "kg", 8990, Decimal("0"), True),
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


def _sold(lines: list[tuple[uuid.UUID, str]]) -> dict[str, Any]:
    return {
        "sale_id": str(uuid.uuid4()),
        "seller_id": None,
        "items": [
            {
                "product_id": str(p),
                "quantity": q,
                "unit_price_cents": 8990,
                "total_cents": 100,
            }
            for p, q in lines
        ],
        "total_cents": 100 * len(lines),
        "payment_method": "fiado",
    }


def _returned(sale: dict[str, Any], lines: list[tuple[uuid.UUID, str]]) -> SaleReturned:
    return SaleReturned.model_validate(
        {
            "sale_id": sale["sale_id"],
            "return_id": str(uuid.uuid4()),
            "seller_id": None,
            "items": [{"product_id": str(p), "quantity": q, "refund_cents": 10} for p, q in lines],
            "refund_cents": 10 * len(lines),
            "payment_method": "fiado",
            "reason": "veio com muita gordura",
        }
    )


async def _apply(subscriber: Subscriber, payload: Any) -> bool:
    event = new_envelope(
        type_=type_of(type(payload)),
        source="/tests",
        subject="s",
        data=payload.model_dump(mode="json"),
    )
    return await subscriber.apply(event)


async def _stock(runtime: Runtime, product_id: uuid.UUID) -> tuple[Decimal, Decimal, Decimal]:
    """Quantity and average cost of the product's stock, and the sum of its movements."""
    async with await runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT s.quantity, s.average_cost,"
            " (SELECT sum(quantity) FROM movements m WHERE m.product_id = s.product_id) AS total"
            " FROM stock s WHERE s.product_id = %s",
            (product_id,),
        )
        row = await cursor.fetchone()
    assert row is not None
    return row["quantity"], row["average_cost"], row["total"]


async def _refunds(runtime: Runtime, sale_id: str) -> list[dict[str, Any]]:
    async with await runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT product_id, quantity, total_cost_cents, unit_cost_cents, return_id, reason"
            " FROM movements WHERE cause_type = 'sale' AND cause_id = %s AND kind = 'refund'"
            " ORDER BY seq",
            (sale_id,),
        )
        return list(await cursor.fetchall())


async def _published_refunds(runtime: Runtime, sale_id: str) -> list[dict[str, Any]]:
    async with await runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT data FROM outbox WHERE event_type = 'com.acougue.inventory.movement.registered'"
            " AND data->>'kind' = 'refund' AND data->'cause'->>'id' = %s",
            (sale_id,),
        )
        return [r["data"] for r in await cursor.fetchall()]


async def test_a_partial_return_comes_back_at_the_cost_it_left_with(
    runtime: Runtime, stock_events: Subscriber
) -> None:
    product = await _product(runtime)
    await _receive(runtime, product, "10.000", 3000)  # 30,00/kg
    sale = _sold([(product, "3.000")])
    await _apply(stock_events, SalePaid.model_validate(sale))  # 90,00 of cost out
    await _receive(runtime, product, "2.000", 4500)  # the average moves on: 32,14/kg
    quantity_before, _, _ = await _stock(runtime, product)
    returned = _returned(sale, [(product, "1.000")])
    event = new_envelope(
        type_=type_of(SaleReturned),
        source="/tests",
        subject="s",
        data=returned.model_dump(mode="json"),
    )
    applied = await asyncio.gather(*(stock_events.apply(event) for _ in range(3)))
    assert sorted(applied) == [False, False, True]
    assert await _apply(stock_events, returned) is True  # again under a new event id
    quantity, average, total = await _stock(runtime, product)
    assert quantity == quantity_before + 1 == Decimal("10.000") == total
    [movement] = await _refunds(runtime, sale["sale_id"])
    # one kilo of the three that left at 30,00: 30,00, not today's average
    assert (movement["quantity"], movement["total_cost_cents"]) == (Decimal("1.000"), 3000)
    assert movement["return_id"] == returned.return_id
    assert movement["reason"] == "veio com muita gordura"
    # The stock's value: the 7 kg left at 30,00, the 2 kg at 45,00, the kilo back at 30,00.
    assert cents(quantity * average) == 7 * 3000 + 2 * 4500 + 3000
    [published] = await _published_refunds(runtime, sale["sale_id"])
    assert published["total_cost_cents"] == 3000  # finance: Dr estoque, Cr CMV
    assert published["product_id"] == str(product)


async def test_several_returns_of_one_product_then_the_cancellation_put_back_all_it_took(
    runtime: Runtime, stock_events: Subscriber
) -> None:
    product, other = await _product(runtime), await _product(runtime)
    await _receive(runtime, product, "5.000", 3333)
    await _receive(runtime, other, "5.000", 1999)
    # The product on two lines of the sale: 1,001 kg out, each line at the average then.
    sale = _sold([(product, "0.667"), (other, "1.500"), (product, "0.334")])
    await _apply(stock_events, SalePaid.model_validate(sale))
    taken = -sum(
        m["total_cost_cents"]
        for m in await store_sale_movements(runtime, sale["sale_id"])
        if m["kind"] == "sale" and m["product_id"] == product
    )
    first = _returned(sale, [(product, "0.333")])
    second = _returned(sale, [(product, "0.200"), (product, "0.133")])  # one line per product
    for returned in (first, second, second):
        await _apply(stock_events, returned)
    refunds = await _refunds(runtime, sale["sale_id"])
    assert [(r["return_id"], r["quantity"]) for r in refunds] == [
        (first.return_id, Decimal("0.333")),
        (second.return_id, Decimal("0.333")),
    ]
    assert [r["total_cost_cents"] for r in refunds] == [
        cents(Decimal(taken) * Decimal("0.333") / Decimal("1.001")),
        cents(Decimal(taken) * Decimal("0.666") / Decimal("1.001"))
        - cents(Decimal(taken) * Decimal("0.333") / Decimal("1.001")),
    ]
    # The cancellation puts back the rest of each product: 0,335 kg of one, all of the other.
    await _apply(stock_events, SaleRefunded.model_validate(sale))
    await _apply(stock_events, SaleRefunded.model_validate(sale))  # never twice
    refunds = await _refunds(runtime, sale["sale_id"])
    back = [r for r in refunds if r["product_id"] == product]
    assert sum(r["quantity"] for r in back) == Decimal("1.001")
    assert sum(r["total_cost_cents"] for r in back) == taken  # exactly what left
    assert [r["quantity"] for r in refunds if r["product_id"] == other] == [Decimal("1.500")]
    for product_id in (product, other):
        quantity, _, total = await _stock(runtime, product_id)
        assert quantity == Decimal("5.000") == total
    # A return that arrives after the cancellation finds everything back already.
    late = _returned(sale, [(product, "0.100")])
    assert await _apply(stock_events, late) is True
    assert len(await _refunds(runtime, sale["sale_id"])) == len(refunds)


async def store_sale_movements(runtime: Runtime, sale_id: str) -> list[dict[str, Any]]:
    async with await runtime.unit_of_work() as uow:
        return await store.sale_movements(uow.conn, sale_id)


async def test_what_was_not_sold_cannot_come_back(
    runtime: Runtime, stock_events: Subscriber
) -> None:
    product, stranger = await _product(runtime), await _product(runtime)
    await _receive(runtime, product, "5.000", 3000)
    sale = _sold([(product, "1.000")])
    with pytest.raises(NotYet, match="has not left stock yet"):
        await _apply(stock_events, _returned(sale, [(product, "0.500")]))
    await _apply(stock_events, SalePaid.model_validate(sale))
    await _apply(stock_events, _returned(sale, [(product, "0.600")]))
    with pytest.raises(RuleError, match="more of a product came back"):
        await _apply(stock_events, _returned(sale, [(product, "0.401")]))
    with pytest.raises(RuleError, match="did not leave stock with sale"):
        await _apply(stock_events, _returned(sale, [(stranger, "0.100")]))
    quantity, _, _ = await _stock(runtime, product)
    assert quantity == Decimal("4.600")


async def test_concurrent_returns_of_one_sale_cost_exactly_what_it_took(
    runtime: Runtime, stock_events: Subscriber
) -> None:
    """Each return reads the returns before it under the stock's lock: three kilos that
    left worth 30,02 come back as 10,01 + 10,00 + 10,01, and a fourth kilo is refused."""
    product = await _product(runtime)
    await _receive(runtime, product, "1.000", 1000)
    await _receive(runtime, product, "2.000", 1001)
    sale = _sold([(product, "3.000")])
    await _apply(stock_events, SalePaid.model_validate(sale))
    returns = [_returned(sale, [(product, "1.000")]) for _ in range(4)]
    outcomes = await asyncio.gather(
        *(_apply(stock_events, r) for r in returns), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, RuleError)]
    assert len(refused) == 1, outcomes
    refunds = await _refunds(runtime, sale["sale_id"])
    assert sorted(r["total_cost_cents"] for r in refunds) == [1000, 1001, 1001]
    quantity, _, total = await _stock(runtime, product)
    assert quantity == Decimal("3.000") == total


async def test_a_return_racing_the_cancellation_puts_back_what_left_once(
    runtime: Runtime, stock_events: Subscriber
) -> None:
    for _ in range(10):
        product = await _product(runtime)
        await _receive(runtime, product, "1.000", 1000)
        await _receive(runtime, product, "2.000", 1001)
        sale = _sold([(product, "3.000")])
        await _apply(stock_events, SalePaid.model_validate(sale))
        await asyncio.gather(
            _apply(stock_events, _returned(sale, [(product, "1.000")])),
            _apply(stock_events, SaleRefunded.model_validate(sale)),
        )
        refunds = await _refunds(runtime, sale["sale_id"])
        assert sum(r["quantity"] for r in refunds) == Decimal("3.000")
        assert sum(r["total_cost_cents"] for r in refunds) == 3002
        quantity, _, total = await _stock(runtime, product)
        assert quantity == Decimal("3.000") == total
