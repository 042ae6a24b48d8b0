"""Nothing lost, nothing applied twice, under faults (RabbitMQ backend).

Each scenario sells through the gateway while a fault strikes, lets the system drain,
and checks every accepted sale: its payment status, one stock movement per line, one
revenue entry and one CMV entry per line, counting lost, duplicated and unexpected
effects (all must be 0) and the time to recover."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import psutil
import psycopg

from shared.events import ownership
from tests.faults.checker import check, drain
from tests.faults.conftest import PrivatePostgres, Shop
from tests.support.identity import publish_headers
from tests.support.system import RunningSystem, wait_for
from tooling.manifests import REPO_ROOT

RESULTS = REPO_ROOT / "test-artifacts" / "faults.json"


def _record(
    name: str, verdict_counts: dict[str, int], recovered: float, sales: int, retries: int
) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    found: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    found[name] = {
        **verdict_counts,
        "sales": sales,
        "client_retries": retries,
        "recovered_s": round(recovered, 2),
    }
    RESULTS.write_text(json.dumps(found, indent=2))


def _sale_ids(admin_dsn: str) -> set[str]:
    with psycopg.connect(admin_dsn) as conn:
        return {r[0] for r in conn.execute("SELECT id::text FROM sales.sales").fetchall()}


def _kill_hard(system: RunningSystem, service: str) -> int:
    """SIGKILL the service's running process, as the runner's state names it (one process
    per function). 0 when it is not up: scaled to zero, or killed and not restarted yet."""
    found = system.status()[service]
    if found["state"] != "up" or not found["pid"]:
        return 0
    try:
        process = psutil.Process(found["pid"])
        if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet restarted
            return 0
        process.send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:
        return 0
    return 1


def _run(shop: Shop, name: str, count: int, fault: Any = None) -> None:
    before = _sale_ids(shop.system.admin_dsn)
    workload = shop.workload()
    if fault is None:
        workload.sell(count)
        fault_over = time.monotonic()
    else:
        seller = workload.sell_in_background(count, pause=0.1)
        time.sleep(1.0)
        fault()
        fault_over = time.monotonic()
        seller.join(timeout=240)
    assert workload.gave_up == 0, f"{workload.gave_up} sales could not be completed"
    verdict, _ = drain(shop.system.admin_dsn, workload.accepted, timeout=150)
    recovered = time.monotonic() - fault_over
    final = check(shop.system.admin_dsn, workload.accepted, since_sales=before)
    final.lost += final.pending  # never completed after the drain: lost
    final.pending = []
    _record(name, final.counts(), recovered, len(workload.accepted), workload.retries)
    assert final.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0, "pending": 0}, (
        final.lost[:3],
        final.duplicated[:3],
        final.unexpected[:3],
    )
    assert len(workload.accepted) == count
    del verdict


def test_a_quiet_day_is_complete(shop: Shop) -> None:
    _run(shop, "no fault", 12)


def test_subscribers_killed_mid_delivery_lose_nothing(shop: Shop) -> None:
    def kill_subscribers() -> None:
        for _ in range(3):
            for service in (
                "process-payment",
                "update-sale-status",
                "apply-sale-to-stock",
                "post-ledger-entry",
            ):
                # The runner restarts a killed function: wait until it is back (a cold
                # start on a loaded machine can outlast the pause below).
                wait_for(lambda s=service: _kill_hard(shop.system, s) > 0, timeout=60)
            time.sleep(1.5)

    _run(shop, "kill -9 of subscribers mid-delivery", 20, kill_subscribers)


def test_rabbitmq_restarted_mid_flow_loses_nothing(shop: Shop) -> None:
    def restart_rabbitmq() -> None:
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
        time.sleep(3)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)

    _run(shop, "RabbitMQ stopped and restarted", 20, restart_rabbitmq)


def test_postgres_restarted_mid_flow_loses_nothing(
    shop: Shop, private_postgres: PrivatePostgres
) -> None:
    _run(shop, "PostgreSQL restarted", 20, private_postgres.restart)
    # Functions idle during the restart held dead pooled connections: their first request
    # afterwards must still be answered (the pool checks a connection before lending it).
    headers = {"Authorization": f"Bearer {shop.system.admin_token()}"}
    for product, _ in shop.products:
        answer = httpx.get(f"{shop.system.gateway}/api/inventory/stock/{product}", headers=headers)
        assert answer.status_code == 200, answer.text


def _publish(system: RunningSystem, attributes: dict[str, Any], data: Any) -> int:
    headers = {f"ce-{k}": str(v) for k, v in attributes.items() if k != "datacontenttype"}
    headers["content-type"] = "application/json"
    # Published again by the function that first did (its source): a duplicate, not a forgery.
    publisher = str(attributes["source"]).removeprefix(ownership.SOURCE_PREFIX)
    headers.update(publish_headers(system.data_dir, publisher))
    answer = httpx.post(
        system.broker_ingress, content=json.dumps(data).encode(), headers=headers, timeout=10
    )
    return answer.status_code


_HANDLED = re.compile(r"event (com\.acougue\.[\w.]+) ([\w-]+) (applied|duplicate)")


def _handled(system: RunningSystem, ids: set[str]) -> Counter[tuple[str, str]]:
    """How many deliveries of each of `ids` each subscriber acknowledged (applied or
    found in its inbox), from the line every subscriber logs per delivery."""
    seen: Counter[tuple[str, str]] = Counter()
    for service in system.status():
        if service in ("gateway", "broker"):
            continue
        for _type, event_id, _outcome in _HANDLED.findall(system.logs(service)):
            if event_id in ids:
                seen[service, event_id] += 1
    return seen


def _copies_handled(system: RunningSystem, ids: set[str], copies: int) -> bool:
    """Every subscriber that took an event has also acknowledged each of its copies."""
    return all(n >= 1 + copies for n in _handled(system, ids).values())


def test_duplicate_deliveries_of_every_event_type_apply_once(shop: Shop) -> None:
    started = time.monotonic()
    since = time.time()
    workload = shop.workload()
    workload.sell(10)
    verdict, _ = drain(shop.system.admin_dsn, workload.accepted, timeout=120)
    assert verdict.clean, verdict.counts()
    with psycopg.connect(shop.system.admin_dsn) as conn:
        events = conn.execute(
            "SELECT attributes, data FROM platform.event_log WHERE received_at >= to_timestamp(%s)",
            (since - 1,),
        ).fetchall()
    types, ids = set(), {str(attributes["id"]) for attributes, _ in events}
    assert _handled(shop.system, ids)  # the originals' deliveries are in the logs
    for attributes, data in events:  # every event again, same source and id, twice
        for _ in range(2):
            assert _publish(shop.system, attributes, data) == 202
        types.add(attributes["type"])
    assert {
        "com.acougue.sale.completed",
        "com.acougue.payment.approved",
        "com.acougue.payment.declined",
        "com.acougue.sale.paid",
        "com.acougue.sale.payment_failed",
        "com.acougue.inventory.movement.registered",
        "com.acougue.ledger.entry.posted",
    } <= types
    # the copies have reached every subscriber of the originals (each logs its deliveries)
    wait_for(lambda: _copies_handled(shop.system, ids, copies=2), timeout=60, interval=0.5)
    final = check(shop.system.admin_dsn, workload.accepted)
    _record(
        f"duplicates of {len(types)} event types",
        final.counts(),
        time.monotonic() - started,
        len(workload.accepted),
        0,
    )
    assert final.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0, "pending": 0}


def test_a_poison_event_is_dead_lettered_then_replayed_once_fixed(shop: Shop) -> None:
    """A refund that arrives before its sale cannot be applied (409, retried, then dead
    letter); once the sale's own event arrives, the replayed refund applies."""
    product, price = shop.products[0]
    admin = {"Authorization": f"Bearer {shop.system.admin_token()}"}
    api = httpx.Client(base_url=shop.system.gateway, headers=admin, timeout=15)
    start = api.get(f"/api/inventory/stock/{product}").json()["quantity"]
    sale_id = str(uuid.uuid4())
    data = {
        "sale_id": sale_id,
        "seller_id": None,
        "items": [
            {
                "product_id": product,
                "quantity": "1.000",
                "unit_price_cents": price,
                "total_cents": price,
            }
        ],
        "total_cents": price,
        "payment_method": "pix",
    }

    def attrs(type_: str) -> dict[str, str]:
        return {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/acougue/update-sale-status",
            "type": type_,
            "subject": sale_id,
        }

    assert _publish(shop.system, attrs("com.acougue.sale.refunded"), data) == 202
    target = shop.system.url("apply-sale-to-stock")
    letter = wait_for(
        lambda: [
            d
            for d in api.get("/api/dead-letters").json()["items"]
            if d["subject"] == sale_id and d["error_dest"].startswith(target)
        ],
        timeout=60,
    )[0]
    assert letter["error_code"] == "409"
    assert _publish(shop.system, attrs("com.acougue.sale.paid"), data) == 202  # the fix
    wait_for(lambda: api.get(f"/api/inventory/stock/{product}").json()["quantity"] != start)
    assert api.post(f"/api/dead-letters/{letter['id']}/replay").status_code == 202
    wait_for(
        lambda: api.get(f"/api/inventory/stock/{product}").json()["quantity"] == start, timeout=30
    )
    moves = api.get(
        "/api/inventory/movements", params={"product_id": product, "limit": 1000}
    ).json()["items"]
    kinds = sorted(m["kind"] for m in moves if m["cause_id"] == sale_id)
    assert kinds == ["refund", "sale"]
    _record(
        "poison event → dead letter → fixed → replayed",
        {"lost": 0, "duplicated": 0, "unexpected": 0, "pending": 0},
        0,
        0,
        0,
    )
