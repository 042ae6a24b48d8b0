"""till and apply-to-till: each operator's own drawer session.

- `till` (HTTP): open the caller's till, list sessions with what each should hold per
  method, sangria / suprimento, close with the counted amounts (expected, counted and the
  difference per method). Only the session's operator or an admin acts on a session; to a
  vendedor another's session does not exist (404).
- `apply-to-till` (customer.payment_received): a customer's account payment counts in the
  receiving operator's open session, once per payment.
- `open_session_of` (complete-sale records the session on the sale) and `record_refund`
  (return-sale, in the return's own transaction) are the calls the rest of sales makes.

The arithmetic is `till_domain`'s, the SQL `till_store`'s.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from psycopg import AsyncConnection

from functions.sales import till_domain, till_store
from functions.sales.till_domain import Amounts
from shared import shop_time
from shared.auth.principal import Principal, Role
from shared.contracts import endpoints as api
from shared.contracts.queries import TillSessionsQuery
from shared.contracts.till import (
    AmountsOut,
    TillCloseIn,
    TillMovementIn,
    TillMovementOut,
    TillOpenIn,
    TillSessionOut,
)
from shared.db.uow import UnitOfWork
from shared.domain_errors import Conflict, Invalid, NotFound
from shared.events.customers import CustomerPaymentReceived
from shared.events.envelope import Envelope
from shared.events.sales import MAX_SALE_CENTS
from shared.events.till import Amounts as EventAmounts
from shared.events.till import TillMovementRecorded, TillSessionClosed
from shared.http import RequestContext, Route
from shared.subscriber import On
from shared.vocabulary import TILL_METHODS

log = logging.getLogger("acougue.till")
NO_SUCH_SESSION = "Caixa não encontrado."


def routes() -> list[Route]:
    """The till's HTTP endpoints (api.OPEN_TILL, TILL_SESSIONS, TILL_MOVEMENT, CLOSE_TILL)."""
    return [
        Route(api.OPEN_TILL, _open),
        Route(api.TILL_SESSIONS, _list),
        Route(api.TILL_MOVEMENT, _movement),
        Route(api.CLOSE_TILL, _close),
    ]


def events() -> list[On]:  # type: ignore[type-arg]
    """apply-to-till's events (customer.payment_received)."""
    return [On(CustomerPaymentReceived, _customer_payment)]


async def _customer_payment(
    uow: UnitOfWork, envelope: Envelope, event: CustomerPaymentReceived
) -> None:
    await apply_customer_payment(uow, event, taken_at=envelope.time)


async def open_session_of(conn: AsyncConnection[Any], operator_id: UUID) -> UUID | None:
    """The operator's open session, if any: complete-sale records it on the sale (a share
    lock until that commits: a closing waits for the sale and then counts it)."""
    return await till_store.open_session_id(conn, operator_id, for_share=True)


async def record_refund(
    conn: AsyncConnection[Any],
    session_id: UUID,
    method: str,
    amount_cents: int,
    return_id: UUID,
) -> None:
    """Money a return (or the cancellation of a paid sale) gave back from this session's
    drawer, called in the return's or cancellation's own transaction: the session's expected
    amount for `method` goes down.

    Once per `return_id` (a return's id, or the cancelled sale's: a second call changes
    nothing). A fiado refund goes back to the
    customer's account, not out of a drawer: nothing to record. Refused (and the return's
    transaction with it): an unknown session (NotFound), a closed one (Conflict: its figures
    stand; the money leaves the drawer that is open now), an amount out of bounds."""
    if method == "fiado":
        return
    if method not in TILL_METHODS:
        raise Invalid(f"Forma de devolução desconhecida: {method!r}.")
    if not 0 < amount_cents <= MAX_SALE_CENTS:
        raise Invalid("O valor devolvido está fora dos limites.")
    session = await till_store.get_session(conn, session_id, for_update=True)
    if session is None:
        raise NotFound(NO_SUCH_SESSION)
    if await till_store.refund_recorded(conn, return_id):
        return
    till_domain.check_open_for(session.status)
    await till_store.insert_refund(conn, return_id, session_id, method, amount_cents)


# -- HTTP -------------------------------------------------------------------------------


def _visible(who: Principal, session: till_store.Session | None) -> till_store.Session:
    """The session if the caller may see and act on it: an admin any, others their own."""
    if session is None or (who.role is not Role.ADMIN and str(session.operator_id) != who.user_id):
        raise NotFound(NO_SUCH_SESSION)
    return session


def _amounts_out(amounts: Amounts) -> AmountsOut:
    return AmountsOut(**amounts.as_dict())


def _movement_out(m: till_store.Movement) -> TillMovementOut:
    return TillMovementOut(
        id=m.id,
        session_id=m.session_id,
        kind=cast(Any, m.kind),
        amount_cents=m.amount_cents,
        reason=m.reason,
        at=m.at,
        by=m.by,
    )


def _session_out(
    session: till_store.Session,
    flows: till_store.SessionFlows,
    movements: list[till_store.Movement],
) -> TillSessionOut:
    """An open session shows what it should hold now; a closed one its closing figures."""
    if session.status == "closed" and session.expected is not None:
        expected, sales_count = session.expected, session.sales_count or 0
    else:
        expected = till_domain.expected(flows.flows(session.opening_cents))
        sales_count = flows.sales_count
    counted = session.counted
    return TillSessionOut(
        id=session.id,
        operator_id=session.operator_id,
        operator_name=session.operator_name,
        status=cast(Any, session.status),
        opened_at=session.opened_at,
        closed_at=session.closed_at,
        opening_cents=session.opening_cents,
        expected=_amounts_out(expected),
        counted=_amounts_out(counted) if counted else None,
        difference=_amounts_out(till_domain.difference(counted, expected)) if counted else None,
        sales_count=sales_count,
        movements=[_movement_out(m) for m in movements],
    )


async def open_till(uow: UnitOfWork, who: Principal, body: TillOpenIn) -> TillSessionOut:
    operator = UUID(who.user_id)
    session = await till_store.insert_session(
        uow.conn, uuid.uuid4(), operator, who.username[:100], body.opening_cents
    )
    if session is None:
        existing = await till_store.open_session_id(uow.conn, operator)
        raise Conflict(
            "Você já tem um caixa aberto: feche-o antes de abrir outro.",
            code="till_already_open",
            session_id=str(existing) if existing else None,
        )
    return _session_out(session, till_store.SessionFlows(), [])


async def _open(ctx: RequestContext) -> TillSessionOut:
    body = await ctx.body(TillOpenIn)
    return await ctx.command(lambda uow: open_till(uow, ctx.user, body))


async def list_sessions(
    uow: UnitOfWork, who: Principal, query: TillSessionsQuery
) -> list[TillSessionOut]:
    day = query.day
    sessions = await till_store.list_sessions(
        uow.conn,
        operator_id=UUID(who.user_id) if who.role is not Role.ADMIN else None,
        since=shop_time.start_of(day) if day else None,
        until=shop_time.start_of(day + timedelta(days=1)) if day else None,
        status=query.status,
        limit=query.limit,
    )
    ids = [s.id for s in sessions]
    open_ids = [s.id for s in sessions if s.status == "open"]
    flows = await till_store.flows(uow.conn, open_ids)
    movements = await till_store.movements(uow.conn, ids)
    return [
        _session_out(s, flows.get(s.id, till_store.SessionFlows()), movements[s.id])
        for s in sessions
    ]


async def _list(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(TillSessionsQuery)
    async with await ctx.unit_of_work() as uow:
        sessions = await list_sessions(uow, ctx.user, query)
    return {"items": [s.model_dump(mode="json") for s in sessions]}


async def record_movement(
    uow: UnitOfWork, who: Principal, session_id: UUID, body: TillMovementIn
) -> TillMovementOut:
    session = _visible(who, await till_store.get_session(uow.conn, session_id, for_update=True))
    till_domain.check_open_for(session.status)
    flows = (await till_store.flows(uow.conn, [session.id]))[session.id]
    cash_now = till_domain.expected(flows.flows(session.opening_cents)).cash_cents
    till_domain.check_movement(
        session.status, body.kind, body.amount_cents, cash_now, flows.movements
    )
    movement = await till_store.insert_movement(
        uow.conn,
        uuid.uuid4(),
        session.id,
        body.kind,
        body.amount_cents,
        body.reason,
        UUID(who.user_id),
    )
    await uow.emit(
        TillMovementRecorded(
            movement_id=str(movement.id),
            session_id=str(session.id),
            operator_id=str(session.operator_id),
            kind=body.kind,
            amount_cents=body.amount_cents,
            reason=body.reason,
        ),
        subject=str(session.id),
    )
    return _movement_out(movement)


async def _movement(ctx: RequestContext) -> TillMovementOut:
    body = await ctx.body(TillMovementIn)
    return await ctx.command(
        lambda uow: record_movement(uow, ctx.user, ctx.params["session_id"], body)
    )


async def close_till(
    uow: UnitOfWork, who: Principal, session_id: UUID, body: TillCloseIn
) -> TillSessionOut:
    session = _visible(who, await till_store.get_session(uow.conn, session_id, for_update=True))
    till_domain.check_open_for(session.status)
    unpaid = await till_store.unpaid_sales(uow.conn, session.id)
    if unpaid:
        raise Conflict(
            f"{unpaid} venda(s) deste caixa ainda sem pagamento: receba ou cancele antes de"
            " fechar (paga depois, entraria num caixa já fechado).",
            code="till_has_unpaid_sales",
            unpaid=unpaid,
        )
    flows = (await till_store.flows(uow.conn, [session.id]))[session.id]
    expected = till_domain.expected(flows.flows(session.opening_cents))
    counted = Amounts(**body.counted.model_dump())
    closed_at = await till_store.close_session(
        uow.conn,
        session.id,
        closed_by=UUID(who.user_id),
        sales_count=flows.sales_count,
        expected=expected,
        counted=counted,
    )
    await uow.emit(
        TillSessionClosed(
            session_id=str(session.id),
            operator_id=str(session.operator_id),
            opened_at=session.opened_at,
            closed_at=closed_at,
            opening_cents=session.opening_cents,
            expected=EventAmounts(**expected.as_dict()),
            counted=EventAmounts(**counted.as_dict()),
        ),
        subject=str(session.id),
    )
    closed = await till_store.get_session(uow.conn, session.id)
    assert closed is not None
    movements = await till_store.movements(uow.conn, [session.id])
    return _session_out(closed, flows, movements[session.id])


async def _close(ctx: RequestContext) -> TillSessionOut:
    body = await ctx.body(TillCloseIn)
    return await ctx.command(lambda uow: close_till(uow, ctx.user, ctx.params["session_id"], body))


# -- apply-to-till ----------------------------------------------------------------------


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise Invalid(f"{what} is not a UUID: {value[:40]!r}.") from None


async def apply_customer_payment(
    uow: UnitOfWork, event: CustomerPaymentReceived, taken_at: datetime | None = None
) -> bool:
    """Count a customer's payment in the receiver's open session, once per payment. No open
    session, or one opened after the money was taken (`taken_at`, the event's time: the
    receiver closed and opened again before it arrived): the money is in no open till to
    count (logged). True when counted now."""
    payment_id = _uuid(event.payment_id, "payment_id")
    customer_id = _uuid(event.customer_id, "customer_id")
    receiver = _uuid(event.received_by, "received_by")
    # Locked, so that a closing in progress either counts it or is over before we look.
    session_id = await till_store.open_session_id(uow.conn, receiver, for_update=True)
    if session_id is not None and taken_at is not None:
        session = await till_store.get_session(uow.conn, session_id)
        if session is not None and session.opened_at > taken_at:
            session_id = None  # taken in an earlier session, whose figures froze
    if session_id is None:
        log.info(
            "customer payment %s (%s, %d cents) received by %s with no open till: not counted",
            event.payment_id,
            event.method,
            event.amount_cents,
            event.received_by,
        )
        return False
    counted = await till_store.insert_customer_payment(
        uow.conn, payment_id, session_id, customer_id, event.method, event.amount_cents
    )
    if not counted:
        log.info("customer payment %s was counted before", event.payment_id)
    return counted
