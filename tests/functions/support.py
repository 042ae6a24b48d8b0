"""What the function tests share: a function's runtime on the test database, and the
order in which a sink received events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import SecretStr

from shared.config import FunctionSettings
from shared.runtime import Runtime
from tests.support.database import ProvisionedDatabase
from tests.support.sink import RecordingSink

K = TypeVar("K")
# Nothing in these tests presents a user's token, so no key server is ever asked.
UNUSED_JWKS_URL = "http://127.0.0.1:1/unused"


def function_runtime(
    database: ProvisionedDatabase, domain: str, target: str, **settings: Any
) -> Runtime:
    """`target`'s runtime connected as its domain's own role, so the grants are the real ones."""
    return Runtime(
        FunctionSettings(
            function_target=target,
            database_url=SecretStr(database.role_dsn(domain)),
            auth_jwks_url=UNUSED_JWKS_URL,
            **settings,
        )
    )


def published_by(sink: RecordingSink, key: Callable[[Mapping[str, str]], K]) -> dict[K, list[str]]:
    """The ids the sink received, grouped by `key` of their headers, in arrival order: what
    order-per-aggregate guarantees are checked against."""
    published: dict[K, list[str]] = {}
    for received in sink.received:
        published.setdefault(key(received.headers), []).append(received.headers["ce-id"])
    return published


async def counter_product(runtime: Runtime, name: str, price_cents: int) -> str:
    """A product by the kilo in the counter's price list, as apply-product-to-sales keeps
    it (`runtime`: any sales function's); its id."""
    from functions.sales import service
    from shared.events.catalog import ProductState

    pid = str(uuid.uuid4())
    state = ProductState(
        product_id=pid,
        name=name,
        unit="kg",
        price_cents=price_cents,
        category_id=None,
        plu=None,
        barcode=None,
        min_stock="0.000",
        active=True,
        version=1,
    )
    async with await runtime.unit_of_work() as uow:
        await service.apply_product(uow, state)
        await uow.commit()
    return pid
