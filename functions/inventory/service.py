"""Inventory commands: domain rules applied to locked stock rows, movements and events in
one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from functions.inventory import domain, store
from functions.inventory.domain import Change, RuleError, Stock
from shared.contracts.imports import ImportStockIn
from shared.contracts.inventory import BreakdownIn, BreakdownOut, BreakdownOutputOut, MovementIn
from shared.contracts.suppliers import SupplierIn, SupplierOut, SupplierPatch
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotFound, NotYet, Refused
from shared.events.catalog import ProductState
from shared.events.envelope import Envelope
from shared.events.inventory import Cause, MovementRegistered, StockLow, SupplierSaved
from shared.events.ownership import source_of
from shared.events.payments import IMPORTER
from shared.events.sales import SaleReturned, SaleSettled
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
    return_id: str | None = None,
    supplier_id: UUID | None = None,
    due_on: date | None = None,
    at: datetime | None = None,
    movement_id: UUID | None = None,
) -> store.MovementRecord:
    """Persist one movement and its new stock, and say so in events. `at` (an imported
    record's original time) dates the movement and its events; None is now."""
    movement = store.MovementRecord(
        id=movement_id or uuid.uuid4(),
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
        return_id=return_id,
        supplier_id=supplier_id,
        due_on=due_on,
        at=at,
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
            supplier_id=str(supplier_id) if supplier_id else None,
            due_on=due_on,
        ),
        subject=str(product_id),
        time=at,
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
            time=at,
        )
    return movement


async def _known_product(uow: UnitOfWork, product_id: UUID) -> store.ProductInfo:
    info = (await store.products(uow.conn, [product_id])).get(product_id)
    if info is None:
        raise RuleError("No such product in stock's catalogue (yet).")
    return info


async def register_movement(
    uow: UnitOfWork,
    body: MovementIn,
    *,
    at: datetime | None = None,
    movement_id: UUID | None = None,
) -> store.MovementRecord:
    """A receipt, loss or count; `at` and `movement_id` are an imported record's."""
    info = await _known_product(uow, body.product_id)
    if body.supplier_id is not None:
        supplier = await store.supplier_for_receipt(uow.conn, body.supplier_id)
        domain.check_supplier_for_receipt(supplier is not None, bool(supplier and supplier.active))
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
        supplier_id=body.supplier_id,
        due_on=body.due_on,
        at=at,
        movement_id=movement_id,
    )
    if body.kind == "receipt" and (body.lot or body.expires_on):
        await store.add_lot(uow.conn, body.product_id, body.lot, body.expires_on, body.quantity, at)
    return movement


async def breakdown(
    uow: UnitOfWork,
    body: BreakdownIn,
    *,
    at: datetime | None = None,
    breakdown_id: UUID | None = None,
) -> BreakdownOut:
    """A desossa; `at` and `breakdown_id` are an imported record's."""
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
    breakdown_id = breakdown_id or uuid.uuid4()
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
        at=at,
    )
    await _record(
        uow,
        body.source_product_id,
        "breakdown_out",
        plan.source_out,
        source_stock,
        cause=cause,
        info=source_info,
        at=at,
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
            at=at,
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
            at=at,
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


async def apply_sale_event(uow: UnitOfWork, event: Envelope, sale: SaleSettled) -> None:
    """sale.paid: a sale imported from the old program (issue 18) leaves stock when it was
    sold (its event's time dates the movements, and so the ledger's CMV); a live one, now."""
    imported = event.source == source_of(IMPORTER)
    await apply_sale(uow, sale, at=event.time if imported else None)


async def apply_sale(uow: UnitOfWork, sale: SaleSettled, at: datetime | None = None) -> None:
    """A paid sale leaves stock at the current average cost; never blocked by stock."""
    ids = [UUID(item.product_id) for item in sale.items]
    infos = await store.products(uow.conn, ids)
    stocks = await store.lock_stock(uow.conn, ids)
    cause = Cause(type="sale", id=sale.sale_id)
    for item in sale.items:
        pid = UUID(item.product_id)
        change = domain.issue(stocks[pid], item.quantity)
        await _record(
            uow, pid, "sale", change, stocks[pid], cause=cause, info=infos.get(pid), at=at
        )
        stocks[pid] = change.after


@dataclass
class _Sold:
    """One product of a sale as stock saw it: what left (the sale's movements) and what
    came back so far by returns (refund movements with a return_id)."""

    quantity: Decimal = Decimal(0)
    cost_cents: int = 0
    back: Decimal = Decimal(0)
    back_cost_cents: int = 0
    returns: set[str] = field(default_factory=set)


def _sold(taken: list[dict[str, Any]]) -> dict[UUID, _Sold]:
    sold: dict[UUID, _Sold] = {}
    for m in taken:
        if m["kind"] == "sale":
            one = sold.setdefault(m["product_id"], _Sold())
            one.quantity -= m["quantity"]
            one.cost_cents -= m["total_cost_cents"]
        elif m["kind"] == "refund" and m["return_id"] is not None:
            one = sold.setdefault(m["product_id"], _Sold())
            one.back += m["quantity"]
            one.back_cost_cents += m["total_cost_cents"]
            one.returns.add(m["return_id"])
    return sold


def _cancelled(taken: list[dict[str, Any]]) -> bool:
    """The sale's own refund (its cancellation) is in: everything left came back then."""
    return any(m["kind"] == "refund" and m["return_id"] is None for m in taken)


async def apply_refund(uow: UnitOfWork, sale: SaleSettled) -> None:
    """A refund puts back exactly what the sale took out, at the cost it went out at; after
    returns, what is left of it (the quantity and cost the returns did not put back)."""
    taken = await store.sale_movements(uow.conn, sale.sale_id)
    if not any(m["kind"] == "sale" for m in taken):
        raise NotYet(f"Sale {sale.sale_id} has not left stock yet.")
    if _cancelled(taken):
        return  # refunded already (under another event id): never twice
    ids = sorted({m["product_id"] for m in taken if m["kind"] == "sale"})
    infos = await store.products(uow.conn, ids)
    stocks = await store.lock_stock(uow.conn, ids)
    # Read again under the stock rows' locks: a return of this sale applied meanwhile counts.
    taken = await store.sale_movements(uow.conn, sale.sale_id)
    if _cancelled(taken):
        return
    sold = _sold(taken)
    cause = Cause(type="sale", id=sale.sale_id)
    for m in taken:
        pid = m["product_id"]
        if m["kind"] != "sale" or sold[pid].returns:
            continue
        change = domain.receive(stocks[pid], -m["quantity"], -m["total_cost_cents"])
        await _record(uow, pid, "refund", change, stocks[pid], cause=cause, info=infos.get(pid))
        stocks[pid] = change.after
    for pid in ids:
        one = sold[pid]
        if not one.returns or one.back >= one.quantity:
            continue
        rest = one.quantity - one.back
        change = domain.receive(stocks[pid], rest, one.cost_cents - one.back_cost_cents)
        await _record(uow, pid, "refund", change, stocks[pid], cause=cause, info=infos.get(pid))
        stocks[pid] = change.after


async def apply_return(uow: UnitOfWork, returned: SaleReturned) -> None:
    """Part of a paid sale came back: each returned product's quantity goes back into stock
    at the cost it left with (domain.returned_cost: its share of the sale's movements),
    as a movement of kind "refund" that names the return: once per (return, product), so a
    sale may take several returns of the same product. After the sale's cancellation there
    is nothing left to put back (its refund put back everything the returns had not)."""
    wanted: dict[UUID, Decimal] = {}
    for item in returned.items:
        if item.quantity > 0:
            pid = UUID(item.product_id)
            wanted[pid] = wanted.get(pid, Decimal(0)) + item.quantity
    if not wanted:
        return
    ids = sorted(wanted)
    infos = await store.products(uow.conn, ids)
    stocks = await store.lock_stock(uow.conn, ids)
    taken = await store.sale_movements(uow.conn, returned.sale_id)
    if not any(m["kind"] == "sale" for m in taken):
        raise NotYet(f"Sale {returned.sale_id} has not left stock yet.")
    if _cancelled(taken):
        return
    sold = _sold(taken)
    cause = Cause(type="sale", id=returned.sale_id)
    for pid in ids:
        one = sold.get(pid)
        if one is None or one.quantity <= 0:
            raise RuleError(f"Product {pid} did not leave stock with sale {returned.sale_id}.")
        if returned.return_id in one.returns:
            continue  # this return of this product is back already
        cost = domain.returned_cost(one.quantity, one.cost_cents, one.back, wanted[pid])
        change = domain.receive(stocks[pid], wanted[pid], cost)
        await _record(
            uow,
            pid,
            "refund",
            change,
            stocks[pid],
            cause=cause,
            info=infos.get(pid),
            reason=returned.reason,
            return_id=returned.return_id,
        )
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


# -- the import of past stock (register-movement, admin) ----------------------------------


async def import_stock(uow: UnitOfWork, body: ImportStockIn) -> dict[str, int]:
    """Past receipts, losses, counts and desossas through the same commands as the live
    ones, in the order they happened, each keeping its time (the movement's created_at and
    its events' CloudEvents time). All in the caller's one transaction: a refused record
    refuses the import, naming its index. Each record's id is derived from its content
    (domain.import_ids): one imported before is skipped, so an import sent twice moves
    stock once. Answers how many of each this import applied."""
    movement_ids = domain.import_ids("movement", [m.model_dump() for m in body.movements])
    breakdown_ids = domain.import_ids("breakdown", [b.model_dump() for b in body.breakdowns])
    await store.lock_imports(uow.conn)  # one import at a time: the second sees the first's
    done = await store.imported_already(uow.conn, movement_ids, breakdown_ids)
    order = domain.import_order(
        [("movement", i, m.occurred_at) for i, m in enumerate(body.movements)]
        + [("breakdown", i, b.occurred_at) for i, b in enumerate(body.breakdowns)]
    )
    applied = {"movements": 0, "breakdowns": 0}
    for kind, index in order:
        try:
            if kind == "movement":
                record = body.movements[index]
                if movement_ids[index] in done:
                    continue
                await register_movement(
                    uow,
                    record,
                    at=record.occurred_at.astimezone(UTC),
                    movement_id=movement_ids[index],
                )
                applied["movements"] += 1
            else:
                desossa = body.breakdowns[index]
                if breakdown_ids[index] in done:
                    continue
                await breakdown(
                    uow,
                    desossa,
                    at=desossa.occurred_at.astimezone(UTC),
                    breakdown_id=breakdown_ids[index],
                )
                applied["breakdowns"] += 1
        except Refused as refusal:
            raise type(refusal)(
                f"{kind}s[{index}]: {refusal.detail}",
                **{**refusal.extra, "record": f"{kind}s", "index": index},
            ) from None
    return applied


# -- suppliers ---------------------------------------------------------------------------

NO_SUCH_SUPPLIER = "Fornecedor não encontrado."


async def _saved(uow: UnitOfWork, supplier: store.SupplierRow) -> None:
    """Finance keeps its copy of suppliers from this, newest version wins."""
    await uow.emit(
        SupplierSaved(
            supplier_id=str(supplier.id),
            name=supplier.name,
            cnpj=supplier.cnpj,
            active=supplier.active,
            version=supplier.version,
        ),
        subject=str(supplier.id),
    )


async def create_supplier(uow: UnitOfWork, body: SupplierIn) -> SupplierOut:
    supplier = store.SupplierRow(
        id=uuid.uuid4(),
        name=body.name,
        cnpj=body.cnpj,
        phone=body.phone,
        active=body.active,
        version=1,
        created_at=datetime.now(UTC),
    )
    await store.insert_supplier(uow.conn, supplier)
    await _saved(uow, supplier)
    return supplier.out()


async def update_supplier(uow: UnitOfWork, supplier_id: UUID, patch: SupplierPatch) -> SupplierOut:
    """Only what the patch names changes; a patch that changes nothing is no new version."""
    current = await store.lock_supplier(uow.conn, supplier_id)
    if current is None:
        raise NotFound(NO_SUCH_SUPPLIER)
    fields = patch.model_fields_set
    if "name" in fields and patch.name is None:
        raise Invalid("Um fornecedor precisa de um nome (name cannot be null).")
    changed = store.SupplierRow(
        id=current.id,
        name=patch.name if patch.name is not None else current.name,
        cnpj=patch.cnpj if "cnpj" in fields else current.cnpj,
        phone=patch.phone if "phone" in fields else current.phone,
        active=patch.active if patch.active is not None else current.active,
        version=current.version,
        created_at=current.created_at,
    )
    if changed == current:
        return current.out()
    updated = store.SupplierRow(**{**changed.__dict__, "version": current.version + 1})
    await store.update_supplier(uow.conn, updated)
    await _saved(uow, updated)
    return updated.out()
