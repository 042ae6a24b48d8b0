"""The ledger of issue 17 on the real PostgreSQL, through post-ledger-entry's subscriber: a
fiado sale, a customer's payment, a partial return, a cancellation and an operator's
sangria each posted once however often they arrive; the trial balance balanced at every
step, and the customers' account (clientes a receber) equal to fiado sold − paid − given
back; a return and a cancellation of one sale racing each other never give back twice."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from functions.finance import domain, reports, service, store
from shared.contracts.finance import CashOperationIn
from shared.domain_errors import Invalid, NotYet
from shared.events.customers import CustomerPaymentReceived
from shared.events.envelope import Envelope, new_envelope
from shared.events.inventory import MovementRegistered
from shared.events.payments import (
    PaymentApproved,
    PaymentFacts,
    PaymentRefunded,
    WrongDecider,
    decider_of,
)
from shared.events.registry import Payload, type_of
from shared.events.sales import SaleCompleted, SaleReturned
from shared.events.till import TillMovementRecorded, TillSessionClosed
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase
from tooling.manifests import REPO_ROOT

# Far-off days of their own: the ledger is append-only and the test database is shared.
SALE_DAY = datetime(1851, 5, 10, 15, tzinfo=UTC)  # 12:00 in São Paulo
CLOSING_DAY = date(1852, 7, 20)
NEW_EVENTS = (SaleReturned, CustomerPaymentReceived, TillMovementRecorded, TillSessionClosed)


@pytest.fixture
def runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(database, "finance", "post_ledger_entry", k_sink=None)


@pytest.fixture
def ledger(runtime: Runtime) -> Subscriber:
    """post-ledger-entry's subscriber as main.py wires it (test_main_wires_... checks)."""
    return Subscriber(
        runtime,
        [
            On.applying(SaleCompleted, service.sale_completed),
            On(PaymentApproved, service.payment_approved),
            On(PaymentRefunded, service.payment_refunded),
            On(MovementRegistered, service.movement),
            On(SaleReturned, service.sale_returned),
            On(CustomerPaymentReceived, service.customer_payment),
            On(TillMovementRecorded, service.till_movement),
            On.applying(TillSessionClosed, service.till_session_closed),
        ],
    )


def test_main_wires_the_new_events_to_post_ledger_entry() -> None:
    """main.py's own subscriber takes them (imported in a child: it configures logging)."""
    code = (
        "import json\n"
        "from functions.finance import main\n"
        "print(json.dumps(sorted(main._ledger_events.handlers)))\n"
    )
    env = {
        **os.environ,
        "FUNCTION_TARGET": "post_ledger_entry",
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
    wired = json.loads(answer.stdout.strip().splitlines()[-1])
    assert {type_of(m) for m in NEW_EVENTS} <= set(wired)


def _envelope(payload: Payload, when: datetime, subject: str = "s") -> Envelope:
    envelope = new_envelope(
        type_=type_of(type(payload)),
        # A payment decision counts only from its method's decider (check_decider).
        source=decider_of(payload.method) if isinstance(payload, PaymentFacts) else "/tests",
        subject=subject,
        data=payload.model_dump(mode="json"),
    )
    return envelope.model_copy(update={"time": when})


async def _deliver(ledger: Subscriber, payload: Payload, when: datetime) -> None:
    """Deliver one fact as the broker may: the same event three times at once (the inbox
    takes one), then again under a new event id (a republish: the ledger's own key)."""
    event = _envelope(payload, when)
    applied = await asyncio.gather(*(ledger.apply(event) for _ in range(3)))
    assert sorted(applied) == [False, False, True]
    assert await ledger.apply(_envelope(payload, when)) is True


async def _balances(runtime: Runtime) -> dict[str, int]:
    """Each account's balance on its normal side; asserts debits equal credits."""
    async with await runtime.unit_of_work() as uow:
        rows = await store.trial_balance(uow.conn, None)
    trial = reports.trial_balance(rows)
    assert trial["total_debit_cents"] == trial["total_credit_cents"]
    return {a["account"]: a["balance_cents"] for a in trial["accounts"]}


async def _entries(runtime: Runtime, cause: str, cause_id: str) -> list[dict[str, Any]]:
    async with await runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT e.id, l.line, l.account, l.debit_cents, l.credit_cents, l.product_id"
            " FROM entries e JOIN entry_lines l ON l.entry_id = e.id"
            " WHERE e.cause = %s AND e.cause_id = %s ORDER BY l.line",
            (cause, cause_id),
        )
        return list(await cursor.fetchall())


def _lines(rows: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    assert len({r["id"] for r in rows}) == 1  # one entry
    return [(r["account"], r["debit_cents"], r["credit_cents"]) for r in rows]


def _sale(items: list[tuple[str, int]], method: str) -> SaleCompleted:
    total = sum(t for _, t in items)
    return SaleCompleted.model_validate(
        {
            "sale_id": str(uuid.uuid4()),
            "seller_id": None,
            "attempt": 1,
            "total_cents": total,
            "payment": {
                "method": method,
                "customer_id": str(uuid.uuid4()) if method == "fiado" else None,
            },
            "items": [
                {
                    "product_id": p,
                    "quantity": "1.000",
                    "unit_price_cents": t,
                    "total_cents": t,
                    "name": "Picanha",
                }
                for p, t in items
            ],
            "subtotal_cents": total,
            "discount_cents": 0,
        }
    )


def _approved(sale: SaleCompleted, method: str, fee: int = 0, **facts: Any) -> PaymentApproved:
    return PaymentApproved(
        payment_id=str(uuid.uuid4()),
        sale_id=sale.sale_id,
        attempt=1,
        method=method,
        amount_cents=sale.total_cents,
        fee_cents=fee,
        customer_id=sale.payment.customer_id,
        **facts,
    )


def _refunded(payment: PaymentApproved, amount: int) -> PaymentRefunded:
    return PaymentRefunded(
        payment_id=payment.payment_id,
        sale_id=payment.sale_id,
        attempt=payment.attempt,
        method=payment.method,
        amount_cents=amount,
        fee_cents=payment.fee_cents,
    )


def _returned(sale: SaleCompleted, method: str, items: list[tuple[str, str, int]]) -> SaleReturned:
    return SaleReturned.model_validate(
        {
            "sale_id": sale.sale_id,
            "return_id": str(uuid.uuid4()),
            "seller_id": None,
            "items": [{"product_id": p, "quantity": q, "refund_cents": c} for p, q, c in items],
            "refund_cents": sum(c for _, _, c in items),
            "payment_method": method,
            "customer_id": sale.payment.customer_id,
            "reason": "devolução",
        }
    )


def _customer_payment(amount: int, method: str) -> CustomerPaymentReceived:
    return CustomerPaymentReceived(
        payment_id=str(uuid.uuid4()),
        customer_id=str(uuid.uuid4()),
        amount_cents=amount,
        method=method,
        received_by=str(uuid.uuid4()),
    )


async def test_the_books_stay_balanced_through_fiado_payments_returns_and_a_cancellation(
    runtime: Runtime, ledger: Subscriber
) -> None:
    picanha, fraldinha = str(uuid.uuid4()), str(uuid.uuid4())
    start = await _balances(runtime)

    def moved(now: dict[str, int], account: str) -> int:
        return now[account] - start[account]

    # A fiado sale of 100,00: the customer owes it, revenue per cut.
    first = _sale([(picanha, 6000), (fraldinha, 4000)], "fiado")
    await _deliver(ledger, first, SALE_DAY)
    first_paid = _approved(first, "fiado")
    await _deliver(ledger, first_paid, SALE_DAY)
    now = await _balances(runtime)
    assert moved(now, "clientes_a_receber") == 10000
    assert moved(now, "receita_vendas") == 10000
    assert _lines(await _entries(runtime, "payment.approved", first_paid.payment_id)) == [
        ("clientes_a_receber", 10000, 0),
        ("receita_vendas", 0, 6000),
        ("receita_vendas", 0, 4000),
    ]

    # A second fiado sale of 25,00.
    second = _sale([(picanha, 2500)], "fiado")
    await _deliver(ledger, second, SALE_DAY)
    second_paid = _approved(second, "fiado")
    await _deliver(ledger, second_paid, SALE_DAY)

    # The customer pays 40,00 by PIX: the bank up, the account down, no revenue.
    paid = _customer_payment(4000, "pix")
    await _deliver(ledger, paid, SALE_DAY + timedelta(hours=1))
    now = await _balances(runtime)
    assert moved(now, "clientes_a_receber") == 12500 - 4000
    assert moved(now, "banco") == 4000
    assert moved(now, "receita_vendas") == 12500
    assert _lines(await _entries(runtime, "customer.payment_received", paid.payment_id)) == [
        ("banco", 4000, 0),
        ("clientes_a_receber", 0, 4000),
    ]

    # Part of the first sale comes back: 30,00 of picanha, back to the account.
    back = _returned(first, "fiado", [(picanha, "0.500", 3000)])
    await _deliver(ledger, back, SALE_DAY + timedelta(hours=2))
    now = await _balances(runtime)
    assert moved(now, "clientes_a_receber") == 12500 - 4000 - 3000
    assert moved(now, "receita_vendas") == 12500 - 3000
    assert _lines(await _entries(runtime, "sale.returned", back.return_id)) == [
        ("clientes_a_receber", 0, 3000),
        ("receita_vendas", 3000, 0),
    ]

    # The second sale is cancelled: its refund reverses it.
    await _deliver(ledger, _refunded(second_paid, 2500), SALE_DAY + timedelta(hours=3))
    now = await _balances(runtime)
    fiado_sold, payments, given_back = 12500, 4000, 3000 + 2500
    assert moved(now, "clientes_a_receber") == fiado_sold - payments - given_back
    assert moved(now, "receita_vendas") == 12500 - given_back

    # The first sale is cancelled too: only what the return left is reversed.
    await _deliver(ledger, _refunded(first_paid, 7000), SALE_DAY + timedelta(hours=4))
    assert _lines(await _entries(runtime, "payment.refunded", first_paid.payment_id)) == [
        ("clientes_a_receber", 0, 7000),
        ("receita_vendas", 3000, 0),
        ("receita_vendas", 4000, 0),
    ]
    now = await _balances(runtime)
    assert moved(now, "clientes_a_receber") == -4000  # the shop owes the customer 40,00
    assert moved(now, "receita_vendas") == 0

    # The result of that day shows fiado as its own method, net of all of it: zero.
    async with await runtime.unit_of_work() as uow:
        found = await store.report(uow.conn, SALE_DAY.date(), SALE_DAY.date(), "day")
    result = reports.result(SALE_DAY.date(), SALE_DAY.date(), "day", found)
    assert result["by_payment_method"]["fiado"] == {"revenue_cents": 0}
    assert result["revenue_cents"] == 0


async def test_a_partial_return_shows_in_the_fiado_revenue_of_its_day(
    runtime: Runtime, ledger: Subscriber
) -> None:
    day = datetime(1853, 3, 3, 15, tzinfo=UTC)
    product = str(uuid.uuid4())
    sale = _sale([(product, 8000)], "fiado")
    await ledger.apply(_envelope(sale, day))
    await ledger.apply(_envelope(_approved(sale, "fiado"), day))
    await ledger.apply(_envelope(_returned(sale, "fiado", [(product, "0.250", 2000)]), day))
    async with await runtime.unit_of_work() as uow:
        found = await store.report(uow.conn, day.date(), day.date(), "day")
    result = reports.result(day.date(), day.date(), "day", found)
    assert result["by_payment_method"]["fiado"] == {"revenue_cents": 6000}
    assert result["by_payment_method"]["cash"] == {"revenue_cents": 0}
    assert result["revenue_cents"] == 6000
    assert result["margin_by_product"][0]["revenue_cents"] == 6000


async def test_two_returns_of_one_product_each_post_once(
    runtime: Runtime, ledger: Subscriber
) -> None:
    product = str(uuid.uuid4())
    sale = _sale([(product, 9000)], "cash")
    await ledger.apply(_envelope(sale, SALE_DAY))
    await ledger.apply(_envelope(_approved(sale, "cash"), SALE_DAY))
    start = await _balances(runtime)
    returns = [_returned(sale, "cash", [(product, "0.500", 3000)]) for _ in range(2)]
    for returned in returns:
        await _deliver(ledger, returned, SALE_DAY)
    now = await _balances(runtime)
    assert now["caixa"] - start["caixa"] == -6000
    for returned in returns:
        assert _lines(await _entries(runtime, "sale.returned", returned.return_id)) == [
            ("caixa", 0, 3000),
            ("receita_vendas", 3000, 0),
        ]


async def test_a_return_waits_for_its_payment_and_refuses_what_does_not_add_up(
    runtime: Runtime, ledger: Subscriber
) -> None:
    product = str(uuid.uuid4())
    sale = _sale([(product, 5000)], "pix")
    await ledger.apply(_envelope(sale, SALE_DAY))
    early = _returned(sale, "pix", [(product, "1.000", 1000)])
    with pytest.raises(NotYet, match="payment has not been posted"):
        await ledger.apply(_envelope(early, SALE_DAY))
    await ledger.apply(_envelope(_approved(sale, "pix"), SALE_DAY))
    assert await ledger.apply(_envelope(early, SALE_DAY)) is True  # its retry applies
    with pytest.raises(Invalid, match="paid by cash; the ledger has pix"):
        await ledger.apply(_envelope(_returned(sale, "cash", [(product, "1", 100)]), SALE_DAY))
    with pytest.raises(Invalid, match="more than the 5000 the sale was paid"):
        await ledger.apply(_envelope(_returned(sale, "pix", [(product, "1", 4001)]), SALE_DAY))
    assert len(await _entries(runtime, "sale.returned", early.return_id)) == 2


async def test_a_return_after_the_sales_refund_posts_nothing(
    runtime: Runtime, ledger: Subscriber
) -> None:
    """The refund reversed everything the sale had left, the late return's part with it."""
    product = str(uuid.uuid4())
    sale = _sale([(product, 5000)], "debit")
    paid = _approved(sale, "debit", fee=100)
    for fact in (sale, paid, _refunded(paid, 5000)):
        await ledger.apply(_envelope(fact, SALE_DAY))
    late = _returned(sale, "debit", [(product, "1.000", 1000)])
    start = await _balances(runtime)
    assert await ledger.apply(_envelope(late, SALE_DAY)) is True
    assert await _entries(runtime, "sale.returned", late.return_id) == []
    assert await _balances(runtime) == start


async def _sale_net(runtime: Runtime, sale_id: str) -> dict[tuple[str, Any], int]:
    async with await runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT l.account, l.product_id, sum(l.debit_cents - l.credit_cents) AS net"
            " FROM entries e JOIN entry_lines l ON l.entry_id = e.id WHERE e.sale_id = %s"
            " GROUP BY 1, 2",
            (sale_id,),
        )
        return {(r["account"], r["product_id"]): int(r["net"]) for r in await cursor.fetchall()}


async def test_a_return_racing_the_cancellation_never_gives_back_twice(
    runtime: Runtime, ledger: Subscriber
) -> None:
    """Whichever posts first, the other sees it: sale, return and refund net to zero."""
    for _ in range(15):
        picanha, acem = str(uuid.uuid4()), str(uuid.uuid4())
        sale = _sale([(picanha, 7000), (acem, 3000)], "credit")
        paid = _approved(sale, "credit", fee=250)
        await ledger.apply(_envelope(sale, SALE_DAY))
        await ledger.apply(_envelope(paid, SALE_DAY))
        returned = _returned(sale, "credit", [(picanha, "1.000", 3500)])
        await asyncio.gather(
            ledger.apply(_envelope(returned, SALE_DAY)),
            ledger.apply(_envelope(_refunded(paid, 6500), SALE_DAY)),
        )
        assert {k: v for k, v in (await _sale_net(runtime, sale.sale_id)).items() if v} == {}


async def test_till_movements_and_sessions_are_applied_once(
    runtime: Runtime, ledger: Subscriber
) -> None:
    when = datetime(1854, 1, 5, 18, tzinfo=UTC)
    movement = TillMovementRecorded(
        movement_id=str(uuid.uuid4()),
        session_id=str(uuid.uuid4()),
        operator_id=str(uuid.uuid4()),
        kind="sangria",
        amount_cents=15000,
        reason="depósito no banco",
    )
    await _deliver(ledger, movement, when)
    assert _lines(await _entries(runtime, "sangria", movement.movement_id)) == [
        ("banco", 15000, 0),
        ("caixa", 0, 15000),
    ]
    session = _session(datetime(1854, 1, 5, 11, tzinfo=UTC), cash=(20000, 19990))
    await _deliver(ledger, session, when)
    async with await runtime.unit_of_work() as uow:
        kept = await store.till_sessions(uow.conn, date(1854, 1, 5))
    assert [str(s["session_id"]) for s in kept] == [session.session_id]
    bad = session.model_copy(update={"session_id": "not-a-uuid"})
    with pytest.raises(Invalid, match="session_id is a UUID"):
        await ledger.apply(_envelope(bad, when))


def _session(
    opened_at: datetime, *, cash: tuple[int, int], pix: tuple[int, int] = (0, 0)
) -> TillSessionClosed:
    return TillSessionClosed.model_validate(
        {
            "session_id": str(uuid.uuid4()),
            "operator_id": str(uuid.uuid4()),
            "opened_at": opened_at,
            "closed_at": opened_at + timedelta(hours=8),
            "opening_cents": 10000,
            "expected": {
                "cash_cents": cash[0],
                "pix_cents": pix[0],
                "debit_cents": 0,
                "credit_cents": 0,
            },
            "counted": {
                "cash_cents": cash[1],
                "pix_cents": pix[1],
                "debit_cents": 0,
                "credit_cents": 0,
            },
        }
    )


async def test_the_cash_closing_sums_the_days_money_and_its_till_sessions(
    runtime: Runtime, ledger: Subscriber
) -> None:
    day = CLOSING_DAY
    noon = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
    product = str(uuid.uuid4())
    async with await runtime.unit_of_work() as uow:
        await service.cash_operation(
            uow, CashOperationIn(kind="opening", amount_cents=10000, day=day), noon
        )
        await uow.commit()
    cash_sale = _sale([(product, 5000)], "cash")
    await ledger.apply(_envelope(cash_sale, noon))
    cash_paid = _approved(cash_sale, "cash", cash_received_cents=10000, change_cents=5000)
    await ledger.apply(_envelope(cash_paid, noon))
    fiado_sale = _sale([(product, 2500)], "fiado")
    await ledger.apply(_envelope(fiado_sale, noon))
    await ledger.apply(_envelope(_approved(fiado_sale, "fiado"), noon))
    await ledger.apply(_envelope(_customer_payment(1200, "cash"), noon))
    await ledger.apply(_envelope(_customer_payment(800, "pix"), noon))
    back = _returned(cash_sale, "cash", [(product, "0.200", 1000)])
    await ledger.apply(_envelope(back, noon))
    sangria = TillMovementRecorded(
        movement_id=str(uuid.uuid4()),
        session_id=str(uuid.uuid4()),
        operator_id=str(uuid.uuid4()),
        kind="sangria",
        amount_cents=2000,
        reason="depósito",
    )
    await ledger.apply(_envelope(sangria, noon))
    morning = _session(noon - timedelta(hours=3), cash=(8000, 7950), pix=(800, 800))
    evening = _session(noon + timedelta(hours=5), cash=(5200, 5300))
    # 23:30 in São Paulo is the next day in UTC, still this shop day.
    late = _session(datetime(day.year, day.month, day.day + 1, 2, 30, tzinfo=UTC), cash=(1, 1))
    # 00:30 the next shop day: not this day's.
    tomorrow = _session(datetime(day.year, day.month, day.day + 1, 3, 30, tzinfo=UTC), cash=(1, 1))
    for session in (evening, morning, late, tomorrow, morning):
        await ledger.apply(_envelope(session, noon))

    async with await runtime.unit_of_work() as uow:
        closing = reports.cash_closing(day, await store.cash_day(uow.conn, day))

    assert closing["opening_float_cents"] == 10000
    assert closing["cash_sales_cents"] == 5000
    assert closing["change_given_cents"] == 5000
    assert closing["cash_refunds_cents"] == 1000
    assert closing["sangria_cents"] == 2000
    assert closing["fiado_sales_cents"] == 2500
    assert closing["customer_payments"] == {"cash": 1200, "pix": 800, "debit": 0, "credit": 0}
    # 100,00 float + 50,00 sale + 12,00 from a customer − 10,00 returned − 20,00 sangria
    assert closing["expected"] == {"cash": 13200, "pix": 800, "debit": 0, "credit": 0}
    assert [s["session_id"] for s in closing["sessions"]] == [
        morning.session_id,
        evening.session_id,
        late.session_id,
    ]
    assert closing["sessions"][0]["difference"] == {"cash": -50, "pix": 0, "debit": 0, "credit": 0}
    assert closing["sessions_total"] == {
        "count": 3,
        "opening_cents": 30000,
        "expected": {"cash": 13201, "pix": 800, "debit": 0, "credit": 0},
        "counted": {"cash": 13251, "pix": 800, "debit": 0, "credit": 0},
        "difference": {"cash": 50, "pix": 0, "debit": 0, "credit": 0},
    }


async def test_the_migration_lets_only_known_methods_into_entries(
    database: ProvisionedDatabase,
) -> None:
    async with await psycopg.AsyncConnection.connect(database.role_dsn("finance")) as conn:
        for method, ok in (("fiado", True), ("boleto", False)):
            try:
                await conn.execute(
                    "INSERT INTO entries (id, occurred_at, cause, cause_id, description,"
                    " payment_method) VALUES (%s, now(), 'test', %s, 'x', %s)",
                    (uuid.uuid4(), str(uuid.uuid4()), method),
                )
                assert ok
            except psycopg.errors.CheckViolation:
                assert not ok
            await conn.rollback()
    assert domain.PAYMENT_ACCOUNT["fiado"] == "clientes_a_receber"


@pytest.mark.parametrize(
    ("method", "wrong_source"),
    [("fiado", "/acougue/process-payment"), ("pix", "/acougue/charge-account")],
)
async def test_a_decision_from_the_other_decider_posts_nothing(
    runtime: Runtime, method: str, wrong_source: str
) -> None:
    """Both may publish payment.approved and .refunded; only the method's own decider's
    count (a bug or a stolen token in one must not move the other's money)."""
    sale = _sale([(str(uuid.uuid4()), 5000)], method)
    payment = _approved(sale, method)
    async with await runtime.unit_of_work() as uow:
        await service.sale_completed(uow, sale)
        await uow.commit()
    for payload in (payment, _refunded(payment, 5000)):
        forged = _envelope(payload, datetime.now(UTC)).model_copy(update={"source": wrong_source})
        handler = service.payment_approved if payload is payment else service.payment_refunded
        with pytest.raises(WrongDecider):
            async with await runtime.unit_of_work() as uow:
                await handler(uow, forged, payload)  # type: ignore[arg-type]
    async with await runtime.unit_of_work() as uow:
        assert await store.posted(uow.conn, "payment.approved", payment.payment_id) is None
