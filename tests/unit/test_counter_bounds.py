"""Absurd quantities and totals (issue 14): refused where the shop's reality ends.

Up to 999,999,999.999 was accepted per line; two such sales overflowed the stock column
and every later event of that product dead-lettered. A line or movement now holds at most
9,999.999 kg (or units), a sale at most R$ 1.000.000,00, one product's stock at most
1,000 t from receipts, counts and desossa.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from functions.inventory import domain as stock_rules
from functions.sales import domain as sale_rules
from shared.contracts.inventory import BreakdownIn, MovementIn
from shared.contracts.sales import SaleIn
from shared.events.sales import SaleCompleted, SalePaid

PRODUCT = str(uuid.uuid4())


def _sale(quantity: str) -> dict[str, Any]:
    return {"items": [{"product_id": PRODUCT, "quantity": quantity}], "payment": {"method": "pix"}}


@pytest.mark.parametrize("quantity", ["10000", "10000.000", "999999999.999", "9999.9991"])
def test_a_sale_line_beyond_9999_999_is_refused(quantity: str) -> None:
    with pytest.raises(ValidationError):
        SaleIn.model_validate(_sale(quantity))


def test_a_sale_line_up_to_9999_999_is_accepted() -> None:
    body = SaleIn.model_validate(_sale("9999.999"))
    assert body.items[0].quantity == Decimal("9999.999")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "receipt", "quantity": "999999999.999", "unit_cost_cents": 100},
        {"kind": "loss", "quantity": "10000", "reason": "avaria"},
        {"kind": "count", "quantity": "10000.000"},
    ],
)
def test_a_stock_movement_beyond_9999_999_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MovementIn.model_validate({"product_id": PRODUCT, **body})


def test_a_breakdown_beyond_9999_999_is_refused() -> None:
    with pytest.raises(ValidationError):
        BreakdownIn.model_validate(
            {
                "source_product_id": PRODUCT,
                "source_quantity": "10000",
                "outputs": [{"product_id": str(uuid.uuid4()), "quantity": "1"}],
            }
        )


def _item(quantity: str, total: int) -> dict[str, Any]:
    return {
        "product_id": PRODUCT,
        "quantity": quantity,
        "unit_price_cents": 100,
        "total_cents": total,
    }


def test_sale_events_refuse_what_would_overflow_a_subscriber() -> None:
    """A forged or buggy sale.paid cannot carry an absurd line to apply-sale-to-stock."""
    settled = {"sale_id": "s", "seller_id": None, "total_cents": 100, "payment_method": "pix"}
    with pytest.raises(ValidationError):
        SalePaid.model_validate({**settled, "items": [_item("999999999.999", 100)]})
    with pytest.raises(ValidationError):
        SalePaid.model_validate({**settled, "items": [_item("1.000", 100_000_001)]})
    SalePaid.model_validate({**settled, "items": [_item("9999.999", 100_000_000)]})
    with pytest.raises(ValidationError):
        SaleCompleted.model_validate(
            {
                "sale_id": "s",
                "seller_id": None,
                "attempt": 1,
                "total_cents": 100_000_001,
                "payment": {"method": "pix"},
                "items": [_item("1.000", 100)],
                "subtotal_cents": 100_000_001,
                "discount_cents": 0,
            }
        )


def test_a_sale_totals_at_most_a_million_reais() -> None:
    assert sale_rules.totals([100_000_000], 0).total_cents == 100_000_000
    with pytest.raises(sale_rules.SaleError):
        sale_rules.totals([60_000_000, 40_000_001], 0)


def test_a_price_label_cannot_derive_an_absurd_weight() -> None:
    quantity = sale_rules.quantity_for_price(99_999_999, 1)  # a label at 1 centavo per kg
    with pytest.raises(sale_rules.SaleError):
        sale_rules.check_line_quantity(quantity)


def test_stock_stops_at_what_the_shop_can_hold() -> None:
    near = stock_rules.Stock(Decimal("995000.000"), Decimal("100"))
    ok = stock_rules.receive(near, Decimal("4999.999"), 100)
    stock_rules.check_stock_limit(ok.after)
    over = stock_rules.receive(near, Decimal("5000.000"), 100)
    with pytest.raises(stock_rules.RuleError):
        stock_rules.check_stock_limit(over.after)
    # The largest stock and the largest sale line still fit numeric(12, 3) many times over.
    assert stock_rules.MAX_STOCK + 200 * Decimal("9999.999") < Decimal("999999999.999")
