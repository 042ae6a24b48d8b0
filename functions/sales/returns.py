"""return-sale: take back part of a paid sale (POST /api/sales/{id}/returns, admin).

In one unit of work: the sale's row is locked (two returns of the same sale take turns, so
together they never take back more than was sold), the return and its items are written,
the returning admin's open till gives the money back (not for fiado: that goes back to the
customer's account, charge-account's work), and `sale.returned` goes to the outbox. Its
consumers put the stock back (inventory), reverse that part of the ledger (finance) and
credit a fiado account (customers).

A retried POST with the same Idempotency-Key answers the return it already made. Without a
key, a double click is still safe from over-returns (the locked quantity check refuses
more than is left) but could return twice what the first click asked when that much is
left: the UI sends a key per return dialog.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from starlette.responses import JSONResponse, Response

from functions.sales import return_rules, returns_store, store
from functions.sales import till as tills
from shared.auth.principal import Principal
from shared.contracts import endpoints as api
from shared.contracts.sales import ReturnIn, ReturnItemOut, ReturnOut
from shared.db.pool import Conn
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotFound
from shared.events.sales import ReturnedItem, SaleReturned
from shared.http import RequestContext, Route

FIADO = "fiado"


def routes() -> list[Route]:
    """return-sale's HTTP endpoint (api.RETURN_ITEMS)."""
    return [Route(api.RETURN_ITEMS, _return)]


async def returns_of(conn: Conn, sale_id: UUID) -> list[ReturnOut]:
    """A sale's returns, oldest first: GET /api/sales/{id} and the receipt show them."""
    return await returns_store.returns_of(conn, sale_id)


async def _return(ctx: RequestContext) -> Response:
    key = ctx.optional_idempotency_key()  # a return without one is still accepted
    body = await ctx.body(ReturnIn)
    sale_id: UUID = ctx.params["sale_id"]
    made, replayed = await ctx.command(
        lambda uow: return_items(uow, ctx.user, sale_id, body, key=key)
    )
    headers = {"Location": f"/api/sales/{sale_id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(made.model_dump(mode="json"), status_code=201, headers=headers)


def request_hash(body: ReturnIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def return_items(
    uow: UnitOfWork, admin: Principal, sale_id: UUID, body: ReturnIn, *, key: str | None = None
) -> tuple[ReturnOut, bool]:
    """The return made, and whether it is an earlier one answered again (same key)."""
    conn = uow.conn
    found = await store.get_sale(conn, sale_id, for_update=True)
    if found is None:
        raise NotFound("Venda não encontrada.")
    digest = request_hash(body)
    if key is not None:
        earlier = await returns_store.by_key(conn, sale_id, key)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise return_rules.ReturnRefused(
                    "Esta Idempotency-Key já foi usada para outra devolução desta venda;"
                    " use uma nova."
                )
            return earlier.out, True
    return_rules.check_returnable(found.state.status.value, found.state.cancel_requested)
    reason = return_rules.check_reason(body.reason)
    sale = found.sale
    plan = return_rules.plan_return(
        [
            return_rules.SoldLine(i.product_id, i.name, i.unit, i.quantity, i.total_cents)
            for i in sale.items
        ],
        sale.total_cents,
        await returns_store.returned_so_far(conn, sale_id),
        [(item.product_id, item.quantity) for item in body.items],
    )
    admin_id = UUID(admin.user_id)
    method = sale.payment.method
    customer_id = None
    if method == FIADO:
        customer_id = sale.customer_id or await returns_store.customer_of(conn, sale_id)
    # The till's functions take a connection however till.py types it; this is ours.
    till_conn = cast(Any, conn)
    session_id = await tills.open_session_of(till_conn, admin_id)
    made = ReturnOut(
        id=uuid.uuid4(),
        sale_id=sale_id,
        at=datetime.now(UTC),
        by=admin_id,
        reason=reason,
        refund_cents=plan.refund_cents,
        method=method,
        items=[
            ReturnItemOut(
                product_id=p.product_id,
                name=p.name,
                quantity=p.quantity,
                refund_cents=p.refund_cents,
            )
            for p in plan.items
        ],
    )
    await returns_store.insert_return(
        conn,
        made,
        plan,
        customer_id=customer_id,
        till_session_id=session_id,
        key=key,
        request_hash=digest,
    )
    if session_id is not None and method != FIADO and plan.refund_cents > 0:
        await tills.record_refund(till_conn, session_id, method, plan.refund_cents, made.id)
    await uow.emit(
        SaleReturned(
            sale_id=str(sale_id),
            return_id=str(made.id),
            seller_id=str(sale.seller_id),
            items=[
                ReturnedItem(
                    product_id=str(p.product_id),
                    name=p.name,
                    quantity=p.quantity,
                    refund_cents=p.refund_cents,
                )
                for p in plan.items
            ],
            refund_cents=plan.refund_cents,
            payment_method=method,
            customer_id=str(customer_id) if customer_id else None,
            till_session_id=str(session_id) if session_id else None,
            reason=reason,
        ),
        subject=str(sale_id),
    )
    return made, False
