"""Inventory commands: domain rules applied to locked stock rows, movements and events in
one unit of work."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from uuid import UUID

from functions.inventory import domain, store
from functions.inventory.domain import Change, RuleError, Stock
from shared.contracts.inventory import BreakdownIn, BreakdownOut, BreakdownOutputOut, MovementIn
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotYet
from shared.events.catalog import ProductState
from shared.events.inventory import Cause, MovementRegistered, StockLow
from shared.events.sales import SaleSettled
from shared.money import cents


async def _record(
    uow: UnitOfWork,
    product_id: UUID,
    kind: str,
    change: Change,
    before: Stock,
    *,
    cause: Cause,
    info: store.ProductInfo | None,
    reason: str | None = None,
    lot: str | None = None,
    expires_on: date | None = None,
    paid_with: str | None = None,
) -> store.MovementRecord:
    """Persist one movement and its new stock, and say so in events."""
    movement = store.MovementRecord(
        id=uuid.uuid4(),
        product_id=product_id,
        kind=kind,
        quantity=change.quantity,
        unit_cost_cents=change.after.unit_cost_cents,
        total_cost_cents=change.total_cost_cents,
        balance_after=change.after.quantity,
        cause_type=cause.type,
        cause_id=cause.id,
        reason=reason,
        lot=lot,
        expires_on=expires_on,
        paid_with=paid_with,
        actor=uow.actor,
    )
    await store.insert_movement(uow.conn, movement)
    await store.save_stock(uow.conn, product_id, change.after)
    if change.quantity < 0:
        await store.draw_lots(uow.conn, product_id, -change.quantity)
    await uow.emit(
        MovementRegistered(
            movement_id=str(movement.id),
            product_id=str(product_id),
            kind=kind,
            quantity=movement.quantity,
            unit_cost_cents=movement.unit_cost_cents,
            total_cost_cents=movement.total_cost_cents,
            balance_after=movement.balance_after,
            cause=cause,
            reason=reason,
            lot=lot,
            expires_on=expires_on,
            paid_with=paid_with,
        ),
        subject=str(product_id),
    )
    if info and domain.crossed_below_minimum(
        info.min_stock, before.quantity, change.after.quantity
    ):
        await uow.emit(
            StockLow(
                product_id=str(product_id),
                name=info.name,
                quantity=change.after.quantity,
                min_stock=info.min_stock,
            ),
            subject=str(product_id),
        )
    return movement


async def _known_product(uow: UnitOfWork, product_id: UUID) -> store.ProductInfo:
    info = (await store.products(uow.conn, [product_id])).get(product_id)
    if info is None:
        raise RuleError("No such product in stock's catalogue (yet).")
    return info


async def register_movement(uow: UnitOfWork, body: MovementIn) -> store.MovementRecord:
    info = await _known_product(uow, body.product_id)
    domain.whole_units_only(info.unit, body.quantity)
    stock = (await store.lock_stock(uow.conn, [body.product_id]))[body.product_id]
    manual = Cause(type="manual", id=None)
    if body.kind == "receipt":
        assert body.unit_cost_cents is not None
        value = domain.receipt_value(body.quantity, body.unit_cost_cents)
        change = domain.receive(stock, body.quantity, value)
    elif body.kind == "loss":
        change = domain.issue(stock, body.quantity)
    else:
        change = domain.count(stock, body.quantity)
    domain.check_stock_limit(change.after)
    movement = await _record(
        uow,
        body.product_id,
        body.kind,
        change,
        stock,
        cause=manual,
        info=info,
        reason=body.reason,
        lot=body.lot,
        expires_on=body.expires_on,
        paid_with=(body.paid_with or "payable") if body.kind == "receipt" else None,
    )
    if body.kind == "receipt" and (body.lot or body.expires_on):
        await store.add_lot(uow.conn, body.product_id, body.lot, body.expires_on, body.quantity)
    return movement


async def breakdown(uow: UnitOfWork, body: BreakdownIn) -> BreakdownOut:
    ids = [body.source_product_id, *(o.product_id for o in body.outputs)]
    infos = await store.products(uow.conn, ids)
    missing = [str(i) for i in ids if i not in infos]
    if missing:
        raise RuleError(f"Unknown products: {', '.join(missing)}.")
    source_info = infos[body.source_product_id]
    if any(infos[o.product_id].unit != source_info.unit for o in body.outputs):
        raise RuleError("A breakdown's source and outputs must share one unit.")
    stocks = await store.lock_stock(uow.conn, ids)
    domain.whole_units_only(source_info.unit, body.source_quantity)
    plan = domain.plan_breakdown(
        stocks[body.source_product_id],
        body.source_quantity,
        [
            domain.Output(str(o.product_id), o.quantity, infos[o.product_id].price_cents)
            for o in body.outputs
        ],
        body.cost_allocation,
    )
    for output in body.outputs:
        before = stocks[output.product_id]
        domain.check_stock_limit(Stock(before.quantity + output.quantity, before.average_cost))
    breakdown_id = uuid.uuid4()
    cause = Cause(type="breakdown", id=str(breakdown_id))
    source_stock = stocks[body.source_product_id]
    await store.insert_breakdown(
        uow.conn,
        breakdown_id=breakdown_id,
        source_product_id=body.source_product_id,
        source_quantity=body.source_quantity,
        produced=-plan.source_out.quantity,
        loss=-plan.loss.quantity,
        yield_percent=plan.yield_percent,
        allocation=body.cost_allocation,
        source_cost_cents=-plan.source_out.total_cost_cents,
        actor=uow.actor,
    )
    await _record(
        uow,
        body.source_product_id,
        "breakdown_out",
        plan.source_out,
        source_stock,
        cause=cause,
        info=source_info,
    )
    if plan.loss.quantity:
        await _record(
            uow,
            body.source_product_id,
            "loss",
            plan.loss,
            plan.source_out.after,
            cause=cause,
            info=source_info,
            reason="aparas",
        )
    outputs = []
    for output, cost in zip(body.outputs, plan.output_costs, strict=True):
        before = stocks[output.product_id]
        change = domain.receive(before, output.quantity, cost)
        await _record(
            uow,
            output.product_id,
            "breakdown_in",
            change,
            before,
            cause=cause,
            info=infos[output.product_id],
        )
        outputs.append(
            BreakdownOutputOut(
                product_id=output.product_id,
                quantity=output.quantity,
                unit_cost_cents=cents(Decimal(cost) / output.quantity),
                total_cost_cents=cost,
            )
        )
    return BreakdownOut(
        id=breakdown_id,
        source_product_id=body.source_product_id,
        source_quantity=body.source_quantity,
        yield_percent=plan.yield_percent,
        loss_quantity=-plan.loss.quantity,
        source_cost_cents=-plan.source_out.total_cost_cents,
        cost_allocation=body.cost_allocation,
        outputs=outputs,
    )


async def apply_sale(uow: UnitOfWork, sale: SaleSettled) -> None:
    """A paid sale leaves stock at the current average cost; never blocked by stock."""
    ids = [UUID(item.product_id) for item in sale.items]
    infos = await store.products(uow.conn, ids)
    stocks = await store.lock_stock(uow.conn, ids)
    cause = Cause(type="sale", id=sale.sale_id)
    for item in sale.items:
        pid = UUID(item.product_id)
        change = domain.issue(stocks[pid], item.quantity)
        await _record(uow, pid, "sale", change, stocks[pid], cause=cause, info=infos.get(pid))
        stocks[pid] = change.after


async def apply_refund(uow: UnitOfWork, sale: SaleSettled) -> None:
    """A refund puts back exactly what the sale took out, at the cost it went out at."""
    taken = await store.sale_movements(uow.conn, sale.sale_id)
    sold = [m for m in taken if m["kind"] == "sale"]
    if not sold:
        raise NotYet(f"Sale {sale.sale_id} has not left stock yet.")
    if any(m["kind"] == "refund" for m in taken):
        return  # refunded already (under another event id): never twice
    ids = [m["product_id"] for m in sold]
    infos = await store.products(uow.conn, ids)
    stocks = await store.lock_stock(uow.conn, ids)
    cause = Cause(type="sale", id=sale.sale_id)
    for m in sold:
        pid = m["product_id"]
        change = domain.receive(stocks[pid], -m["quantity"], -m["total_cost_cents"])
        await _record(uow, pid, "refund", change, stocks[pid], cause=cause, info=infos.get(pid))
        stocks[pid] = change.after


async def apply_product(uow: UnitOfWork, state: ProductState) -> bool:
    """Keep inventory's copy of the catalogue; the catalogue's version orders the states
    (never the event's time, which a sender chooses). True when this state was applied."""
    info = store.ProductInfo(
        product_id=UUID(state.product_id),
        name=state.name,
        unit=state.unit,
        price_cents=state.price_cents,
        min_stock=Decimal(state.min_stock),
        active=state.active,
    )
    return await store.upsert_product(uow.conn, info, state.version)
