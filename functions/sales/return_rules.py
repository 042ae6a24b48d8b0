"""Returns, free of I/O: what part of a paid sale may come back, and what it refunds.

A returned part refunds its share of what the customer actually paid: the sale's total
(line totals less the discount) is split over the lines exactly (`shared.money.allocate`,
the same split finance credits revenue with), a product's share is the sum of its lines',
and a quantity of it refunds that share in proportion, rounded half-up to the centavo.

Refunds are cumulative: a return refunds share(returned so far, this one included) −
share(returned before). The shares are monotone and share(everything sold) is the whole
paid share, so any sequence of partial returns refunds at most the sale's total, never a
negative amount, and exactly the total once everything came back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from shared.domain_errors import Conflict, Invalid
from shared.money import allocate
from shared.units import MAX_LINE_QUANTITY, THOUSANDTH, format_quantity

# The sale's states as the counter names them, for the 409's message.
_STATUS_PT = {
    "pending_payment": "aguardando pagamento",
    "payment_failed": "com o pagamento recusado",
    "cancelled": "cancelada",
    "refunded": "estornada",
}


class ReturnRefused(Invalid):
    """A return the admin must change (a product not sold, more than is left): 422."""


class ReturnConflict(Conflict):
    """The sale's state does not allow a return now (not paid, being cancelled): 409."""


@dataclass(frozen=True)
class SoldLine:
    """One line of the sale, as it was sold."""

    product_id: UUID
    name: str
    unit: str
    quantity: Decimal
    total_cents: int


@dataclass(frozen=True)
class SoldProduct:
    """A product's lines of one sale together: how much was sold and what it was paid."""

    product_id: UUID
    name: str
    unit: str
    quantity: Decimal
    paid_cents: int


@dataclass(frozen=True)
class ReturnedPart:
    product_id: UUID
    name: str
    unit: str
    quantity: Decimal
    refund_cents: int


@dataclass(frozen=True)
class ReturnPlan:
    items: tuple[ReturnedPart, ...]

    @property
    def refund_cents(self) -> int:
        return sum(item.refund_cents for item in self.items)


def check_returnable(status: str, cancel_requested: bool) -> None:
    """Only a paid sale takes a return; not one whose cancellation (a full refund) is
    already under way, which would give the same money back twice."""
    if status != "paid":
        state = _STATUS_PT.get(status, status)
        raise ReturnConflict(f"Só uma venda paga aceita devolução; esta venda está {state}.")
    if cancel_requested:
        raise ReturnConflict(
            "Esta venda está sendo cancelada (estorno total em andamento): não aceita devolução."
        )


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise ReturnRefused("Informe o motivo da devolução.")
    return text


def _thousandths(quantity: Decimal) -> int:
    return int(quantity.quantize(THOUSANDTH) * 1000)


def sold_products(lines: Sequence[SoldLine], total_cents: int) -> dict[UUID, SoldProduct]:
    """Each product's quantity and paid share, in the order the sale first names them.
    The shares add up to `total_cents` exactly."""
    if total_cents < 0 or any(line.total_cents < 0 for line in lines):
        raise ValueError("a sale's amounts are never negative")
    weights = [Decimal(line.total_cents) for line in lines]
    if sum(weights) > 0:
        paid = allocate(total_cents, weights)
    elif total_cents == 0:
        paid = [0] * len(lines)
    else:
        raise ValueError("a sale with a total has lines that add up to it")
    products: dict[UUID, SoldProduct] = {}
    for line, share in zip(lines, paid, strict=True):
        seen = products.get(line.product_id)
        products[line.product_id] = SoldProduct(
            product_id=line.product_id,
            name=seen.name if seen else line.name,
            unit=seen.unit if seen else line.unit,
            quantity=(seen.quantity if seen else Decimal(0)) + line.quantity,
            paid_cents=(seen.paid_cents if seen else 0) + share,
        )
    return products


def paid_share(product: SoldProduct, quantity: Decimal) -> int:
    """What `quantity` of the product was paid: its share, rounded half-up, in whole
    integers (thousandths of a unit) so nothing is lost to a decimal context.
    paid_share(0) = 0, paid_share(everything sold) = the product's paid share, and more
    never pays less."""
    sold = _thousandths(product.quantity)
    part = _thousandths(quantity)
    if not 0 <= part <= sold:
        raise ValueError("a share of at most what was sold")
    if sold == 0:
        return 0
    return (2 * product.paid_cents * part + sold) // (2 * sold)


def _asked(items: Iterable[tuple[UUID, Decimal]]) -> dict[UUID, Decimal]:
    """The request's quantities per product (a product named twice counts once, summed),
    in the order first named."""
    asked: dict[UUID, Decimal] = {}
    for product_id, quantity in items:
        if quantity <= 0:
            raise ReturnRefused("A quantidade devolvida deve ser positiva.")
        asked[product_id] = asked.get(product_id, Decimal(0)) + quantity.quantize(THOUSANDTH)
    return asked


def plan_return(
    lines: Sequence[SoldLine],
    total_cents: int,
    returned_before: Mapping[UUID, Decimal],
    items: Iterable[tuple[UUID, Decimal]],
) -> ReturnPlan:
    """What this return takes back and refunds, given what earlier returns took back.
    Refuses (422) a product the sale does not hold and more than is left of one."""
    products = sold_products(lines, total_cents)
    asked = _asked(items)
    if not asked:
        raise ReturnRefused("Uma devolução leva pelo menos um item.")
    parts: list[ReturnedPart] = []
    for product_id, quantity in asked.items():
        product = products.get(product_id)
        if product is None:
            raise ReturnRefused(
                f"O produto {product_id} não está nesta venda.", product_id=str(product_id)
            )
        before = returned_before.get(product_id, Decimal(0))
        left = product.quantity - before
        if quantity > left:
            raise ReturnRefused(
                f"{product.name}: devolução de {format_quantity(quantity)} {product.unit},"
                f" mas só resta {format_quantity(max(left, Decimal(0)))} {product.unit}"
                " desta venda para devolver.",
                product_id=str(product_id),
                available=format_quantity(max(left, Decimal(0))),
            )
        if quantity > MAX_LINE_QUANTITY:
            raise ReturnRefused(
                f"{product.name}: uma devolução leva no máximo {MAX_LINE_QUANTITY}"
                f" {product.unit} de um produto; divida-a em duas.",
                product_id=str(product_id),
            )
        refund = paid_share(product, before + quantity) - paid_share(product, before)
        parts.append(
            ReturnedPart(
                product_id, product.name, product.unit, quantity.quantize(THOUSANDTH), refund
            )
        )
    return ReturnPlan(tuple(parts))
