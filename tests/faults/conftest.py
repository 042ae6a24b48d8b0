"""The whole system on RabbitMQ, over a private embedded PostgreSQL the suite may restart."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.workload import Workload
from tests.support.system import RunningSystem, running_system, wait_for


@dataclass
class PrivatePostgres:
    pgdata: Path
    url: str
    server: Any

    def restart(self) -> None:
        """A fast restart: every connection is dropped, as in a crash of the server. As
        root, pgserver runs PostgreSQL as its own unprivileged user: pg_ctl must too."""
        import pgserver

        pgserver.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "restart"],
            pgdata=self.pgdata,
            user=self.server.system_user,
            timeout=60,
        )


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """Its own folder, not pytest's tmp_path: concurrent pytest sessions prune those."""
    import pgserver

    pgdata = Path(tempfile.mkdtemp(prefix="acougue-faults-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield PrivatePostgres(pgdata, str(server.get_uri()), server)
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


@dataclass
class Shop:
    system: RunningSystem
    token: str
    products: list[tuple[str, int]]

    def workload(self) -> Workload:
        return Workload(self.system.gateway, self.system.admin_token(), self.products)


def open_shop(system: RunningSystem) -> Shop:
    token = system.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    products = []
    with httpx.Client(base_url=system.gateway, headers=headers, timeout=15) as api:
        for name, price in (
            ("Picanha", 8990),
            ("Alcatra", 5490),
            ("Linguiça", 2990),
            ("Frango", 1590),
        ):
            pid = api.post(
                "/api/products", json={"name": name, "unit": "kg", "price_cents": price}
            ).json()["id"]
            wait_for(lambda pid=pid: api.get(f"/api/inventory/stock/{pid}").status_code == 200)
            api.post(
                "/api/inventory/movements",
                json={
                    "product_id": pid,
                    "kind": "receipt",
                    "quantity": "500",
                    "unit_cost_cents": price // 2,
                },
            )
            products.append((pid, price))
    return Shop(system, token, products)


@pytest.fixture(scope="module")
def shop(
    private_postgres: PrivatePostgres, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    with running_system(
        private_postgres.url,
        tmp_path_factory.mktemp("faults"),
        amqp_url=amqp_url,
        sweep_interval=0.5,
    ) as system:
        yield open_shop(system)
