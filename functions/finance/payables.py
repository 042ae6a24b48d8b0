"""payables: the suppliers' bills. A bill opens from each receipt bought "a prazo"
(inventory.movement.registered), shows its supplier's newest name (inventory.supplier.saved),
and is paid in parts: each payment posts Dr fornecedores a pagar / Cr caixa or banco in the
transaction that locks the bill, so two payments at once never pay more than is open.

main.py serves `http_routes()` and `events()` as the Knative Service `payables`; tests serve
the same tables on their own runtime."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python
from starlette.responses import JSONResponse, Response

from functions.finance import backoffice, service
from shared import shop_time
from shared.contracts import endpoints as api
from shared.contracts.finance import PayablePaymentIn
from shared.contracts.queries import PayablesQuery
from shared.db.pool import Conn
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotFound
from shared.events.envelope import Envelope
from shared.events.inventory import MovementRegistered, SupplierSaved
from shared.http import RequestContext, Route
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber

NO_SUCH_BILL = "Conta a pagar não encontrada."

# -- SQL ---------------------------------------------------------------------------------

_BILL = (
    "SELECT p.id, p.supplier_id, s.name AS supplier_name, p.movement_id, p.product_id,"
    " n.name AS product_name, p.received_at, p.due_on, p.amount_cents, p.paid_cents"
    " FROM payables p"
    " LEFT JOIN supplier_names s ON s.supplier_id = p.supplier_id"
    " LEFT JOIN product_names n ON n.product_id = p.product_id"
)


async def open_bill(
    conn: Conn,
    *,
    movement_id: str,
    supplier_id: str | None,
    product_id: str,
    received_at: datetime,
    due_on: date | None,
    amount_cents: int,
) -> bool:
    """One bill per receipt, however often its event arrives; True when it is new."""
    cursor = await conn.execute(
        "INSERT INTO payables (id, movement_id, supplier_id, product_id, received_at, due_on,"
        " amount_cents) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (movement_id) DO NOTHING RETURNING id",
        (uuid.uuid4(), movement_id, supplier_id, product_id, received_at, due_on, amount_cents),
    )
    return await cursor.fetchone() is not None


async def save_supplier_name(conn: Conn, saved: SupplierSaved) -> None:
    """The newest version wins, whatever order the versions arrive in."""
    await conn.execute(
        "INSERT INTO supplier_names (supplier_id, name, active, version) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (supplier_id) DO UPDATE SET name = EXCLUDED.name,"
        " active = EXCLUDED.active, version = EXCLUDED.version"
        " WHERE supplier_names.version < EXCLUDED.version",
        (saved.supplier_id, saved.name, saved.active, saved.version),
    )


async def bills(
    conn: Conn, *, status: str | None, supplier_id: UUID | None, limit: int
) -> list[dict[str, Any]]:
    """Bills by due date (those without one last), then as they were received."""
    cursor = await conn.execute(
        _BILL + " WHERE (%(status)s::text IS NULL"
        "   OR (%(status)s::text = 'open') = (p.paid_cents < p.amount_cents))"
        " AND (%(supplier)s::uuid IS NULL OR p.supplier_id = %(supplier)s::uuid)"
        " ORDER BY p.due_on NULLS LAST, p.received_at, p.id LIMIT %(limit)s",
        {"status": status, "supplier": supplier_id, "limit": limit},
    )
    return list(await cursor.fetchall())


async def lock_bill(conn: Conn, bill_id: UUID) -> dict[str, Any] | None:
    """The bill, locked until the transaction ends: its payments go one at a time."""
    cursor = await conn.execute(_BILL + " WHERE p.id = %s FOR UPDATE OF p", (bill_id,))
    return await cursor.fetchone()


async def payment_by_key(conn: Conn, bill_id: UUID, key: str) -> dict[str, Any] | None:
    cursor = await conn.execute(
        "SELECT id, amount_cents, paid_with, paid_on, entry_id, request_hash"
        " FROM payable_payments WHERE payable_id = %s AND idempotency_key = %s",
        (bill_id, key),
    )
    return await cursor.fetchone()


async def record_payment(
    conn: Conn,
    *,
    payment_id: str,
    bill_id: UUID,
    body: PayablePaymentIn,
    entry_id: str,
    actor: str | None,
    key: str | None,
    request_hash: str,
) -> None:
    await conn.execute(
        "INSERT INTO payable_payments (id, payable_id, amount_cents, paid_with, paid_on,"
        " entry_id, actor, idempotency_key, request_hash)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            payment_id,
            bill_id,
            body.amount_cents,
            body.paid_with,
            body.paid_on,
            entry_id,
            actor,
            key,
            request_hash,
        ),
    )
    await conn.execute(
        "UPDATE payables SET paid_cents = paid_cents + %s WHERE id = %s",
        (body.amount_cents, bill_id),
    )


# -- the bills as the API shows them ------------------------------------------------------


def view(row: dict[str, Any], today: date) -> dict[str, Any]:
    amount, paid = int(row["amount_cents"]), int(row["paid_cents"])
    return {
        "id": str(row["id"]),
        "supplier_id": str(row["supplier_id"]) if row["supplier_id"] else None,
        "supplier_name": row["supplier_name"],
        "movement_id": str(row["movement_id"]),
        "product_id": str(row["product_id"]),
        "product_name": row["product_name"],
        "received_at": row["received_at"],
        "due_on": row["due_on"],
        "amount_cents": amount,
        "paid_cents": paid,
        "open_cents": backoffice.open_cents(amount, paid),
        "status": backoffice.bill_status(amount, paid),
        "overdue": backoffice.overdue(row["due_on"], amount, paid, today),
    }


def _payment_view(payment_id: Any, body: PayablePaymentIn, entry_id: Any) -> dict[str, Any]:
    return {
        "id": str(payment_id),
        "amount_cents": body.amount_cents,
        "paid_with": body.paid_with,
        "paid_on": body.paid_on,
        "entry_id": str(entry_id),
    }


# -- commands -----------------------------------------------------------------------------


def _uuid(value: str | None, name: str) -> None:
    if value is None:
        return
    try:
        uuid.UUID(value)
    except ValueError:
        raise Invalid(f"A receipt's {name} is a UUID.") from None


async def receipt(uow: UnitOfWork, event: Envelope, moved: MovementRegistered) -> None:
    """A receipt bought "a prazo" opens its bill, dated when it was received."""
    if not backoffice.opens_bill(moved):
        return
    for name in ("movement_id", "product_id", "supplier_id"):
        _uuid(getattr(moved, name), name)
    await open_bill(
        uow.conn,
        movement_id=moved.movement_id,
        supplier_id=moved.supplier_id,
        product_id=moved.product_id,
        received_at=event.time or datetime.now(UTC),
        due_on=moved.due_on,
        amount_cents=backoffice.bill_amount(moved),
    )


async def supplier_saved(uow: UnitOfWork, saved: SupplierSaved) -> None:
    try:
        uuid.UUID(saved.supplier_id)
    except ValueError:
        raise Invalid("A supplier's id is a UUID.") from None
    await save_supplier_name(uow.conn, saved)


def _request_hash(body: PayablePaymentIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def pay(
    uow: UnitOfWork, bill_id: UUID, body: PayablePaymentIn, key: str | None, today: date
) -> tuple[dict[str, Any], bool]:
    """Pay (part of) a bill: no more than it has open, the ledger's entry, the payment and
    the bill's new figure in one transaction under the bill's lock. With an Idempotency-Key
    a payment sent again answers the one made (and whether it is that replay); the same key
    with another body is refused."""
    bill = await lock_bill(uow.conn, bill_id)
    if bill is None:
        raise NotFound(NO_SUCH_BILL)
    digest = _request_hash(body)
    if key is not None:
        earlier = await payment_by_key(uow.conn, bill_id, key)
        if earlier is not None:
            if earlier["request_hash"] != digest:
                raise Invalid(
                    "Esta Idempotency-Key já foi usada para outro pagamento desta conta;"
                    " use uma nova."
                )
            replay = {
                **view(bill, today),
                "payment": _payment_view(earlier["id"], body, earlier["entry_id"]),
            }
            return replay, True
    backoffice.check_payment(int(bill["amount_cents"]), int(bill["paid_cents"]), body.amount_cents)
    payment_id = str(uuid.uuid4())
    posting = backoffice.payable_payment(
        payment_id, bill, body.amount_cents, body.paid_with, body.paid_on
    )
    entry_id = await service.post(uow, posting)  # announced: ledger.entry.posted
    if entry_id is None:  # pragma: no cover - a fresh payment id is a fresh cause
        raise RuntimeError(f"payment {payment_id} was posted already")
    await record_payment(
        uow.conn,
        payment_id=payment_id,
        bill_id=bill_id,
        body=body,
        entry_id=entry_id,
        actor=uow.actor,
        key=key,
        request_hash=digest,
    )
    after = {**bill, "paid_cents": int(bill["paid_cents"]) + body.amount_cents}
    return {**view(after, today), "payment": _payment_view(payment_id, body, entry_id)}, False


# -- HTTP and events ------------------------------------------------------------------------


async def _list(ctx: RequestContext) -> dict[str, Any]:
    query = ctx.query(PayablesQuery)
    today = shop_time.today()
    async with await ctx.unit_of_work() as uow:
        rows = await bills(
            uow.conn, status=query.status, supplier_id=query.supplier_id, limit=query.limit
        )
    return {"items": [view(r, today) for r in rows]}


async def _pay(ctx: RequestContext) -> Response:
    key = ctx.optional_idempotency_key()  # sent again after a lost answer: paid once
    body = await ctx.body(PayablePaymentIn)
    today = shop_time.today()
    paid, replayed = await ctx.command(
        lambda uow: pay(uow, ctx.params["payable_id"], body, key, today)
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(to_jsonable_python(paid), status_code=201, headers=headers)


def http_routes() -> list[Route]:
    return [Route(api.LIST_PAYABLES, _list), Route(api.PAY_PAYABLE, _pay)]


def events() -> list[On[Any]]:
    return [On(MovementRegistered, receipt), On.applying(SupplierSaved, supplier_saved)]


def subscriber(runtime: Runtime) -> Subscriber:
    """The bills' events. post-ledger-entry takes movement.registered too, in the same
    schema: an inbox key of its own, or whichever of the two came second would skip the
    receipt as a duplicate (its bill or its posting lost)."""
    return Subscriber(runtime, events(), consumer="payables")
