"""A line of a sale as the counter asks for it (a product and quantity, a scale label or a
barcode), priced from the counter's own copy of the catalogue."""

from __future__ import annotations

from decimal import Decimal

from functions.sales import domain, scale_labels, store
from functions.sales.domain import SaleError
from shared.contracts.catalog import valid_ean13
from shared.contracts.sales import SaleItemIn, SaleItemOut
from shared.db.uow import UnitOfWork


def unprocessable(message: str, barcode: str | None = None) -> SaleError:
    """A line the counter must fix, naming the scanned barcode when it came from one (the
    POS shows it)."""
    return SaleError(message, barcode=barcode) if barcode else SaleError(message)


async def priced(uow: UnitOfWork, item: SaleItemIn, mask: scale_labels.ScaleMask) -> SaleItemOut:
    """Price and quantity of one line, from the counter's own catalogue."""
    if item.product_id is not None:
        product = await store.product_by(uow.conn, "product_id", item.product_id)
        if product is None or not product.active:
            raise unprocessable(f"Unknown or inactive product {item.product_id}.")
        assert item.quantity is not None
        quantity, total = item.quantity, domain.line_total(item.quantity, product.price_cents)
        barcode = None
    else:
        barcode = (item.barcode or "").strip()
        if scale_labels.is_scale_label(barcode):
            try:
                label = scale_labels.decode(barcode, mask)
            except scale_labels.LabelError as exc:
                raise unprocessable(str(exc), barcode=barcode) from None
            product = await store.product_by(uow.conn, "plu", label.plu)
            if product is None or not product.active:
                raise unprocessable(
                    f"Etiqueta {barcode}: nenhum produto com o PLU {label.plu}.", barcode=barcode
                )
            if label.total_cents is not None:
                total = label.total_cents  # the printed price is what the customer pays
                quantity = domain.quantity_for_price(total, product.price_cents)
            else:
                assert label.weight_grams is not None
                quantity = domain.quantity_from_grams(label.weight_grams)
                total = domain.line_total(quantity, product.price_cents)
        else:
            if not valid_ean13(barcode):
                raise unprocessable(f"Código {barcode}: não é um EAN-13 válido.", barcode=barcode)
            product = await store.product_by(uow.conn, "barcode", barcode)
            if product is None or not product.active:
                raise unprocessable(f"Código {barcode}: produto não cadastrado.", barcode=barcode)
            if item.quantity is None and product.unit == "kg":
                raise unprocessable(f"Código {barcode}: informe o peso.", barcode=barcode)
            quantity = item.quantity if item.quantity is not None else Decimal(1)
            total = domain.line_total(quantity, product.price_cents)
    if quantity <= 0:
        raise unprocessable(f"The line for {product.name} has no quantity.")
    try:
        domain.check_line_quantity(quantity)
    except SaleError as exc:
        raise unprocessable(f"{product.name}: {exc}.", barcode=barcode) from None
    if product.unit == "un" and quantity != quantity.to_integral_value():
        raise unprocessable(f"{product.name} is sold by unit: whole quantities only.")
    return SaleItemOut(
        product_id=product.product_id,
        name=product.name,
        unit=product.unit,
        quantity=quantity,
        unit_price_cents=product.price_cents,
        total_cents=total,
        barcode=barcode,
    )
