"""The finance report over a year of a busy shop (~150k ledger entries).

`python -m bench.finance_report [entries]` (PostgreSQL at BENCH_DATABASE_URL, default the
local server): fills a fresh database's ledger with a year of sales (with revenue split
per cut, CMV, card fees) and expenses, through the finance role so that the balance
triggers run and the daily totals' trigger sums the lines, then times the report as the
owner asks for it: over HTTP through a finance-report process (token checked, SQL, JSON),
per group_by, and its SQL alone, against a baseline in the same run (a full scan of the
ledger lines: the least a report that reads every line must spend). With the default
150,000 entries the year-by-month median goes to the scorecard (bench/scorecard.py).
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

from bench.scorecard import record
from functions.finance import store
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenIssuer, generate_private_key_pem, load_private_key
from tests.support import database as bench_database
from tests.support.servers import free_port, serve
from tooling.manifests import REPO_ROOT

FILL = """
WITH sales AS (
  SELECT n, gen_random_uuid() AS id,
         timestamptz '2025-01-01 11:00-03' + (n * interval '1 year' / %(entries)s) AS at,
         (ARRAY['pix','cash','debit','credit'])[1 + n %% 4] AS method,
         1000 + (n * 7919) %% 30000 AS amount,
         (%(products)s::uuid[])[1 + n %% 40] AS product
  FROM generate_series(1, %(entries)s) AS n
), e AS (
  INSERT INTO entries (id, occurred_at, cause, cause_id, description, payment_method)
  SELECT id, at, 'payment.approved', id::text, 'Venda', method FROM sales RETURNING id
)
INSERT INTO entry_lines (entry_id, line, account, debit_cents, credit_cents, product_id,
                         occurred_at, payment_method)
SELECT s.id, l.line, l.account, l.debit, l.credit, l.product, s.at, s.method
FROM sales s, LATERAL (VALUES
  (1, CASE s.method WHEN 'cash' THEN 'caixa' WHEN 'pix' THEN 'banco' ELSE 'recebiveis_cartao' END,
      s.amount, 0, NULL::uuid),
  (2, 'receita_vendas', 0, s.amount, s.product),
  (3, 'cmv', s.amount * 6 / 10, 0, s.product),
  (4, 'estoque', 0, s.amount * 6 / 10, NULL::uuid)
) AS l(line, account, debit, credit, product)
"""


@contextmanager
def _jwks() -> Iterator[tuple[str, str]]:
    issuer = TokenIssuer(
        load_private_key(generate_private_key_pem()),
        issuer="acougue-auth",
        audience="acougue",
        ttl_seconds=900,
    )

    async def keys(_: Any) -> JSONResponse:
        return JSONResponse(issuer.jwks())

    app = Starlette(routes=[Route("/jwks", keys)])
    with serve(app) as url:
        token = issuer.issue(Principal("00000000-0000-4000-8000-000000000001", "dono", Role.ADMIN))
        yield url + "/jwks", token.token


def _timed(call: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


async def _store_report(dsn: str, runs: int) -> list[float]:
    """store.report over 2025 by month (the SQL and the fetch, no HTTP, no JSON)."""
    samples = []
    async with await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        for _ in range(runs):
            started = time.perf_counter()
            await store.report(conn, date(2025, 1, 1), date(2025, 12, 31), "month")
            samples.append(time.perf_counter() - started)
            await conn.rollback()
    return samples


def main(entries: int) -> None:
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    load_at_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    db = asyncio.run(bench_database.create(server))
    process = None
    try:
        products = [f"00000000-0000-4000-8000-{n:012d}" for n in range(40)]
        started = time.perf_counter()
        with psycopg.connect(db.role_dsn("finance")) as conn:
            conn.execute(FILL, {"entries": entries, "products": products})
            conn.commit()  # the deferred balance checks run here
            lines = conn.execute("SELECT count(*) FROM entry_lines").fetchone()
        with psycopg.connect(db.admin_dsn, autocommit=True) as owner:
            # Only the owner may ANALYZE (autovacuum does it in a running shop).
            owner.execute("ANALYZE finance.entries")
            owner.execute("ANALYZE finance.entry_lines")
            owner.execute("ANALYZE finance.daily_totals")
            owner.execute("ANALYZE finance.daily_product_totals")
        fill = time.perf_counter() - started
        with _jwks() as (jwks_url, token):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "functions_framework", "--asgi"],
                env={
                    **os.environ,
                    "FUNCTION_TARGET": "finance_report",
                    "FUNCTION_SOURCE": "functions/finance/main.py",
                    "DATABASE_URL": db.role_dsn("finance"),
                    "AUTH_JWKS_URL": jwks_url,
                    "PORT": str(port),
                    "HOST": "127.0.0.1",
                    "PYTHONPATH": str(REPO_ROOT),
                    "LOG_LEVEL": "WARNING",
                    # The report takes no events: no broker to sign or check them.
                    "EVENT_AUTHENTICATION": "off",
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if client.get(base + "/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("finance-report did not start")
                    time.sleep(0.05)
                year = {"from": "2025-01-01", "to": "2025-12-31"}
                client.get(
                    base + "/api/finance/report", params={**year, "group_by": "month"}
                )  # warm
                results = {}
                for group_by in ("month", "week", "day"):

                    def report(g: str = group_by) -> None:
                        answer = client.get(
                            base + "/api/finance/report", params={**year, "group_by": g}
                        )
                        answer.raise_for_status()

                    results[group_by] = _timed(report, 7)
                with psycopg.connect(db.role_dsn("finance")) as conn:

                    def scan() -> None:
                        conn.execute(
                            "SELECT sum(debit_cents), sum(credit_cents) FROM entry_lines"
                        ).fetchone()

                    baseline = _timed(scan, 7)
                # Where the HTTP time goes: the store's query alone, in-process.
                sql_alone = asyncio.run(_store_report(db.role_dsn("finance"), 7))
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        bench_database.drop(server, db)
    base_median = statistics.median(baseline)
    command = "python -m bench.finance_report" + ("" if entries == 150_000 else f" {entries}")
    print(f"command: {command}")
    count = lines[0] if lines else "?"
    print(
        f"ledger: {entries} entries, {count} lines, filled in {fill:.1f} s"
        " (balance checked at commit, daily totals summed by their trigger)"
    )
    load_now = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): at start {load_at_start}; at the end {load_now}")
    print(f"baseline, full scan of the lines (SQL)      : median {base_median * 1000:.0f} ms")
    sql_median = statistics.median(sql_alone)
    print(f"store.report alone, year by month (SQL)     : median {sql_median * 1000:.1f} ms")
    for group_by, samples in results.items():
        median = statistics.median(samples)
        print(
            f"report over the year, group_by={group_by:<5} (HTTP): median {median * 1000:.0f} ms,"
            f" max {max(samples) * 1000:.0f} ms  (x{median / base_median:.1f} the scan)"
        )
    if entries == 150_000:
        month, week, day = (statistics.median(results[g]) * 1000 for g in ("month", "week", "day"))
        record(
            "finance_year",
            round(month, 1),
            command=command,
            baseline=f"full scan of the ledger's {count} lines in SQL: {base_median * 1000:.0f} ms",
            detail=(
                "median of 7 GET /api/finance/report?group_by=month over 2025 through a"
                " finance-report process (token, SQL, JSON); store.report alone"
                f" {sql_median * 1000:.1f} ms; by week {week:.0f} ms, by day {day:.0f} ms;"
                " the report sums the ledger's"
                f" daily totals (finance migration 002); load at start {load_at_start}"
            ),
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150_000)
