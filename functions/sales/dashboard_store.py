"""SQL of the dashboard: one shop day's paid sales, read from the sales schema only (what
counts is written in `functions.sales.dashboard`). Each query reads one day's rows through
migration 007's partial indexes, so its cost does not grow with the year behind it."""

from __future__ import annotations

from datetime import date, timedelta

from functions.sales.dashboard import SalesFigures, SalesGroup, TopProduct, top_product
from shared import shop_time
from shared.db.pool import Conn

# A day's paid sales by local hour and method, each net of its returns' refunds.
_GROUPS = """
SELECT extract(hour FROM s.created_at AT TIME ZONE %(zone)s)::int AS hour,
       s.payment_method AS method,
       count(*) AS sales_count,
       sum(s.total_cents - coalesce(r.refunded, 0))::bigint AS revenue_cents
FROM sales s
LEFT JOIN LATERAL (
    SELECT sum(refund_cents) AS refunded FROM sale_returns WHERE sale_id = s.id
) r ON true
WHERE s.status = 'paid' AND s.created_at >= %(since)s AND s.created_at < %(until)s
GROUP BY 1, 2
"""

# Each product's share of what a day's paid sales took: the sale's total split over its
# lines in proportion to their totals by largest remainder, ties to the larger line, then
# to the earlier one (`shared.money.allocate`, as return_rules and finance split it), less
# its returns' refunds; and the quantity sold less the quantity returned. (sum() of bigint
# is numeric: cast back, or the division is not the integer one.)
_TOP = """
WITH day_sales AS (
    SELECT id, total_cents FROM sales
    WHERE status = 'paid' AND created_at >= %(since)s AND created_at < %(until)s
), lines AS (
    SELECT i.sale_id, i.line, i.product_id, i.name, i.quantity, i.total_cents AS weight,
           d.total_cents AS sale_total,
           (sum(i.total_cents) OVER (PARTITION BY i.sale_id))::bigint AS whole
    FROM day_sales d JOIN sale_items i ON i.sale_id = d.id
), floored AS (
    SELECT *,
           CASE WHEN whole = 0 THEN 0 ELSE sale_total * weight / whole END AS part,
           CASE WHEN whole = 0 THEN 0 ELSE sale_total * weight %% whole END AS rest
    FROM lines
), ranked AS (
    SELECT *,
           sale_total - (sum(part) OVER (PARTITION BY sale_id))::bigint AS remainder,
           row_number() OVER (PARTITION BY sale_id ORDER BY rest DESC, weight DESC, line)
               AS place
    FROM floored
), sold AS (
    SELECT product_id, min(name) AS name, sum(quantity) AS quantity,
           sum(part + CASE WHEN place <= remainder THEN 1 ELSE 0 END) AS paid_cents
    FROM ranked GROUP BY product_id
), returned AS (
    SELECT ri.product_id, sum(ri.quantity) AS quantity, sum(ri.refund_cents) AS refund_cents
    FROM day_sales d
    JOIN sale_returns r ON r.sale_id = d.id
    JOIN sale_return_items ri ON ri.return_id = r.id
    GROUP BY ri.product_id
)
SELECT s.product_id, coalesce(p.name, s.name) AS name,
       s.quantity - coalesce(r.quantity, 0) AS quantity,
       (s.paid_cents - coalesce(r.refund_cents, 0))::bigint AS revenue_cents
FROM sold s
LEFT JOIN returned r ON r.product_id = s.product_id
LEFT JOIN products p ON p.product_id = s.product_id
WHERE s.quantity - coalesce(r.quantity, 0) > 0
ORDER BY revenue_cents DESC, quantity DESC, s.product_id
LIMIT %(limit)s
"""

_PENDING_PIX = (
    "SELECT count(*) AS n FROM sales WHERE status = 'pending_payment' AND payment_method = 'pix'"
)


def _bounds(day: date) -> dict[str, object]:
    return {
        "zone": shop_time.ZONE_NAME,
        "since": shop_time.start_of(day),
        "until": shop_time.start_of(day + timedelta(days=1)),
    }


async def sales_groups(conn: Conn, day: date) -> list[SalesGroup]:
    cursor = await conn.execute(_GROUPS, _bounds(day))
    return [
        SalesGroup(r["hour"], r["method"], r["sales_count"], r["revenue_cents"])
        for r in await cursor.fetchall()
    ]


async def top_products(conn: Conn, day: date, limit: int) -> list[TopProduct]:
    cursor = await conn.execute(_TOP, {**_bounds(day), "limit": limit})
    return [top_product(r) for r in await cursor.fetchall()]


async def pending_pix_count(conn: Conn) -> int:
    row = await (await conn.execute(_PENDING_PIX)).fetchone()
    return int(row["n"]) if row else 0


async def figures(conn: Conn, day: date, top: int) -> SalesFigures:
    """The day's and the same weekday a week before's groups, the day's top products and the
    PIX sales pending now, one query after another on the caller's connection."""
    return SalesFigures(
        day=await sales_groups(conn, day),
        last_week=await sales_groups(conn, day - timedelta(days=7)),
        top_products=await top_products(conn, day, top),
        pending_pix_count=await pending_pix_count(conn),
    )
