"""Functions killed between their commit and their publish lose nothing: the outbox
keeps the events and the sweep publishes them; the counter retries with its key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.faults.checker import check, drain
from tests.faults.conftest import PrivatePostgres, Shop, open_shop
from tests.faults.test_nothing_lost import _record, _sale_ids
from tests.support.system import running_system

EVERY = 4  # each function of the sale flow dies right after every 4th commit it publishes from
SALES = 20
SALE_FLOW = [
    "complete-sale",
    "process-payment",
    "update-sale-status",
    "apply-sale-to-stock",
    "post-ledger-entry",
]


@pytest.fixture(scope="module")
def crashing_shop(
    private_postgres: PrivatePostgres, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    chaos = {
        "ACOUGUE_CHAOS_EXIT_EVERY": str(EVERY),
        "ACOUGUE_CHAOS_FUNCTIONS": json.dumps(SALE_FLOW),
    }
    with running_system(
        private_postgres.url,
        tmp_path_factory.mktemp("crash"),
        amqp_url=amqp_url,
        sweep_interval=0.5,
        extra_env=chaos,
    ) as system:
        yield open_shop(system)


def test_crashes_between_commit_and_publish_lose_nothing(crashing_shop: Shop) -> None:
    before = _sale_ids(crashing_shop.system.admin_dsn)
    workload = crashing_shop.workload()
    started = time.monotonic()
    workload.sell(SALES, pause=0.05)
    assert workload.gave_up == 0
    drain(crashing_shop.system.admin_dsn, workload.accepted, timeout=150)
    final = check(crashing_shop.system.admin_dsn, workload.accepted, since_sales=before)
    final.lost += final.pending
    final.pending = []
    crashes = crashing_shop.system.logs("complete-sale").count("chaos: exiting")
    _record(
        f"kill between commit and publish (every {EVERY}th commit in the sale flow)",
        {**final.counts(), "crashes_of_complete_sale": crashes},
        time.monotonic() - started,
        len(workload.accepted),
        workload.retries,
    )
    assert final.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0, "pending": 0}, (
        final.lost[:3]
    )
    assert len(workload.accepted) == SALES
    # Deterministic: each sale is a commit of complete-sale, which dies on every 4th since
    # its last start, so the counter met at least SALES // EVERY crashes and retried each.
    assert crashes >= SALES // EVERY
    assert workload.retries >= SALES // EVERY
