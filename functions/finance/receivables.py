"""receivables: when the card money reaches the bank (issue 18).

Card payments' expected settlements follow their events (payment.approved adds them,
payment.refunded cancels what is left, sale.returned takes back a returned part); an
admin lists them and settles what fell due, and the daily PingSource `settle-receivables`
settles everything due up to today. Each settled row is one ledger entry (Dr banco /
Cr recebíveis de cartão of its net, cause `card.settlement`), so recebíveis de cartão
always holds the net still expected.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import psycopg_pool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.finance import receivables_store as rstore
from functions.finance import service
from functions.finance.receivables_rules import (
    CARD_METHODS,
    ReceivableSettings,
    refund_netting,
    return_take_back,
    schedule,
    settlement,
)
from shared import shop_time
from shared.contracts import endpoints as api
from shared.contracts.finance import SettleIn
from shared.contracts.queries import ReceivablesQuery
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotYet, Refused
from shared.errors import Problem, http_problem
from shared.events.envelope import PING_TYPE, Envelope
from shared.events.payments import PaymentApproved, PaymentRefunded, check_decider
from shared.events.sales import SaleReturned
from shared.http import HttpFunction, RequestContext, Route, is_delivery
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber, parse_cloud_event, read_event_body

log = logging.getLogger("acougue.receivables")
# The PingSource that settles every morning (knative/pingsources.yaml) and what it sends.
PING_SOURCE = "settle-receivables"
PING_DATA = {"settle": "receivables"}


def _when(event: Envelope) -> datetime:
    return event.time or datetime.now(UTC)


def _uuid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Invalid(f"A payment's {name} is a UUID.") from None


# -- the events ---------------------------------------------------------------------------


async def payment_approved(
    uow: UnitOfWork, event: Envelope, payment: PaymentApproved, settings: ReceivableSettings
) -> None:
    """A card payment's settlements, from the shop's day of its approval, once per payment
    (a redelivery under a new event id adds nothing: unique payment and installment)."""
    check_decider(event.source, payment.method)  # as the ledger: only the acquirer's count
    if payment.method not in CARD_METHODS:
        return
    payment_id = _uuid(payment.payment_id, "payment_id")
    sale_id = _uuid(payment.sale_id, "sale_id")
    approved_on = shop_time.today(_when(event))
    rows = schedule(
        payment.method,
        payment.amount_cents,
        payment.fee_cents,
        payment.installments,
        approved_on,
        settings,
    )
    if rows:
        await rstore.add(uow.conn, payment_id, sale_id, payment.method, approved_on, rows)


async def payment_refunded(
    uow: UnitOfWork, event: Envelope, refund: PaymentRefunded, settings: ReceivableSettings
) -> None:
    """A refunded card payment is no longer expected: its expected rows become `cancelled`
    (the acquirer nets the refund and pays nothing more of it).

    The ledger's refund (post-ledger-entry, `domain.refund_rest`) reverses the whole
    payment, less what partial returns gave back already: recebíveis de cartão loses the
    payment's net. When part of it had been settled (moved to banco), the acquirer takes
    that part back from a later settlement of the shop's: so the refund adds one row of kind
    `refund`, installment 0, with the negative of what was settled, expected
    `card_debit_settlement_days` after the refund's day. Until it is settled recebíveis
    stands below zero by exactly that amount (the shop owes it to the acquirer); settling it
    posts Dr recebíveis / Cr banco, and the payment nets to zero on both accounts. So
    recebíveis' balance is always the net of the rows still expected."""
    check_decider(event.source, refund.method)
    if refund.method not in CARD_METHODS:
        return
    payment_id = _uuid(refund.payment_id, "payment_id")
    rows = await rstore.lock_payment(uow.conn, payment_id)
    if not rows:
        if refund.amount_cents == 0:
            return  # a zero sale: nothing was expected
        raise NotYet(f"Payment {payment_id}'s approval is not known to receivables yet.")
    await rstore.cancel_expected(uow.conn, payment_id)
    # What the acquirer paid, less what returns' settled rows took back already.
    paid = [r for r in rows if r["kind"] in ("installment", "return") and r["status"] == "settled"]
    on = shop_time.today(_when(event)) + timedelta(days=settings.card_debit_settlement_days)
    netting = refund_netting(paid, rows[0]["installments"], on)
    if netting is not None:  # once: a second refund's row conflicts on installment 0
        first = rows[0]
        await rstore.add(
            uow.conn,
            payment_id,
            str(first["sale_id"]),
            first["method"],
            first["approved_on"],
            [netting],
        )


def _refunded(rows: list[dict[str, Any]]) -> bool:
    """Whether the payment's refund was applied here: it cancelled what was expected, or
    left its take-back row."""
    return any(r["status"] == "cancelled" or r["kind"] == "refund" for r in rows)


async def sale_returned(
    uow: UnitOfWork, event: Envelope, returned: SaleReturned, settings: ReceivableSettings
) -> None:
    """Part of a card sale came back: what the ledger credited to recebíveis de cartão for
    it (`service.sale_returned` / `domain.sale_returned`: the return's refund_cents, the fee
    stays with the acquirer) is no longer expected. The acquirer withholds it from a later
    settlement: one row of kind `return`, its negative gross, no fee, expected
    `card_debit_settlement_days` after the return's day, once per return id. Settling it
    posts Dr recebíveis / Cr banco; a refund later cancels it if still expected, or nets it
    if settled (`payment_refunded`). So recebíveis stays the net of the rows still expected.

    Its decisions are the ledger's, on the same facts, so both books move together: nothing
    for a zero return or another method; NotYet before the sale's payment is known here;
    nothing after the sale's refund (the refund reversed the rest of the sale, this part
    with it); refused when the sale was paid by the other card, or when the returns would
    give back more than the sale was paid."""
    if returned.refund_cents == 0 or returned.payment_method not in CARD_METHODS:
        return
    sale_id = _uuid(returned.sale_id, "sale_id")
    return_id = _uuid(returned.return_id, "return_id")
    payments = await rstore.lock_sale(uow.conn, sale_id)
    if not payments:
        raise NotYet(f"Sale {sale_id}'s card payment is not known to receivables yet.")
    rows = await rstore.lock_payment(uow.conn, payments[-1])
    if _refunded(rows):
        log.info("return %s of a refunded sale: the refund took it back", return_id)
        return
    if any(str(r["return_id"]) == return_id for r in rows if r["return_id"] is not None):
        return  # this return again, under another event id
    method = rows[0]["method"]
    if method != returned.payment_method:
        raise Invalid(
            f"Return {return_id} says the sale was paid by {returned.payment_method};"
            f" receivables have {method}."
        )
    paid = sum(int(r["gross_cents"]) for r in rows if r["kind"] == "installment")
    earlier = -sum(int(r["gross_cents"]) for r in rows if r["kind"] == "return")
    if earlier + returned.refund_cents > paid:
        raise Invalid(
            f"Return {return_id} refunds {returned.refund_cents}: with the earlier returns,"
            f" more than the {paid} the sale was paid."
        )
    on = shop_time.today(_when(event)) + timedelta(days=settings.card_debit_settlement_days)
    take_back = return_take_back(returned.refund_cents, rows[0]["installments"], on)
    await rstore.add_return(uow.conn, return_id, rows[0], take_back)


def subscriber(runtime: Runtime, settings: ReceivableSettings) -> Subscriber:
    async def approved(uow: UnitOfWork, event: Envelope, payment: PaymentApproved) -> None:
        await payment_approved(uow, event, payment, settings)

    async def refunded(uow: UnitOfWork, event: Envelope, refund: PaymentRefunded) -> None:
        await payment_refunded(uow, event, refund, settings)

    async def returned(uow: UnitOfWork, event: Envelope, part: SaleReturned) -> None:
        await sale_returned(uow, event, part, settings)

    # post-ledger-entry takes the same events in the same schema: an inbox key of its own,
    # or whichever of the two came second would skip the event as a duplicate.
    return Subscriber(
        runtime,
        [On(PaymentApproved, approved), On(PaymentRefunded, refunded), On(SaleReturned, returned)],
        consumer="receivables",
    )


# -- settling -----------------------------------------------------------------------------


async def settle(uow: UnitOfWork, until: date, today: date) -> dict[str, int]:
    """Every expected row due on or before `until` becomes settled on its own day, one
    ledger entry each (cause `card.settlement`, cause_id the row: never posted twice).
    Money that has not arrived cannot be settled: `until` after today is refused. Settles
    run one at a time (an advisory lock) and lock the rows they settle, so two settles, or a
    settle and a refund, never both take the same row."""
    if until > today:
        raise Invalid(
            f"Settle up to today ({today}) at most, not {until}: that money has not arrived."
        )
    await rstore.lock_settles(uow.conn)
    settled = net = 0
    for row in await rstore.due(uow.conn, until):
        posting = settlement(row)
        entry_id = None
        if posting is not None:
            entry_id = await service.post(uow, posting)  # announced: ledger.entry.posted
        await rstore.mark_settled(uow.conn, str(row["id"]), entry_id, row["expected_on"])
        settled += 1
        net += int(row["net_cents"])
    return {"settled": settled, "net_cents": net}


# -- HTTP -----------------------------------------------------------------------------------


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "payment_id": str(row["payment_id"]),
        "sale_id": str(row["sale_id"]),
        "method": row["method"],
        "kind": row["kind"],
        "installment": row["installment"],
        "installments": row["installments"],
        "approved_on": row["approved_on"].isoformat(),
        "expected_on": row["expected_on"].isoformat(),
        "gross_cents": int(row["gross_cents"]),
        "fee_cents": int(row["fee_cents"]),
        "net_cents": int(row["net_cents"]),
        "status": row["status"],
        "settled_on": row["settled_on"].isoformat() if row["settled_on"] else None,
    }


async def list_receivables(ctx: RequestContext) -> dict[str, Any]:
    query = ctx.query(ReceivablesQuery)
    if query.from_ and query.to and query.from_ > query.to:
        raise Invalid(f"'from' ({query.from_}) is after 'to' ({query.to}).")
    async with await ctx.unit_of_work() as uow:
        rows, totals = await rstore.listing(
            uow.conn, query.status, query.from_, query.to, query.limit
        )
    return {"items": [_item(r) for r in rows], "totals": totals}


async def settle_receivables(ctx: RequestContext) -> dict[str, int]:
    body = await ctx.body(SettleIn)
    return await ctx.command(lambda uow: settle(uow, body.until, shop_time.today()))


def http(runtime: Runtime) -> HttpFunction:
    return HttpFunction(
        runtime,
        [
            Route(api.LIST_RECEIVABLES, list_receivables),
            Route(api.SETTLE_RECEIVABLES, settle_receivables),
        ],
    )


# -- the daily ping -------------------------------------------------------------------------


def is_ping(request: Request) -> bool:
    """A PingSource's delivery (binary mode, as Knative's adapter sends it)."""
    return request.headers.get("ce-type") == PING_TYPE


def check_ping(event: Envelope, namespace: str) -> None:
    """Only the settle-receivables PingSource's own event; it carries no token, as the
    outbox sweep's ping to the relay carries none (docs/cluster.md: the function is
    cluster-local and fenced by the NetworkPolicies). What it can do is bounded: settle what
    is due up to today, which the shop does every morning anyway, once (idempotent)."""
    expected = f"/apis/v1/namespaces/{namespace}/pingsources/{PING_SOURCE}"
    if event.type != PING_TYPE or event.source != expected:
        raise Problem(400, f"Receivables take only the {PING_SOURCE} PingSource's ping.")
    if event.data != PING_DATA:
        raise Problem(400, f"The {PING_SOURCE} ping's data is {PING_DATA}.")


async def ping(request: Request, runtime: Runtime, now: datetime | None = None) -> Response:
    """Settle everything expected up to the shop's today."""
    try:
        body = await read_event_body(request, runtime.settings.event_max_bytes)
        check_ping(parse_cloud_event(request.headers, body), runtime.settings.event_namespace)
        async with await runtime.unit_of_work() as uow:
            result = await settle(uow, shop_time.today(now), shop_time.today(now))
            await uow.commit()
    except Problem as problem:
        return problem.response()
    except Refused as refusal:
        return http_problem(refusal).response()
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        log.warning("database unavailable", exc_info=True)
        return Problem(503, "The database is unavailable; the next ping settles.").response()
    except Exception:
        log.exception("daily settle failed")
        return Problem(500, "The settle failed; the next ping tries again.").response()
    log.info("daily settle: %d settled, %d net", result["settled"], result["net_cents"])
    return JSONResponse(result)


async def answer(
    request: Request, runtime: Runtime, events: Subscriber, api_calls: HttpFunction
) -> Response:
    """The function's one entry point: the daily ping, the broker's deliveries, the API."""
    if is_delivery(request):
        if is_ping(request):
            return await ping(request, runtime)
        return await events(request)
    return await api_calls(request)
