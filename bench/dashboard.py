"""The dashboard over a year of sales (issue 18's closing figure).

`python -m bench.dashboard [sales_per_day] [calls]` (PostgreSQL at BENCH_DATABASE_URL,
default the local server): fills a fresh database's sales schema by SQL, through the sales
role, with a year of a shop's sales (default 120 a day for 365 days, 1–4 lines each, every
method, a discount on one in ten, a return on one paid sale in forty, some cancelled and
some left pending), VACUUM ANALYZEs it as the owner (autovacuum's work in a running shop),
then times GET /api/dashboard for a day in the middle of the year through a dashboard
process (token checked, the SQL, inventory-query and payables asked over HTTP of a
stand-in answering at once, JSON): p50 and p99 of `calls` requests, and the SQL part alone
(`dashboard_store.figures`, in-process). The baseline, in the same run: the same on a
second fresh database holding that one day only. Then the SQL alone again on the year
without migration 007's indexes, to show what they are for.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from functions.sales import dashboard_store
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenIssuer, generate_private_key_pem, load_private_key
from tests.support import database as bench_database
from tests.support.database import ProvisionedDatabase
from tests.support.servers import free_port, serve
from tooling.manifests import REPO_ROOT

FIRST = date(2025, 1, 1)
DAYS = 365
MIDDLE = date(2025, 7, 2)  # day 182 of 365, a Wednesday
PRODUCTS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(40)]

# Sale n of the year: day n / per_day, made between 08:00 and 20:00 in São Paulo (the
# baseline's day holds the same sales n as the year's). Returns are chosen by time.
FILL = """
WITH s AS MATERIALIZED (
  SELECT n, gen_random_uuid() AS id,
         ((%(first)s::date + n / %(per_day)s::int)::timestamp + time '08:00'
           + (n %% %(per_day)s::int) * interval '12 hours' / %(per_day)s::int)
           AT TIME ZONE 'America/Sao_Paulo' AS at,
         (ARRAY['pix','cash','debit','credit','fiado'])[1 + n %% 5] AS method,
         CASE WHEN n %% 50 = 7 THEN 'cancelled' WHEN n %% 211 = 5 THEN 'pending_payment'
              ELSE 'paid' END AS status
  FROM generate_series(%(since)s::int * %(per_day)s::int,
                       (%(since)s::int + %(days)s::int) * %(per_day)s::int - 1) AS n
), l AS MATERIALIZED (
  SELECT s.id, g AS line, (%(products)s::uuid[])[1 + (s.n * 3 + g) %% 40] AS product,
         (500 + (s.n::bigint * 7919 + g * 104729) %% 20000)::bigint AS total,
         ((1 + (s.n + g * 37) %% 2000)::numeric / 1000)::numeric(12, 3) AS quantity
  FROM s, generate_series(1, 1 + s.n %% 4) AS g
), t AS (
  SELECT s.*, sum(l.total)::bigint AS subtotal,
         CASE WHEN s.n %% 10 = 0 THEN sum(l.total)::bigint / 20 ELSE 0 END AS discount
  FROM s JOIN l ON l.id = s.id GROUP BY s.n, s.id, s.at, s.method, s.status
), ins AS (
  INSERT INTO sales (id, seller_id, idempotency_key, request_hash, status, subtotal_cents,
                     discount_cents, total_cents, payment_method, customer_id, created_at,
                     paid_at, payment_status)
  SELECT id, '00000000-0000-4000-8000-000000000001', id::text, 'h', status, subtotal,
         discount, subtotal - discount, method,
         CASE WHEN method = 'fiado' THEN gen_random_uuid() END, at,
         CASE WHEN status = 'paid' THEN at + interval '20 seconds' END,
         CASE WHEN status = 'paid' THEN 'approved' ELSE 'pending' END
  FROM t
)
INSERT INTO sale_items (sale_id, line, product_id, name, unit, quantity, unit_price_cents,
                        total_cents)
SELECT id, line, product, 'Corte ' || right(product::text, 2), 'kg', quantity, total, total
FROM l
"""

# One paid sale in forty gives back half of its first line, an hour later.
RETURNS = """
WITH r AS MATERIALIZED (
  SELECT gen_random_uuid() AS id, s.id AS sale_id, s.payment_method, s.created_at,
         i.product_id, i.name, (i.quantity / 2)::numeric(12, 3) AS quantity,
         (i.total_cents * s.total_cents / s.subtotal_cents) / 2 AS refund
  FROM sales s JOIN sale_items i ON i.sale_id = s.id AND i.line = 1
  WHERE s.status = 'paid' AND i.quantity >= 0.002
    AND hashtext(to_char(s.created_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')) % 40 = 0
), ins AS (
  INSERT INTO sale_returns (id, sale_id, returned_by, reason, refund_cents, payment_method,
                            request_hash, created_at)
  SELECT id, sale_id, '00000000-0000-4000-8000-000000000001', 'devolveu', refund,
         payment_method, 'h', created_at + interval '1 hour' FROM r
)
INSERT INTO sale_return_items (return_id, line, product_id, name, unit, quantity, refund_cents)
SELECT id, 1, product_id, name, 'kg', quantity, refund FROM r
"""


def _fill(db: ProvisionedDatabase, since: int, days: int, per_day: int) -> dict[str, int]:
    """Days since..since+days-1 of the year (day 0 is FIRST), per_day sales each."""
    with psycopg.connect(db.role_dsn("sales")) as conn:
        conn.execute(
            "INSERT INTO products (product_id, name, unit, price_cents, active, version)"
            " SELECT p, 'Corte ' || right(p::text, 2), 'kg', 1000, true, 1"
            " FROM unnest(%s::uuid[]) AS p",
            (PRODUCTS,),
        )
        conn.execute(
            FILL,
            {
                "first": FIRST,
                "since": since,
                "days": days,
                "per_day": per_day,
                "products": PRODUCTS,
            },
        )
        conn.execute(RETURNS)
        conn.commit()
        counts = {}
        for table in ("sales", "sale_items", "sale_returns"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            counts[table] = row[0] if row else 0
    with psycopg.connect(db.admin_dsn, autocommit=True) as owner:
        # Only the owner may VACUUM or ANALYZE (autovacuum does both in a running shop).
        for table in ("sales", "sale_items", "sale_returns", "sale_return_items"):
            owner.execute(f"VACUUM ANALYZE sales.{table}")
    return counts


@contextmanager
def _jwks_and_upstreams() -> Iterator[tuple[str, str, str]]:
    """The auth function's JWKS, and inventory-query and payables answering at once; the
    JWKS URL, the stand-in's base URL and an admin's token."""
    issuer = TokenIssuer(
        load_private_key(generate_private_key_pem()),
        issuer="acougue-auth",
        audience="acougue",
        ttl_seconds=900,
    )

    async def keys(_: Any) -> JSONResponse:
        return JSONResponse(issuer.jwks())

    lot = {"lot": "L1", "expires_on": "2025-07-03", "quantity": "1.000"}
    stock = {
        "items": [
            {"product_id": p, "low": n % 7 == 0, "expiring": [lot] if n % 9 == 0 else []}
            for n, p in enumerate(PRODUCTS)
        ]
    }
    payables = {"items": [{"id": str(n), "open_cents": 10000 + n} for n in range(30)]}

    async def stock_list(_: Any) -> JSONResponse:
        return JSONResponse(stock)

    async def payables_list(_: Any) -> JSONResponse:
        return JSONResponse(payables)

    app = Starlette(
        routes=[
            Route("/jwks", keys),
            Route("/api/inventory/stock", stock_list),
            Route("/api/finance/payables", payables_list),
        ]
    )
    with serve(app) as url:
        token = issuer.issue(Principal("00000000-0000-4000-8000-000000000001", "dono", Role.ADMIN))
        yield url + "/jwks", url, token.token


@contextmanager
def _dashboard_process(db: ProvisionedDatabase, jwks_url: str, upstream: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "functions_framework", "--asgi"],
        env={
            **os.environ,
            "FUNCTION_TARGET": "dashboard",
            "FUNCTION_SOURCE": "functions/sales/main.py",
            "DATABASE_URL": db.role_dsn("sales"),
            "DB_POOL_MAX": "2",  # as knative/services/dashboard.yaml
            "AUTH_JWKS_URL": jwks_url,
            "INVENTORY_QUERY_URL": upstream,
            "PAYABLES_URL": upstream,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "PYTHONPATH": str(REPO_ROOT),
            "LOG_LEVEL": "WARNING",
            "DD_TRACE_ENABLED": "false",
            "EVENT_AUTHENTICATION": "off",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _http(base: str, token: str, calls: int) -> tuple[list[float], dict[str, Any]]:
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dashboard did not start")
            time.sleep(0.05)
        params = {"date": MIDDLE.isoformat()}
        for _ in range(5):  # warm: pool, JWKS, upstream connections
            client.get(base + "/api/dashboard", params=params).raise_for_status()
        samples = []
        body: dict[str, Any] = {}
        for _ in range(calls):
            started = time.perf_counter()
            answer = client.get(base + "/api/dashboard", params=params)
            samples.append(time.perf_counter() - started)
            answer.raise_for_status()
            body = answer.json()
        if body.get("unavailable"):
            raise RuntimeError(f"the stand-in upstreams did not answer: {body['unavailable']}")
        return samples, body


async def _sql(db: ProvisionedDatabase, calls: int) -> list[float]:
    """dashboard_store.figures alone: the four queries and their fetch, no HTTP, no JSON."""
    samples = []
    async with await psycopg.AsyncConnection.connect(
        db.role_dsn("sales"), row_factory=dict_row, options="-c search_path=sales"
    ) as conn:
        for n in range(calls + 5):
            started = time.perf_counter()
            await dashboard_store.figures(conn, MIDDLE, 5)
            if n >= 5:  # the first few warm the cache
                samples.append(time.perf_counter() - started)
            await conn.rollback()
    return samples


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _line(label: str, samples: list[float], base: list[float] | None = None) -> str:
    p50, p99 = _p(samples, 0.5), _p(samples, 0.99)
    ratio = f"  (p50 x{statistics.median(samples) / statistics.median(base):.2f})" if base else ""
    return f"{label:<44}: p50 {p50:6.2f} ms, p99 {p99:6.2f} ms{ratio}"


def main(per_day: int, calls: int) -> None:
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    load_at_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    year = asyncio.run(bench_database.create(server))
    day = asyncio.run(bench_database.create(server))
    try:
        started = time.perf_counter()
        counts = _fill(year, 0, DAYS, per_day)
        fill = time.perf_counter() - started
        day_counts = _fill(day, (MIDDLE - FIRST).days, 1, per_day)
        with _jwks_and_upstreams() as (jwks_url, upstream, token):
            with _dashboard_process(day, jwks_url, upstream) as base:
                base_http, base_body = _http(base, token, calls)
            with _dashboard_process(year, jwks_url, upstream) as base:
                year_http, year_body = _http(base, token, calls)
        base_sql = asyncio.run(_sql(day, calls))
        year_sql = asyncio.run(_sql(year, calls))
        with psycopg.connect(year.admin_dsn, autocommit=True) as owner:
            owner.execute("DROP INDEX sales.sales_paid_created, sales.sales_pending_pix")
            owner.execute("ANALYZE sales.sales")
        year_sql_no_007 = asyncio.run(_sql(year, calls))
    finally:
        bench_database.drop(server, year)
        bench_database.drop(server, day)
    if (year_body["sales_count"], year_body["revenue_cents"]) != (
        base_body["sales_count"],
        base_body["revenue_cents"],
    ):
        raise RuntimeError("the middle day's figures differ between the year and the day")
    command = "python -m bench.dashboard" + (
        "" if (per_day, calls) == (120, 200) else f" {per_day} {calls}"
    )
    load_now = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"command: {command}")
    print(
        f"year: {counts['sales']} sales, {counts['sale_items']} lines,"
        f" {counts['sale_returns']} returns, filled and vacuumed in {fill:.1f} s;"
        f" baseline: one day, {day_counts['sales']} sales"
    )
    print(
        f"the day {MIDDLE}: {year_body['sales_count']} paid sales,"
        f" R$ {year_body['revenue_cents'] / 100:,.2f}; {calls} calls each"
    )
    print(f"load average (1, 5, 15 min): at start {load_at_start}; at the end {load_now}")
    print(_line("baseline, one day of data (HTTP)", base_http))
    print(_line("a year of data (HTTP)", year_http, base_http))
    print(_line("baseline, one day of data (SQL alone)", base_sql))
    print(_line("a year of data (SQL alone)", year_sql, base_sql))
    print(_line("a year, without migration 007 (SQL alone)", year_sql_no_007, base_sql))


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 120,
        int(sys.argv[2]) if len(sys.argv) > 2 else 200,
    )
