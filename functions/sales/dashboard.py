"""The owner's day at a glance (GET /api/dashboard), free of I/O: the answer's shape, and
the figures shaped from the rows `dashboard_store` reads and the lists inventory-query and
payables answer.

What counts (one rule everywhere, so the cards, the chart and the comparison agree):
- A day is one of the shop's days (midnight to midnight in São Paulo, `shared.shop_time`).
- A sale counts on the day and at the hour it was made at the counter (`sales.created_at`,
  the time the counter's list and the receipt show; an imported sale keeps its original
  time there), not when its payment was confirmed: a PIX paid a minute after midnight is
  still the evening's sale.
- Only paid sales count (`status = 'paid'`): a pending, declined, cancelled or refunded
  (cancelled after payment) sale is not revenue.
- Revenue is net of returns: a sale counts `total_cents - returned_cents` (its returns'
  refunds, whenever they were made), on the sale's own day and under the sale's method, so
  a day's figure is what the shop kept of that day's sales. A sale returned in full still
  counts as a sale, with no revenue.
- Top products: each product's share of what was paid (the sale's total split over its
  lines exactly as returns and finance split it, `shared.money.allocate`), less what its
  returns refunded; the quantity less what came back. Five, by that revenue.
- Pending PIX, low stock, expiring lots and open bills are figures of now, whatever the day
  asked for: they are what the owner acts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.domain_errors import Invalid
from shared.units import Quantity
from shared.vocabulary import PAYMENT_METHODS

TOP_PRODUCTS = 5
HOURS = 24
# The figures that come from another function, by the name `unavailable` lists them under.
Upstream = Literal["inventory", "payables"]
UPSTREAMS: tuple[Upstream, ...] = get_args(Upstream)
# The days a dashboard can be asked for: its day and the one a week before must be days
# the clock (and PostgreSQL) can hold; older than a shop's history is a typo.
FIRST_DAY = date(1970, 1, 8)
LAST_DAY = date(9998, 12, 31)


# -- the answer ------------------------------------------------------------------------


class MethodTotals(BaseModel):
    """Revenue (net of returns) per payment method, in centavos; each method always shown."""

    pix: int = 0
    debit: int = 0
    credit: int = 0
    cash: int = 0
    fiado: int = 0


class HourFigures(BaseModel):
    hour: int = Field(ge=0, le=23, description="the shop's local hour (São Paulo)")
    sales_count: int
    revenue_cents: int


class TopProduct(BaseModel):
    product_id: UUID
    name: str
    quantity: Quantity = Field(description="sold less returned, in the product's unit")
    revenue_cents: int


class DayTotals(BaseModel):
    sales_count: int
    revenue_cents: int


class DashboardOut(BaseModel):
    date: date
    sales_count: int
    revenue_cents: int
    average_ticket_cents: int
    by_method: MethodTotals
    by_hour: list[HourFigures] = Field(description="24 entries, hour 0 to 23")
    top_products: list[TopProduct] = Field(description="at most 5, by revenue")
    low_stock_count: int | None = Field(description="null when inventory did not answer")
    expiring_count: int | None = Field(
        description="lots expiring within 3 days (or expired, with stock left); null when"
        " inventory did not answer"
    )
    pending_pix_count: int = Field(description="sales waiting for a PIX payment, now")
    open_payables_cents: int | None = Field(description="null when payables did not answer")
    same_weekday_last_week: DayTotals
    unavailable: list[Upstream] = Field(
        default_factory=list, description="the sources that did not answer (figures null)"
    )


# -- what the store reads --------------------------------------------------------------


@dataclass(frozen=True)
class SalesGroup:
    """A day's paid sales of one local hour and one method: how many, and their revenue
    net of returns."""

    hour: int
    method: str
    sales_count: int
    revenue_cents: int


@dataclass(frozen=True)
class SalesFigures:
    """Everything the dashboard reads from the sales domain's own tables."""

    day: Sequence[SalesGroup]
    last_week: Sequence[SalesGroup]
    top_products: Sequence[TopProduct]
    pending_pix_count: int


def check_day(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(
            f"date must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.",
            date=day.isoformat(),
        )
    return day


# -- shaping ---------------------------------------------------------------------------


def totals(groups: Iterable[SalesGroup]) -> DayTotals:
    count = revenue = 0
    for group in groups:
        count += group.sales_count
        revenue += group.revenue_cents
    return DayTotals(sales_count=count, revenue_cents=revenue)


def average_ticket(revenue_cents: int, sales_count: int) -> int:
    """Revenue per sale, rounded half-up to the centavo (0 on a day without sales)."""
    if sales_count <= 0:
        return 0
    return (2 * revenue_cents + sales_count) // (2 * sales_count)


def by_method(groups: Iterable[SalesGroup]) -> MethodTotals:
    cents = dict.fromkeys(PAYMENT_METHODS, 0)
    for group in groups:
        if group.method not in cents:  # the table's CHECK allows no other
            raise ValueError(f"unknown payment method {group.method!r}")
        cents[group.method] += group.revenue_cents
    return MethodTotals(**cents)


def by_hour(groups: Iterable[SalesGroup]) -> list[HourFigures]:
    """Every hour of the day, 0 to 23, an hour without sales with zeros (a chart's bars)."""
    counts = [0] * HOURS
    revenue = [0] * HOURS
    for group in groups:
        counts[group.hour] += group.sales_count
        revenue[group.hour] += group.revenue_cents
    return [
        HourFigures(hour=h, sales_count=counts[h], revenue_cents=revenue[h]) for h in range(HOURS)
    ]


# -- what the other functions answer ---------------------------------------------------


class _Lenient(BaseModel):
    """Only the fields read here; the rest of an item is none of the dashboard's business."""

    model_config = ConfigDict(extra="ignore")


class StockItem(_Lenient):
    low: bool
    expiring: list[dict[str, object]]


class StockList(_Lenient):
    items: list[StockItem]


class OpenPayable(_Lenient):
    open_cents: int = Field(ge=0, strict=True)


class PayablesList(_Lenient):
    items: list[OpenPayable]


@dataclass(frozen=True)
class StockFigures:
    low_stock_count: int
    expiring_count: int


def stock_figures(stock: StockList) -> StockFigures:
    """Products below their minimum, and lots expiring soon (each lot counts: two lots of
    one product are two things to sell first)."""
    return StockFigures(
        low_stock_count=sum(1 for item in stock.items if item.low),
        expiring_count=sum(len(item.expiring) for item in stock.items),
    )


def open_payables_cents(payables: PayablesList) -> int:
    return sum(item.open_cents for item in payables.items)


def compose(
    day: date,
    sales: SalesFigures,
    stock: StockFigures | None,
    payables_cents: int | None,
) -> DashboardOut:
    """The answer; a figure from a function that did not answer is null and named in
    `unavailable`, the rest stands."""
    today = totals(sales.day)
    unavailable: list[Upstream] = []
    if stock is None:
        unavailable.append("inventory")
    if payables_cents is None:
        unavailable.append("payables")
    return DashboardOut(
        date=day,
        sales_count=today.sales_count,
        revenue_cents=today.revenue_cents,
        average_ticket_cents=average_ticket(today.revenue_cents, today.sales_count),
        by_method=by_method(sales.day),
        by_hour=by_hour(sales.day),
        top_products=list(sales.top_products)[:TOP_PRODUCTS],
        low_stock_count=stock.low_stock_count if stock else None,
        expiring_count=stock.expiring_count if stock else None,
        pending_pix_count=sales.pending_pix_count,
        open_payables_cents=payables_cents,
        same_weekday_last_week=totals(sales.last_week),
        unavailable=unavailable,
    )


def top_product(row: dict[str, object]) -> TopProduct:
    """One row of `dashboard_store.top_products` as the answer shows it."""
    return TopProduct(
        product_id=UUID(str(row["product_id"])),
        name=str(row["name"]),
        quantity=Decimal(str(row["quantity"])),
        revenue_cents=int(str(row["revenue_cents"])),
    )
