"""What a fiado sale costs against a cash sale, measured in the same run (issue 17).

`python -m bench.fiado_flow [pairs] [rate]` starts the whole system as `make run` does
(memory broker unless AMQP_URL is set; the local PostgreSQL at BENCH_DATABASE_URL), opens
the admin's till, registers a customer with a limit larger than the run can spend, then
sells `pairs` pairs of sales at `rate` sales/s, alternating a cash sale (the baseline: the
acquirer decides at once) and a fiado sale of the same items (process-payment hands it to
charge-account, which locks the customer's row and decides: one hop more). Reported per
method, from the database's clock: sale → paid and sale → ledger posted (p50, p99), and
fiado ÷ cash. Every sale also records the till session, so both pay the till lookup.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.sale_flow import drain, flow_latencies, open_shop
from tests.support.system import running_system

DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(samples: list[float]) -> str:
    return f"p50 {_pct(samples, 0.5) * 1000:.0f} ms, p99 {_pct(samples, 0.99) * 1000:.0f} ms"


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_system(DATABASE, Path(tmp), amqp_url=os.environ.get("AMQP_URL")) as system,
    ):
        token, products = open_shop(system)
        with httpx.Client(
            base_url=system.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api:
            opened = api.post("/api/till/sessions", json={"opening_cents": 10000})
            assert opened.status_code == 201, opened.text
            customer = api.post(
                "/api/customers",
                json={"name": "Cliente do bench", "credit_limit_cents": 10_000_000},
            )
            assert customer.status_code == 201, customer.text
            customer_id = customer.json()["id"]
            ids: dict[str, list[str]] = {"cash": [], "fiado": []}
            started = time.monotonic()
            for n in range(2 * pairs):
                method = "cash" if n % 2 == 0 else "fiado"
                product = products[(n // 2) % len(products)]
                payment: dict[str, object] = (
                    {"method": "cash", "cash_received_cents": 100000}
                    if method == "cash"
                    else {"method": "fiado", "customer_id": customer_id}
                )
                answer = api.post(
                    "/api/sales",
                    json={
                        "items": [{"product_id": product, "quantity": "0.5"}],
                        "payment": payment,
                    },
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                assert answer.status_code == 201, answer.text
                ids[method].append(answer.json()["id"])
                pause = started + (n + 1) / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            every = ids["cash"] + ids["fiado"]
            _, waited = drain(system.admin_dsn, every, limit=60)
            load = os.getloadavg()[0]
        results = {m: flow_latencies(system.admin_dsn, sale_ids) for m, sale_ids in ids.items()}
    print(
        f"bench.fiado_flow: {pairs} pairs at {rate:g} sales/s; drained in {waited:.1f} s;"
        f" load {load:.1f}"
    )
    for method, (paid, ledger) in results.items():
        print(
            f"  {method:5}  sale → paid {_ms(paid)};  sale → ledger {_ms(ledger)}"
            f"  ({len(paid)}/{pairs} paid)"
        )
    cash_paid, fiado_paid = results["cash"][0], results["fiado"][0]
    ratio = statistics.median(fiado_paid) / statistics.median(cash_paid)
    print(f"  fiado ÷ cash, median sale → paid: {ratio:.2f}")


if __name__ == "__main__":
    main()
