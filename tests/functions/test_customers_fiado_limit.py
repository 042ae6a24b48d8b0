"""Property (issue 17): concurrent fiado sales can never together pass a customer's limit.

Hypothesis picks a limit and the amounts of several fiado sales of one customer (some
delivered twice under different event ids, as a replay would); charge-account applies them
all at once, each delivery in its own unit of work on its own connection to the real
PostgreSQL. Whatever the interleaving: the approved sum stays within the limit, the balance
is the sum of the account's entries, each sale got exactly one decision, and no sale was
declined that would still have fit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.customers import service
from shared.auth.principal import Principal, Role
from shared.contracts.customers import CustomerIn
from shared.events.envelope import Envelope, new_envelope
from shared.runtime import Runtime
from shared.subscriber import Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
MAX_SALES = 8


@pytest.fixture(scope="module")
async def charge_account(database: ProvisionedDatabase) -> AsyncIterator[Subscriber]:
    runtime = function_runtime(
        database,
        "customers",
        "charge_account",
        k_sink=None,
        event_authentication="off",
        db_pool_min=2 * MAX_SALES,
        db_pool_max=2 * MAX_SALES + 2,
    )
    try:
        yield Subscriber(runtime, service.events())
    finally:
        await runtime.pool.close()


async def _customer(runtime: Runtime, limit: int) -> str:
    async with await runtime.unit_of_work() as uow:
        created = await service.create_customer(
            uow, ADMIN, CustomerIn(name="Freguês", credit_limit_cents=limit)
        )
        await uow.commit()
    return str(created.id)


def _request(customer_id: str, amount: int) -> Envelope:
    sale_id = str(uuid.uuid4())
    return new_envelope(
        type_="com.acougue.payment.fiado_requested",
        source="/acougue/process-payment",
        subject=sale_id,
        data={
            "payment_id": str(uuid.uuid4()),
            "sale_id": sale_id,
            "attempt": 1,
            "method": "fiado",
            "amount_cents": amount,
            "seller_id": None,
            "customer_id": customer_id,
        },
    )


sales = st.lists(
    st.tuples(st.integers(min_value=1, max_value=6_000), st.booleans()),
    min_size=2,
    max_size=MAX_SALES,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(limit=st.integers(min_value=0, max_value=15_000), sales=sales)
async def test_concurrent_fiado_sales_never_pass_the_limit(
    charge_account: Subscriber, limit: int, sales: list[tuple[int, bool]]
) -> None:
    runtime = charge_account.runtime
    customer_id = await _customer(runtime, limit)
    requests = [(_request(customer_id, amount), twice) for amount, twice in sales]
    deliveries = [r for r, _ in requests] + [
        r.model_copy(update={"id": str(uuid.uuid4())}) for r, twice in requests if twice
    ]
    applied = await asyncio.gather(*(charge_account.apply(d) for d in deliveries))
    assert all(applied)  # every delivery had its own event id

    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        decided = await (
            await conn.execute(
                "SELECT aggregate_id, event_type, data FROM outbox"
                " WHERE aggregate_id = ANY(%s) ORDER BY id",
                ([r.subject for r, _ in requests],),
            )
        ).fetchall()
        customer = await (
            await conn.execute("SELECT balance_cents FROM customers WHERE id = %s", (customer_id,))
        ).fetchone()
        entries = await (
            await conn.execute(
                "SELECT amount_cents, balance_after_cents FROM account_entries"
                " WHERE customer_id = %s ORDER BY seq",
                (customer_id,),
            )
        ).fetchall()
    assert customer is not None
    decisions: dict[str, list[str]] = {}
    for row in decided:
        decisions.setdefault(row["aggregate_id"], []).append(row["event_type"])
    assert {r.subject: len(decisions.get(r.subject or "", [])) for r, _ in requests} == {
        r.subject: 1 for r, _ in requests
    }, "each sale gets exactly one decision"
    approved = [
        r["data"]["amount_cents"] for r in decided if r["event_type"].endswith("payment.approved")
    ]
    declined = [
        r["data"]["amount_cents"] for r in decided if r["event_type"].endswith("payment.declined")
    ]
    balance = customer["balance_cents"]
    assert sum(approved) <= limit
    assert balance == sum(e["amount_cents"] for e in entries) == sum(approved)
    running = 0
    for e in entries:
        running += e["amount_cents"]
        assert e["balance_after_cents"] == running
    # The balance only grew: whatever was declined would not fit even now.
    assert all(balance + amount > limit for amount in declined)
