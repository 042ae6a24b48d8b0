"""import-sales (issue 18): past sales from the shop's old program, as JSON or as a CSV.

Each imported sale is written as a live paid sale ends up (status paid, created and paid at
its original time, its items and payment, the importing admin as its seller) and ends with
the events a live one ends with, each dated at its original time: sale.completed (finance
keeps its items), payment.approved (the ledger posts its revenue and card fee that day)
and sale.paid (stock takes its items out). They come from import-sales itself: the old
program decided the payment (shared.events.payments.check_decider counts import-sales'
approvals; process-payment charges nothing for an imported sale, and update-sale-status
finds it paid already). The card fee is the one process-payment would charge today (same
settings, DEBIT_FEE_BPS / CREDIT_FEE_BPS): the old program's is not in its export.

A request is all or nothing: any bad sale is 422 naming it, and nothing is written. A
legacy number imported before is skipped and reported, so a file can be sent again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.sales import domain, import_store, imports, store
from shared.auth.principal import Principal
from shared.contracts import endpoints as api
from shared.contracts.imports import (
    MAX_IMPORT_CSV_BYTES,
    MAX_IMPORT_SALES,
    ImportedSaleIn,
    ImportSalesIn,
)
from shared.contracts.sales import PaymentOut, SaleItemOut, SaleOut
from shared.db.pool import Conn
from shared.db.uow import UnitOfWork
from shared.errors import Problem
from shared.events.payments import PaymentApproved
from shared.events.sales import PaymentChoice, SaleCompleted, SaleItem, SalePaid
from shared.http import RequestContext, Route, read_body
from shared.money import cents

# Where a sale (and optionally its item) of the request is, for an error: JSON names its
# index and legacy_id, the CSV its rows.
Locate = Callable[[int, int | None], dict[str, Any]]
CSV_TYPES = ("text/csv", "application/csv")


class CardFees(BaseSettings):
    """The acquirer's fee per card payment in basis points: process-payment's settings,
    read under the same names, with the same defaults."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    debit_fee_bps: int = Field(default=99, ge=0, le=2000)
    credit_fee_bps: int = Field(default=299, ge=0, le=2000)

    def fee(self, method: str, amount_cents: int) -> int:
        bps = {"debit": self.debit_fee_bps, "credit": self.credit_fee_bps}.get(method, 0)
        return cents(Decimal(amount_cents) * bps / 10_000)


@dataclass(frozen=True)
class Imported:
    imported: int
    skipped: list[str]

    def out(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": self.skipped}


def refused(errors: list[dict[str, Any]]) -> Problem:
    return Problem(422, "Nothing was imported: fix these sales and send them again.", errors=errors)


@dataclass(frozen=True)
class _Planned:
    body: ImportedSaleIn
    sale: SaleOut


def _plan(
    index: int,
    body: ImportedSaleIn,
    products: dict[UUID, store.CounterProduct],
    seller: UUID,
    fees: CardFees,
    locate: Locate,
    errors: list[dict[str, Any]],
) -> _Planned | None:
    """The sale as it will be stored, or None after adding why it cannot be."""
    lines: list[SaleItemOut] = []
    for j, item in enumerate(body.items):
        product = products.get(item.product_id)
        if product is None:
            errors.append({**locate(index, j), "msg": f"unknown product {item.product_id}"})
            continue
        lines.append(
            SaleItemOut(
                product_id=product.product_id,
                name=product.name,
                unit=product.unit,
                quantity=item.quantity,
                unit_price_cents=item.unit_price_cents,
                total_cents=domain.line_total(item.quantity, item.unit_price_cents),
            )
        )
    if len(lines) != len(body.items):
        return None
    try:
        sums = domain.totals([line.total_cents for line in lines], body.discount_cents)
    except domain.SaleError as exc:
        errors.append({**locate(index, None), "msg": exc.detail})
        return None
    method = body.payment.method
    cash = sums.total_cents if method == "cash" else None  # the exact amount: no change known
    sale = SaleOut(
        id=uuid.uuid4(),
        status="paid",
        seller_id=seller,
        attempt=1,
        created_at=body.occurred_at,
        subtotal_cents=sums.subtotal_cents,
        discount_cents=sums.discount_cents,
        total_cents=sums.total_cents,
        items=lines,
        payment=PaymentOut(
            method=method,
            status="approved",
            amount_cents=sums.total_cents,
            installments=body.payment.installments,
            cash_received_cents=cash,
            change_cents=0 if cash is not None else None,
            fee_cents=fees.fee(method, sums.total_cents),
        ),
    )
    return _Planned(body, sale)


async def _products(conn: Conn, ids: set[UUID]) -> dict[UUID, store.CounterProduct]:
    cursor = await conn.execute(
        "SELECT product_id, name, unit, price_cents, plu, barcode, active FROM products"
        " WHERE product_id = ANY(%s)",
        (list(ids),),
    )
    return {row["product_id"]: store.CounterProduct(**row) for row in await cursor.fetchall()}


async def import_sales(
    uow: UnitOfWork, admin: Principal, sales: list[ImportedSaleIn], fees: CardFees, locate: Locate
) -> Imported:
    """Every sale of the request, or none (422 naming each bad one); a legacy number
    imported before is skipped."""
    errors: list[dict[str, Any]] = []
    first_at: dict[str, int] = {}
    for i, body in enumerate(sales):
        if body.legacy_id in first_at:
            errors.append(
                {**locate(i, None), "msg": f"sale {body.legacy_id} is in the request twice"}
            )
        first_at.setdefault(body.legacy_id, i)
    products = await _products(uow.conn, {item.product_id for s in sales for item in s.items})
    seller = UUID(admin.user_id)
    planned = [_plan(i, s, products, seller, fees, locate, errors) for i, s in enumerate(sales)]
    if errors:
        raise refused(errors[: imports.MAX_ERRORS])
    done = await import_store.already_imported(uow.conn, list(first_at))
    skipped: list[str] = []
    for plan in planned:
        assert plan is not None
        legacy_id = plan.body.legacy_id
        if legacy_id in done or not await import_store.claim(
            uow.conn, legacy_id, plan.sale.id, seller
        ):
            skipped.append(legacy_id)
            continue
        await _write(uow, plan)
    return Imported(imported=len(sales) - len(skipped), skipped=skipped)


async def _write(uow: UnitOfWork, plan: _Planned) -> None:
    """The paid sale and its three events, all dated when it happened."""
    sale, body = plan.sale, plan.body
    asked = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    await store.insert_sale(
        uow.conn,
        sale,
        key=f"import:{body.legacy_id}",
        request_hash=hashlib.sha256(asked.encode()).hexdigest(),
    )
    payment = sale.payment
    fee = payment.fee_cents or 0
    await import_store.mark_paid(uow.conn, sale.id, fee, body.occurred_at)
    sale_id, seller_id, when = str(sale.id), str(sale.seller_id), body.occurred_at
    items = [
        SaleItem(
            product_id=str(i.product_id),
            name=i.name,
            quantity=i.quantity,
            unit_price_cents=i.unit_price_cents,
            total_cents=i.total_cents,
        )
        for i in sale.items
    ]
    await uow.emit(
        SaleCompleted(
            sale_id=sale_id,
            seller_id=seller_id,
            attempt=1,
            total_cents=sale.total_cents,
            payment=PaymentChoice(
                method=payment.method,
                installments=payment.installments,
                cash_received_cents=payment.cash_received_cents,
            ),
            items=items,
            subtotal_cents=sale.subtotal_cents,
            discount_cents=sale.discount_cents,
        ),
        subject=sale_id,
        time=when,
    )
    await uow.emit(
        PaymentApproved(
            payment_id=str(uuid.uuid4()),
            sale_id=sale_id,
            attempt=1,
            method=payment.method,
            amount_cents=sale.total_cents,
            fee_cents=fee,
            installments=payment.installments,
            cash_received_cents=payment.cash_received_cents,
            change_cents=payment.change_cents,
        ),
        subject=sale_id,
        time=when,
    )
    await uow.emit(
        SalePaid(
            sale_id=sale_id,
            seller_id=seller_id,
            items=items,
            total_cents=sale.total_cents,
            payment_method=payment.method,
        ),
        subject=sale_id,
        time=when,
    )


# -- the CSV ----------------------------------------------------------------------------


async def _product_of(conn: Conn, ref: str) -> store.CounterProduct | None:
    """A CSV's product: its id, its PLU (1 to 4 digits) or its barcode (more digits)."""
    try:
        return await store.product_by(conn, "product_id", UUID(ref))
    except ValueError:
        pass
    if not (ref.isascii() and ref.isdigit()):
        return None
    if len(ref) <= 4:
        return await store.product_by(conn, "plu", int(ref))
    return await store.product_by(conn, "barcode", ref)


def _column(loc: tuple[int | str, ...]) -> str:
    """The CSV column a model error is about (the model's field names are the columns')."""
    if loc and loc[0] == "payment":
        return "installments" if "installments" in loc else "method"
    if len(loc) >= 3 and loc[0] == "items":
        return {"product_id": "product"}.get(str(loc[2]), str(loc[2]))
    return str(loc[0]) if loc else "legacy_id"


async def csv_sales(
    conn: Conn, parsed: list[imports.CsvSale]
) -> tuple[list[ImportedSaleIn], Locate]:
    """The CSV's sales as the JSON's model (products found by id, PLU or barcode); raises
    422 naming each bad row."""
    if len(parsed) > MAX_IMPORT_SALES:
        raise refused([{"row": None, "msg": f"more than {MAX_IMPORT_SALES} sales: split the file"}])
    errors: list[dict[str, Any]] = []
    found: dict[str, UUID | None] = {}
    sales: list[ImportedSaleIn] = []
    for sale in parsed:
        items = []
        for item in sale.items:
            if item.product not in found:
                product = await _product_of(conn, item.product)
                found[item.product] = product.product_id if product else None
            product_id = found[item.product]
            if product_id is None:
                errors.append(
                    {"row": item.row, "column": "product", "msg": f"unknown product {item.product}"}
                )
            items.append(
                {
                    "product_id": str(product_id),
                    "quantity": str(item.quantity),
                    "unit_price_cents": item.unit_price_cents,
                }
            )
        payment: dict[str, Any] = {"method": sale.values.get("method")}
        if "installments" in sale.values:
            payment["installments"] = sale.values["installments"]
        try:
            sales.append(
                ImportedSaleIn.model_validate(
                    {
                        "legacy_id": sale.legacy_id,
                        "occurred_at": sale.values.get("occurred_at"),
                        "items": items,
                        "discount_cents": sale.values.get("discount_cents", 0),
                        "payment": payment,
                    }
                )
            )
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                loc = err["loc"]
                at = loc[1] if len(loc) >= 2 and loc[0] == "items" else None
                if isinstance(at, int) and at < len(sale.items):
                    unknown = found.get(sale.items[at].product) is None
                    if unknown and _column(loc) == "product":
                        continue  # said above: unknown product
                    row = sale.items[at].row
                else:
                    row = sale.row
                errors.append({"row": row, "column": _column(loc), "msg": err["msg"]})
        if len(errors) >= imports.MAX_ERRORS:
            break
    if errors:
        raise refused(errors[: imports.MAX_ERRORS])
    rows = {i: sale for i, sale in enumerate(parsed)}

    def locate(index: int, item: int | None) -> dict[str, Any]:
        sale = rows[index]
        row = sale.items[item].row if item is not None else sale.row
        return {"row": row, "legacy_id": sale.legacy_id}

    return sales, locate


def json_locate(sales: list[ImportedSaleIn]) -> Locate:
    def locate(index: int, item: int | None) -> dict[str, Any]:
        loc: list[str | int] = ["sales", index]
        if item is not None:
            loc += ["items", item, "product_id"]
        return {"index": index, "legacy_id": sales[index].legacy_id, "loc": loc}

    return locate


# -- HTTP -------------------------------------------------------------------------------


def routes(fees: CardFees) -> list[Route]:
    """import-sales' endpoints: api.IMPORT_SALES (JSON) and api.IMPORT_SALES_CSV."""

    async def from_json(ctx: RequestContext) -> dict[str, Any]:
        body = await ctx.body(ImportSalesIn)
        locate = json_locate(body.sales)
        done = await ctx.command(lambda uow: import_sales(uow, ctx.user, body.sales, fees, locate))
        return done.out()

    async def from_csv(ctx: RequestContext) -> dict[str, Any]:
        kind = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in CSV_TYPES:
            raise Problem(415, "Send the sales as text/csv (UTF-8).")
        raw = await read_body(ctx.request, min(MAX_IMPORT_CSV_BYTES, ctx.max_body_bytes))
        try:
            parsed = imports.parse_sales_csv(raw)
        except imports.CsvRefused as exc:
            raise refused(exc.errors) from None

        async def run(uow: UnitOfWork) -> Imported:
            sales, locate = await csv_sales(uow.conn, parsed)
            return await import_sales(uow, ctx.user, sales, fees, locate)

        return (await ctx.command(run)).out()

    return [Route(api.IMPORT_SALES, from_json), Route(api.IMPORT_SALES_CSV, from_csv)]
