"""The whole system, started by the local runner as `make run` starts it, for e2e tests."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from tests.support.database import _with_database
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.system import database_domains

ADMIN_PASSWORD = "e2e-" + secrets.token_urlsafe(12)
# What the system is started with: the bootstrap admin must replace it at first login,
# which running_system does (to ADMIN_PASSWORD) before any test sees the system.
BOOTSTRAP_PASSWORD = "boot-" + secrets.token_urlsafe(12)


@dataclass
class RunningSystem:
    state: dict[str, Any]
    process: subprocess.Popen[bytes]
    data_dir: Path
    admin_dsn: str
    state_file: Path

    @property
    def gateway(self) -> str:
        return str(self.state["urls"]["gateway"])

    @property
    def broker_ingress(self) -> str:
        return str(self.state["urls"]["broker"]) + "/acougue-system/default"

    def url(self, service: str) -> str:
        return str(self.state["urls"][service])

    def status(self) -> dict[str, Any]:
        """The runner's current view of every process (it rewrites the file on each change)."""
        found: dict[str, Any] = json.loads(self.state_file.read_text())["processes"]
        return found

    def pid(self, service: str, *, timeout: float = 60.0) -> int:
        """The service's current process; a function scaled to zero is woken first, by a
        request to its port, as a caller would wake it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.status()[service]
            if found["state"] == "up" and found["pid"]:
                return int(found["pid"])
            if found["state"] == "down":
                httpx.get(self.url(service) + "/healthz", timeout=timeout)
            if time.monotonic() > deadline:
                raise AssertionError(f"{service} is not up after {timeout} s: {found}")
            time.sleep(0.1)

    def logs(self, service: str) -> str:
        return (self.data_dir / "logs" / f"{service}.log").read_text(errors="replace")

    def admin_token(self) -> str:
        answer = httpx.post(
            self.gateway + "/api/auth/login",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


@contextmanager
def running_system(
    server_dsn: str,
    tmp: Path,
    *,
    amqp_url: str | None,
    sweep_interval: float = 0.5,
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningSystem]:
    tag = secrets.token_hex(4)
    name, prefix = f"acougue_e{tag}", f"acougue_e{tag}_"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin_dsn = _with_database(server_dsn, name)
    state_file = tmp / "state.json"
    env = {
        **os.environ,
        "DATABASE_URL": admin_dsn,
        "PORT": "0",
        "ACOUGUE_HOST": "127.0.0.1",
        "ACOUGUE_BASE_PORT": "0",
        "ACOUGUE_DATA_DIR": str(tmp / "data"),
        "ACOUGUE_RUN_STATE": str(state_file),
        "ACOUGUE_ADMIN_PASSWORD": BOOTSTRAP_PASSWORD,
        "ACOUGUE_SWEEP_INTERVAL": str(sweep_interval),
        "ACOUGUE_DB_ROLE_PREFIX": prefix,
        "BROKER_RESOURCE_PREFIX": f"e2e{tag}.",
    }
    env.update(extra_env or {})
    env.pop("AMQP_URL", None)
    if amqp_url:
        env["AMQP_URL"] = amqp_url
    log_path = tmp / "runner.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tooling.runner"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while not state_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the system did not start:\n" + log_path.read_text())
            time.sleep(0.1)
        state = json.loads(state_file.read_text())
        system = RunningSystem(state, process, tmp / "data", admin_dsn, state_file)
        complete_first_login(system.gateway)
        yield system
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            for domain in database_domains(load_topology()):
                conn.execute(
                    sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(prefix + domain))
                )
        if amqp_url:
            _delete_rabbitmq_resources(amqp_url, f"e2e{tag}.")


def _delete_rabbitmq_resources(amqp_url: str, prefix: str) -> None:
    """Remove the exchanges and queues this run declared, as the broker lays them out."""
    import asyncio

    import aio_pika

    from tooling.broker.rabbitmq_layout import Layout, delete
    from tooling.broker.settings import BrokerSettings
    from tooling.broker.wiring import wire

    topology = load_topology()
    settings = BrokerSettings(
        amqp_url=amqp_url,
        resource_prefix=prefix,
        service_urls={name: "http://127.0.0.1:1" for name in topology.services},
        ingress_authentication="off",  # only the layout is needed here, no ingress
    )
    layout = Layout(prefix, wire(settings, topology))

    async def cleanup() -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            await delete(await connection.channel(), layout)

    asyncio.run(cleanup())


def complete_first_login(gateway: str, *, timeout: float = 30.0) -> None:
    """The bootstrap admin's forced password change, as the shop's owner makes it at the
    first login: BOOTSTRAP_PASSWORD becomes ADMIN_PASSWORD (a no-op once it is)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            login = httpx.post(
                gateway + "/api/auth/login",
                json={"username": "admin", "password": BOOTSTRAP_PASSWORD},
                timeout=10,
            )
        except httpx.TransportError:
            login = None
        if login is not None and login.status_code in (200, 401):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"cannot log in as the bootstrap admin: {login and login.text}")
        time.sleep(0.2)
    if login.status_code == 401:
        return  # changed already (a system started again on the same database)
    assert login.json()["password_change_required"] is True, login.text
    changed = httpx.post(
        gateway + "/api/auth/password",
        json={"current_password": BOOTSTRAP_PASSWORD, "new_password": ADMIN_PASSWORD},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )
    if changed.status_code != 200:
        raise RuntimeError(f"cannot change the bootstrap admin's password: {changed.text}")


def wait_for(predicate: Any, *, timeout: float = 20.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s")
        time.sleep(interval)
