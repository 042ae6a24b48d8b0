"""The counter's and the stock's copies of the catalogue follow the product's version.

A product event's `time` is whatever its sender wrote: a `product.updated` dated 2099 must
not freeze a price over every later real update. Each read model applies a state only
when its catalogue version is newer than the one it keeps (issue 14).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.inventory import service as inventory_service
from functions.sales import service as sales_service
from shared.db.uow import UnitOfWork
from shared.events.catalog import ProductCreated, ProductState, ProductUpdated
from shared.events.envelope import Envelope
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

Apply = Callable[[UnitOfWork, ProductState], Awaitable[bool]]
READ_MODELS: dict[str, tuple[str, str, Apply]] = {
    "sales": ("apply_product_to_sales", "sales", sales_service.apply_product),
    "inventory": ("apply_product_to_inventory", "inventory", inventory_service.apply_product),
}


def _subscriber(database: ProvisionedDatabase, read_model: str) -> tuple[Runtime, Subscriber]:
    target, domain, apply = READ_MODELS[read_model]
    runtime = function_runtime(database, domain, target, k_sink=None, event_authentication="off")

    async def on_product(uow: UnitOfWork, event: Envelope, payload: ProductState) -> None:
        await apply(uow, payload)

    handlers: list[On[Any]] = [On(ProductCreated, on_product), On(ProductUpdated, on_product)]
    return runtime, Subscriber(runtime, handlers)


def _event(product_id: str, version: int, price_cents: int, when: datetime) -> Envelope:
    created = version == 1
    data: dict[str, Any] = {
        "product_id": product_id,
        "name": "Picanha",
        "unit": "kg",
        "price_cents": price_cents,
        "category_id": None,
        "plu": None,
        "barcode": None,
        "min_stock": "0.000",
        "active": True,
        "version": version,
    }
    if not created:
        data["changed"] = ["price_cents"]
    kind = "created" if created else "updated"
    return Envelope(
        id=str(uuid.uuid4()),
        source=f"/acougue/{'create' if created else 'update'}-product",
        type=f"com.acougue.product.{kind}",
        subject=product_id,
        time=when,
        extensions={},
        data=data,
    )


async def _price(runtime: Runtime, product_id: str) -> tuple[int, int]:
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT price_cents, version FROM products WHERE product_id = %s", (product_id,)
            )
        ).fetchone()
    assert row is not None
    return row["price_cents"], row["version"]


NOW = datetime.now(UTC)
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeptProduct:
    """A fresh product as one read model keeps it: states go in, its price comes back."""

    runtime: Runtime
    subscriber: Subscriber
    product_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    async def apply(self, version: int, price_cents: int, when: datetime) -> bool:
        return await self.subscriber.apply(_event(self.product_id, version, price_cents, when))

    async def price(self) -> tuple[int, int]:
        return await _price(self.runtime, self.product_id)


@pytest.fixture(params=sorted(READ_MODELS))
async def product(
    database: ProvisionedDatabase, request: pytest.FixtureRequest
) -> AsyncIterator[KeptProduct]:
    """Each read model of the catalogue in turn, its pool closed after the test."""
    runtime, subscriber = _subscriber(database, request.param)
    try:
        yield KeptProduct(runtime, subscriber)
    finally:
        await runtime.pool.close()


async def test_an_older_version_never_overwrites_a_newer_one_whatever_its_time(
    product: KeptProduct,
) -> None:
    assert await product.apply(1, 5000, NOW)
    assert await product.apply(3, 6990, NOW)
    # An old state dated far in the future (the forged "price 1 centavo" of issue 14).
    await product.apply(2, 1, FAR_FUTURE)
    assert await product.price() == (6990, 3)
    # A late duplicate of the creation, or the same version again, changes nothing.
    await product.apply(1, 1, FAR_FUTURE)
    await product.apply(3, 1, FAR_FUTURE)
    assert await product.price() == (6990, 3)
    # The next real update wins even when its clock is behind: time is not the order.
    assert await product.apply(4, 7490, LONG_AGO)
    assert await product.price() == (7490, 4)


async def test_states_arriving_out_of_order_end_at_the_newest(product: KeptProduct) -> None:
    # The broker may deliver an update before the creation (retries, redelivery).
    assert await product.apply(2, 5500, NOW)
    await product.apply(1, 5000, NOW)
    assert await product.price() == (5500, 2)


def test_a_product_event_without_a_version_is_refused() -> None:
    """Every product state carries its version; an unversioned one cannot be ordered."""
    data = _event(str(uuid.uuid4()), 2, 100, NOW).data
    assert isinstance(data, dict)
    del data["version"]
    with pytest.raises(ValueError, match="version"):
        ProductState.model_validate({k: v for k, v in data.items() if k != "changed"})
