"""Stock by weight, free of I/O: what each movement does to quantity and average cost.

Money is integer centavos; the average cost is a rate (centavos per kg or per unit) kept
to six places so that it does not drift, and every movement's value is that rate times
the quantity rounded half-up to the centavo. Stock may go negative (a butcher's count is
often wrong and selling is never blocked); a receipt into negative stock takes its own
cost as the new average, since there is no value on hand to average with.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from shared import money
from shared.domain_errors import Invalid
from shared.money import cents
from shared.text_search import fold as fold

ZERO = Decimal("0.000")
# The most of one product the shop can hold: 1,000 t. Receipts, counts and desossa
# outputs stop there, so stock (numeric(12, 3), up to 999,999,999.999) never overflows
# from them; only sales and refunds, bounded per line, move past it.
MAX_STOCK = Decimal("999999.999")
AVERAGE_PLACES = Decimal("0.000001")
PERCENT_PLACES = Decimal("0.01")
Allocation = Literal["weight", "value"]


class RuleError(Invalid):
    """A movement the shop's rules refuse; the message is for the user."""


@dataclass(frozen=True)
class Stock:
    quantity: Decimal
    average_cost: Decimal  # centavos per unit of the product

    @property
    def unit_cost_cents(self) -> int:
        return cents(self.average_cost)


EMPTY = Stock(ZERO, Decimal("0.000000"))


@dataclass(frozen=True)
class Change:
    quantity: Decimal  # signed
    total_cost_cents: int  # signed, the value that moved
    after: Stock


def receipt_value(quantity: Decimal, unit_cost_cents: int) -> int:
    return cents(quantity * unit_cost_cents)


def receive(stock: Stock, quantity: Decimal, value_cents: int) -> Change:
    """Goods in with their value: the weighted average of what is on hand and what came."""
    if quantity <= 0:
        raise RuleError("quantity must be positive")
    if value_cents < 0:
        raise RuleError("cost cannot be negative")
    on_hand = max(stock.quantity, ZERO)
    average = (on_hand * stock.average_cost + value_cents) / (on_hand + quantity)
    after = Stock(stock.quantity + quantity, average.quantize(AVERAGE_PLACES, ROUND_HALF_UP))
    return Change(quantity, value_cents, after)


def issue(stock: Stock, quantity: Decimal) -> Change:
    """Goods out (sale, loss) at the current average cost; the average does not change."""
    if quantity <= 0:
        raise RuleError("quantity must be positive")
    value = cents(quantity * stock.average_cost)
    return Change(-quantity, -value, Stock(stock.quantity - quantity, stock.average_cost))


def count(stock: Stock, counted: Decimal) -> Change:
    """A physical count: one movement of the difference, valued at the average."""
    if counted < 0:
        raise RuleError("a counted quantity cannot be negative")
    difference = counted - stock.quantity
    if difference < 0:
        return issue(stock, -difference)
    value = cents(difference * stock.average_cost)
    return Change(difference, value, Stock(counted, stock.average_cost))


def allocate(total_cents: int, weights: list[Decimal]) -> list[int]:
    """The shared exact split, refusing with the shop's words."""
    try:
        return money.allocate(total_cents, weights)
    except ValueError as exc:
        raise RuleError(str(exc)) from None


@dataclass(frozen=True)
class Output:
    product_id: str
    quantity: Decimal
    price_cents: int


@dataclass(frozen=True)
class BreakdownPlan:
    source_out: Change  # the outputs' weight leaves the source with all its cost
    loss: Change  # the rest of the source's weight (trimmings), with no cost left
    yield_percent: Decimal
    output_costs: list[int]


def plan_breakdown(
    source: Stock, source_quantity: Decimal, outputs: list[Output], allocation: Allocation
) -> BreakdownPlan:
    """Desossa: one primal in, several cuts out. The source's cost (its quantity at the
    average) is spread over the cuts by weight or by sales value; the weight that no cut
    accounts for is a loss that carries no cost of its own (the cuts absorb it)."""
    if source_quantity <= 0:
        raise RuleError("the source quantity must be positive")
    if not outputs:
        raise RuleError("a breakdown needs at least one output")
    if any(o.quantity <= 0 for o in outputs):
        raise RuleError("every output quantity must be positive")
    produced = sum((o.quantity for o in outputs), ZERO)
    if produced > source_quantity:
        raise RuleError("the outputs weigh more than the source")
    cost = cents(source_quantity * source.average_cost)
    if allocation == "weight":
        weights = [o.quantity for o in outputs]
    else:
        weights = [o.quantity * o.price_cents for o in outputs]
        if not any(weights):
            raise RuleError("value allocation needs at least one output with a price")
    costs = allocate(cost, weights) if cost else [0] * len(outputs)
    after_out = Stock(source.quantity - produced, source.average_cost)
    loss_quantity = source_quantity - produced
    after_loss = Stock(after_out.quantity - loss_quantity, source.average_cost)
    return BreakdownPlan(
        source_out=Change(-produced, -cost, after_out),
        loss=Change(-loss_quantity, 0, after_loss),
        yield_percent=(produced * 100 / source_quantity).quantize(PERCENT_PLACES, ROUND_HALF_UP),
        output_costs=costs,
    )


def check_stock_limit(after: Stock) -> None:
    """Refuse what would put more of a product in stock than the shop can hold."""
    if after.quantity > MAX_STOCK:
        raise RuleError(f"the stock of a product is at most {MAX_STOCK}")


def crossed_below_minimum(min_stock: Decimal, before: Decimal, after: Decimal) -> bool:
    return min_stock > 0 and before >= min_stock > after


def whole_units_only(unit: str, quantity: Decimal) -> None:
    if unit == "un" and quantity != quantity.to_integral_value():
        raise RuleError("products sold by unit move in whole units")


def returned_cost(
    sold_quantity: Decimal, sold_cost_cents: int, back_before: Decimal, quantity: Decimal
) -> int:
    """What a returned quantity of a sold product is worth: its share of what the sale took
    out of stock (`sold_cost_cents` for `sold_quantity`), the cost it left with. Shares are
    cumulative, as a sale's returns come one after another: this return's cost is
    share(returned before + this) − share(returned before), each share rounded half-up to
    the centavo. So every return costs its proportion to within a centavo, never less than
    nothing, and the returns of everything sold add up to the sale's cost exactly."""
    if quantity <= 0:
        raise RuleError("a returned quantity is positive")
    if back_before < 0 or back_before + quantity > sold_quantity:
        raise RuleError("more of a product came back than the sale took out of stock")

    def share(returned: Decimal) -> int:
        return cents(sold_cost_cents * returned / sold_quantity)

    return share(back_before + quantity) - share(back_before)


# -- suppliers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierSearch:
    """A search box's text: a folded name fragment, and the CNPJ's digits when the text
    holds no letters (so "Boi 2" never matches every CNPJ with a 2)."""

    name: str
    digits: str | None


def supplier_search(query: str) -> SupplierSearch | None:
    folded = fold(query)
    if not folded:
        return None
    digits = "".join(c for c in folded if c.isascii() and c.isdigit())
    has_letters = any(c.isalpha() for c in folded)
    return SupplierSearch(name=folded, digits=digits if digits and not has_letters else None)


def check_supplier_for_receipt(found: bool, active: bool) -> None:
    """A receipt names a supplier the shop knows and still buys from."""
    if not found:
        raise RuleError("Fornecedor não encontrado (unknown supplier).")
    if not active:
        raise RuleError("Fornecedor inativo: reative-o antes de registrar a entrada (inactive).")


# -- the import of past records ----------------------------------------------------------

# Deterministic ids of imported records (uuid5 in this namespace): the same record imported
# again has the id it got the first time, and is skipped.
IMPORT_NAMESPACE = uuid.UUID("6f1d4c2e-9a7b-5e3f-8c1d-2b4a6e8f0a13")


def import_ids(kind: str, records: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """One id per imported record, derived from what the record says (its JSON, the time in
    UTC) and how many identical records came before it in the same import: a file sent
    twice gets the same ids (nothing applies twice), and two identical lines of one file
    are two records."""
    seen: dict[str, int] = {}
    ids: list[uuid.UUID] = []
    for record in records:
        canonical = dict(record)
        at = canonical.pop("occurred_at")
        assert isinstance(at, datetime)
        canonical["occurred_at"] = at.astimezone(UTC).isoformat()
        digest = hashlib.sha256(
            json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str).encode()
        ).hexdigest()
        nth = seen.get(digest, 0)
        seen[digest] = nth + 1
        ids.append(uuid.uuid5(IMPORT_NAMESPACE, f"{kind}:{digest}:{nth}"))
    return ids


def import_order(times: Sequence[tuple[str, int, datetime]]) -> list[tuple[str, int]]:
    """(kind, index) of each record in the order they happened; on the same instant,
    movements before breakdowns, then the order they were sent in."""
    kinds = {"movement": 0, "breakdown": 1}
    ordered = sorted(times, key=lambda t: (t[2], kinds[t[0]], t[1]))
    return [(kind, index) for kind, index, _ in ordered]
