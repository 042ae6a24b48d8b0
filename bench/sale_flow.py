"""The sale flow under load: throughput, latency and footprint, against baselines.

`python -m bench.sale_flow [--backend rabbitmq|memory] [--rates 5,10,20,40] [--step 20]
[--hold 120] [--latency-rate 50]` starts the whole system (as `make run` does) on the local
PostgreSQL (and RabbitMQ), then:

- offers sales at fixed rates (open loop, one new sale every 1/rate s) for `--step` s each,
  until a rate is not sustained; a rate is sustained when every sale was accepted (no
  error) and every effect (paid, stock, ledger) completed within 10 s of the last sale;
- holds the highest sustained rate for `--hold` s and checks it again;
- at `--latency-rate` sales/s (or the highest sustained, if lower): POST /api/sales p50/p99,
  and sale → paid, sale → ledger posted p50/p95/p99 (from the database's own timestamps);
- the RSS of every process idle and under load, and of the whole system idle;
- baselines in the same run: a no-op functions-framework function's request rate with the
  same client, PostgreSQL's rate of small committed transactions, and RabbitMQ's
  publish(confirm)+consume rate with the same AMQP client (aio-pika).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx
import psutil
import psycopg

from tests.support.servers import free_port
from tests.support.system import RunningSystem, running_system, wait_for

DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _dist(samples: list[float], *quantiles: float) -> str:
    """e.g. "p50 12 ms, p99 40 ms"."""
    return ", ".join(f"p{round(q * 100)} {_pct(samples, q) * 1000:.0f} ms" for q in quantiles)


def _verdict(ok: bool) -> str:
    return "sustained" if ok else "NOT sustained"


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Offered:
    rate: float
    seconds: float
    accepted: list[tuple[str, float]] = field(default_factory=list)  # (sale id, POST latency)
    errors: int = 0


async def offer(
    gateway: str, token: str, products: list[str], rate: float, seconds: float
) -> Offered:
    """Open loop: a new sale every 1/rate s, whatever the answers' speed."""
    result = Offered(rate, seconds)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(
        base_url=gateway, headers={"Authorization": f"Bearer {token}"}, timeout=30, limits=limits
    ) as client:

        async def one(n: int) -> None:
            body = {
                "items": [{"product_id": products[n % len(products)], "quantity": "1.250"}],
                "payment": {
                    "method": ("pix", "cash", "credit")[n % 3],
                    **({"cash_received_cents": 10**7} if n % 3 == 1 else {}),
                },
            }
            started = time.perf_counter()
            try:
                answer = await client.post(
                    "/api/sales", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
            except httpx.HTTPError:
                result.errors += 1
                return
            if answer.status_code == 201:
                result.accepted.append((answer.json()["id"], time.perf_counter() - started))
            else:
                result.errors += 1

        tasks = []
        start = time.perf_counter()
        n = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            due = start + n / rate
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            tasks.append(asyncio.create_task(one(n)))
            n += 1
            del elapsed
        await asyncio.gather(*tasks)
    return result


def completed(admin_dsn: str, sale_ids: list[str]) -> tuple[int, int, int]:
    """How many of the sales are paid, out of stock, and in the ledger."""
    with psycopg.connect(admin_dsn) as conn:
        paid = conn.execute(
            "SELECT count(*) FROM sales.sales WHERE status = 'paid' AND id::text = ANY(%s)",
            (sale_ids,),
        ).fetchone()
        moved = conn.execute(
            "SELECT count(DISTINCT cause_id) FROM inventory.movements WHERE cause_type = 'sale'"
            " AND cause_id = ANY(%s)",
            (sale_ids,),
        ).fetchone()
        posted = conn.execute(
            "SELECT count(DISTINCT sale_id) FROM finance.entries WHERE cause = 'payment.approved'"
            " AND sale_id::text = ANY(%s)",
            (sale_ids,),
        ).fetchone()
    return (paid[0] if paid else 0, moved[0] if moved else 0, posted[0] if posted else 0)


def sustained(admin_dsn: str, run: Offered) -> tuple[bool, float]:
    """Every sale accepted and every effect complete within 10 s of the last sale."""
    ids = [s for s, _ in run.accepted]
    started = time.monotonic()
    while time.monotonic() - started < 10:
        if completed(admin_dsn, ids) == (len(ids), len(ids), len(ids)):
            return run.errors == 0 and len(ids) > 0, time.monotonic() - started
        time.sleep(0.25)
    return False, 10.0


def flow_latencies(admin_dsn: str, sale_ids: list[str]) -> tuple[list[float], list[float]]:
    with psycopg.connect(admin_dsn) as conn:
        paid = [
            r[0]
            for r in conn.execute(
                "SELECT extract(epoch FROM paid_at - created_at) FROM sales.sales"
                " WHERE paid_at IS NOT NULL AND id::text = ANY(%s)",
                (sale_ids,),
            ).fetchall()
        ]
        ledger = [
            r[0]
            for r in conn.execute(
                "SELECT extract(epoch FROM e.posted_at - s.created_at) FROM sales.sales s"
                " JOIN finance.entries e ON e.sale_id = s.id AND e.cause = 'payment.approved'"
                " WHERE s.id::text = ANY(%s)",
                (sale_ids,),
            ).fetchall()
        ]
    return [float(x) for x in paid], [float(x) for x in ledger]


def footprint(system: RunningSystem) -> dict[str, float]:
    """RSS in MiB of each service (its process and children: gunicorn master + worker)."""
    found: dict[str, float] = {}
    for name, pid in system.state["pids"].items():
        try:
            process = psutil.Process(pid)
            found[name] = (
                sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
                / 2**20
            )
        except psutil.NoSuchProcess:
            found[name] = float("nan")
    return found


# -- baselines ----------------------------------------------------------------------------


@contextmanager
def noop_function() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "functions_framework", "--asgi"],
        env={
            **os.environ,
            "FUNCTION_TARGET": "noop",
            "FUNCTION_SOURCE": str(Path(__file__).parent / "fixtures" / "noop.py"),
            "PORT": str(port),
            "HOST": "127.0.0.1",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: _ok(url), timeout=30, interval=0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def request_rate(url: str, seconds: float, concurrency: int = 20) -> float:
    done = 0
    async with httpx.AsyncClient(timeout=10) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await client.post(url, json={})
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / seconds


def postgres_rate(seconds: float) -> float:
    with psycopg.connect(DATABASE) as conn:
        conn.execute("CREATE TEMP TABLE bench_tx (id serial, at timestamptz DEFAULT now())")
        conn.commit()
        done, stop = 0, time.perf_counter() + seconds
        while time.perf_counter() < stop:
            conn.execute("INSERT INTO bench_tx DEFAULT VALUES")
            conn.commit()
            done += 1
    return done / seconds


async def rabbitmq_rate(seconds: float) -> float:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(f"bench.{uuid.uuid4().hex}", exclusive=True)
        received = 0
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=queue.name)
            message = await queue.get(timeout=5)
            await message.ack()
            received += 1
    return received / seconds


# -- the run ------------------------------------------------------------------------------


def open_shop(system: RunningSystem) -> tuple[str, list[str]]:
    token = system.admin_token()
    ids = []
    with httpx.Client(
        base_url=system.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=15
    ) as api:
        for n in range(8):
            pid = api.post(
                "/api/products",
                json={"name": f"Corte {n}", "unit": "kg", "price_cents": 3000 + n * 500},
            ).json()["id"]
            api.post(
                "/api/inventory/movements",
                json={
                    "product_id": pid,
                    "kind": "receipt",
                    "quantity": "100000",
                    "unit_cost_cents": 2000,
                },
            )
            ids.append(pid)
        probe = {"items": [{"product_id": ids[-1], "quantity": "1"}], "payment": {"method": "pix"}}
        wait_for(
            lambda: (
                api.post(
                    "/api/sales", json=probe, headers={"Idempotency-Key": str(uuid.uuid4())}
                ).status_code
                == 201
            )
        )
    return token, ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["rabbitmq", "memory"], default="rabbitmq")
    parser.add_argument("--rates", default="5,10,20,30,40,60")
    parser.add_argument("--step", type=float, default=20.0)
    parser.add_argument("--hold", type=float, default=120.0)
    parser.add_argument("--latency-rate", type=float, default=50.0)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    print(f"command: python -m bench.sale_flow {' '.join(sys.argv[1:])}")
    with noop_function() as url:
        noop = asyncio.run(request_rate(url, 10))
    pg = postgres_rate(10)
    mq = asyncio.run(rabbitmq_rate(10))
    print(
        f"baseline: no-op function {noop:.0f} req/s (20 concurrent); PostgreSQL {pg:.0f} tx/s;"
        f" RabbitMQ publish(confirm)+consume {mq:.0f} msg/s"
    )

    tmp = Path(tempfile.mkdtemp(prefix="acougue-bench-"))
    amqp = AMQP if args.backend == "rabbitmq" else None
    with running_system(DATABASE, tmp, amqp_url=amqp, sweep_interval=1.0) as system:
        token, products = open_shop(system)
        time.sleep(3)
        idle = footprint(system)
        best = 0.0
        for rate in rates:
            run = asyncio.run(offer(system.gateway, token, products, rate, args.step))
            ok, drained = sustained(system.admin_dsn, run)
            posts = [lat for _, lat in run.accepted]
            print(
                f"  {rate:>5.0f} sales/s for {args.step:.0f} s: accepted {len(run.accepted)},"
                f" errors {run.errors}, drained in {drained:.1f} s,"
                f" POST {_dist(posts, 0.5)} -> {_verdict(ok)}"
            )
            if not ok:
                break
            best = rate
        loaded = footprint(system)
        if best:
            hold = asyncio.run(offer(system.gateway, token, products, best, args.hold))
            ok, drained = sustained(system.admin_dsn, hold)
            print(
                f"highest sustained: {best:.0f} sales/s; held {args.hold:.0f} s:"
                f" accepted {len(hold.accepted)}, errors {hold.errors},"
                f" drained in {drained:.1f} s -> {_verdict(ok)}"
                f"  (x{best / noop:.3f} the no-op function's rate)"
            )
        rate = min(args.latency_rate, best) if best else args.latency_rate
        run = asyncio.run(offer(system.gateway, token, products, rate, 30))
        sustained(system.admin_dsn, run)
        ids = [s for s, _ in run.accepted]
        posts = [lat for _, lat in run.accepted]
        paid, ledger = flow_latencies(system.admin_dsn, ids)
        print(f"latency at {rate:.0f} sales/s (30 s): POST /api/sales {_dist(posts, 0.5, 0.99)}")
        print(f"  sale -> paid   {_dist(paid, 0.5, 0.95, 0.99)}")
        print(f"  sale -> ledger {_dist(ledger, 0.5, 0.95, 0.99)}")
        print("footprint (RSS MiB, idle -> under load):")
        for name in sorted(idle):
            print(f"  {name:<28} {idle[name]:7.1f} -> {loaded.get(name, float('nan')):7.1f}")
        print(f"  whole system idle: {sum(idle.values()):.0f} MiB")


if __name__ == "__main__":
    main()
