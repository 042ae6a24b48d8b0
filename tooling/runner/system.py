"""Starts and stops the whole system: database, functions, broker, gateway, sweeps."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from contextlib import AsyncExitStack, ExitStack
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import httpx

from functions.auth.bootstrap import ensure_admin
from shared.auth.tokens import generate_private_key_pem
from shared.db.migrations import Domain, provision, role_name
from shared.events.envelope import PING_TYPE
from tooling.manifests import (
    REPO_ROOT,
    Destination,
    PingSpec,
    ServiceSpec,
    Topology,
    load_topology,
)
from tooling.runner import connections, pings
from tooling.runner.database import EmbeddedPostgres, role_dsn
from tooling.runner.identities import Identities
from tooling.runner.processes import ManagedProcess
from tooling.runner.scaling import Scaler, Unit, listening_socket, policy_of
from tooling.runner.settings import RunnerSettings
from tooling.runner.status import serving_status
from tooling.runner.warm import template

log = logging.getLogger("acougue.runner")
NAMESPACE = "acougue-system"
_CLUSTER_URL = re.compile(r"http://([a-z0-9-]+)\." + NAMESPACE + r"\.svc\.cluster\.local")
_DB_SECRET = re.compile(r"^acougue-db-([a-z]+)$")
# Variables whose local value the runner decides (wiring), whatever the environment says.
RUNNER_OWNED = frozenset(
    {
        "FUNCTION_TARGET",
        "FUNCTION_SOURCE",
        "AUTH_JWKS_URL",
        "GATEWAY_SERVICES",
        "DD_SERVICE",
        "EVENT_AUTHENTICATION",
        "EVENT_JWKS_URL",
        "EVENT_IDENTITY_KEY_FILE",
    }
)


# What a function inherits from the runner's environment besides the variables its
# manifest names: the OS basics, Python's own switches and the Datadog tracer's settings
# (where the shop's agent is). Nothing else (no DATABASE_URL, AMQP_URL, other functions'
# settings): a function sees what its Knative Service would give it.
_INHERITED = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "VIRTUAL_ENV"})
_INHERITED_PREFIXES = ("LC_", "DD_", "PYTHON", "SSL_CERT_")
# The fault suite's crash-after-commit hook: under tests/, which no image carries.
FAULT_INJECTION = REPO_ROOT / "tests" / "faults" / "inject"


def _inherited(name: str) -> bool:
    return name in _INHERITED or name.startswith(_INHERITED_PREFIXES)


def function_argv() -> list[str]:
    """How the runner (and the benchmarks) start one function's server process."""
    return [sys.executable, "-m", "shared.server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class PortPlan:
    """Ports from ACOUGUE_BASE_PORT upwards (skipping taken ones), or any free ones.

    Never the same port twice: the processes bind them only later, so the OS may offer a
    port it offered before (two functions on one port: the gateway's calls to one would
    reach the other).
    """

    def __init__(self, base: int) -> None:
        self._next = base
        self._given: set[int] = set()

    def take(self) -> int:
        if self._next == 0:
            return self.free()
        while self._next in self._given or not _port_free(self._next):
            self._next += 1
        port = self._next
        self._next += 1
        self._given.add(port)
        return port

    def free(self) -> int:
        """Any free port not given before."""
        port = free_port()
        while port in self._given:
            port = free_port()
        self._given.add(port)
        return port

    def reserve(self, port: int) -> int:
        """A fixed port (the gateway's PORT): never given to another process."""
        self._given.add(port)
        return port


def git_revision() -> str | None:
    """The checkout's short revision (DD_VERSION of every process), when git can say."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, on purpose
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = found.stdout.strip()
    return revision if found.returncode == 0 and revision else None


def database_domains(topology: Topology) -> list[str]:
    found = {
        match.group(1)
        for svc in topology.services.values()
        for ref in svc.secret_env.values()
        if (match := _DB_SECRET.match(ref.secret))
    }
    return sorted(found)


def load_signing_key(settings: RunnerSettings) -> str:
    if settings.auth_signing_key:
        return settings.auth_signing_key.get_secret_value()
    path = settings.data_dir / "keys" / "signing-key.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_private_key_pem())
    return path.read_text()


class System:
    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.topology = load_topology(settings.manifests_root)
        self.processes: dict[str, ManagedProcess] = {}
        self.urls: dict[str, str] = {}
        self.startup_seconds: dict[str, float] = {}
        self._stopping = asyncio.Event()
        self._secrets: dict[tuple[str, str], str] = {}
        self.scaler: Scaler | None = None
        self._announced = False  # the state file appears once the whole system is up
        self.version = os.environ.get("DD_VERSION") or git_revision() or "dev"

    # -- wiring -------------------------------------------------------------------------
    @cached_property
    def identities(self) -> Identities:
        functions = [s.name for s in self.topology.services.values() if s.function_target]
        return Identities(self.settings.data_dir, functions)

    def _resolve(self, dest: Destination) -> str:
        if dest.service:
            base = self.urls[dest.service]
            return base + (dest.uri or "") if dest.uri and dest.uri.startswith("/") else base
        assert dest.uri is not None
        return dest.uri

    def _service_env(self, svc: ServiceSpec, port: int, broker_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if _inherited(k)}
        for name, value in svc.env.items():
            if name in os.environ and name not in RUNNER_OWNED:
                env[name] = os.environ[name]  # the manifest's value is a default: the shop's
                continue  # own setting wins
            env[name] = _CLUSTER_URL.sub(lambda m: self.urls[m.group(1)], value)
        # The cluster's node-local Agent Service is, here, an Agent on this machine.
        if "DD_AGENT_HOST" in svc.env:
            env["DD_AGENT_HOST"] = os.environ.get("DD_AGENT_HOST", "127.0.0.1")
        for name, ref in svc.secret_env.items():
            secret = self._secrets.get((ref.secret, ref.key))
            if secret is None and not ref.optional:
                raise RuntimeError(f"{svc.name}: no local value for secret {ref.secret}/{ref.key}")
            if secret is not None:
                env[name] = secret
        for name, path in svc.field_env.items():
            if path == "status.hostIP":  # the node's Datadog Agent, here this machine's
                env[name] = os.environ.get(name, "127.0.0.1")
        env.update(
            PORT=str(port),
            HOST="127.0.0.1" if svc.function_target else self.settings.host,
            K_SINK=broker_url,
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUNBUFFERED="1",
        )
        chaos = self.settings.chaos_exit_after_commit > 0 or self.settings.chaos_exit_every > 0
        if svc.function_target and chaos:
            chosen = self.settings.chaos_functions
            if not chosen or svc.name in chosen:
                env["CHAOS_EXIT_AFTER_COMMIT"] = str(self.settings.chaos_exit_after_commit)
                env["CHAOS_EXIT_EVERY"] = str(self.settings.chaos_exit_every)
                env["PYTHONPATH"] = os.pathsep.join((str(FAULT_INJECTION), str(REPO_ROOT)))
        if svc.function_target:  # the local broker authenticates both ways
            env.update(
                EVENT_AUTHENTICATION="required",
                EVENT_JWKS_URL=f"{self.urls['broker']}/.well-known/jwks.json",
                EVENT_IDENTITY_KEY_FILE=str(self.identities.key_of(svc.name)),
            )
        env.update(self._unified_tags(svc.name))
        return env

    def _unified_tags(self, service: str) -> dict[str, str]:
        """Datadog's unified service tags: the function's name, `local` (or DD_ENV) and the
        git revision (or DD_VERSION) instead of the manifests' cluster values."""
        return {
            "DD_SERVICE": service,
            "DD_ENV": os.environ.get("DD_ENV", "local"),
            "DD_VERSION": self.version,
        }

    def _argv(self, svc: ServiceSpec) -> list[str]:
        if svc.function_target:
            return function_argv()
        if svc.command and svc.command[0] == "python":
            return [sys.executable, *svc.command[1:]]
        raise RuntimeError(f"{svc.name}: neither FUNCTION_TARGET nor a python command")

    # -- lifecycle ----------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        async with AsyncExitStack() as stack_async:
            return await self._run(stack_async)

    async def _run(self, stack_async: AsyncExitStack) -> int:
        with ExitStack() as stack:
            admin_dsn, db_label = self._database(stack)
            generated = await self._provision(admin_dsn)
            warning = connections.shortfall_warning(
                connections.limit_needed(self.topology.services.values()),
                await connections.server_allows(admin_dsn),
            )
            if warning:
                print(warning, file=sys.stderr, flush=True)
            try:
                await self._start_all()
            except Exception as exc:
                print(f"\nStart failed: {exc}", file=sys.stderr, flush=True)
                self._stop_all()
                return 1
            port = int(self.urls["status"].rsplit(":", 1)[1])
            await stack_async.enter_async_context(serving_status(self.status, port))
            self._announced = True
            self._write_state()
            self._banner(db_label, generated)
            assert self.scaler is not None
            tasks = [
                asyncio.create_task(self._supervise()),
                asyncio.create_task(self.scaler.run()),
                *(asyncio.create_task(self._ping_loop(p)) for p in self.topology.pings),
            ]
            if os.environ.get("ACOUGUE_DEMO") == "1":
                tasks.append(asyncio.create_task(self._seed_demo(generated)))
            await self._stopping.wait()
            print("\nStopping…", flush=True)
            for task in tasks:
                task.cancel()
            await self.scaler.close()
            self._stop_all()
        print("Stopped.", flush=True)
        return 0

    async def _seed_demo(self, generated_password: str | None) -> None:
        """ACOUGUE_DEMO=1: a butcher's catalogue, stock and sales, through the public API
        (once: a second run finds the demo products and does nothing)."""
        admin = self.settings.acougue_admin_password
        password = generated_password or (admin.get_secret_value() if admin else None)
        if not password:
            print("Demo not seeded: set ACOUGUE_ADMIN_PASSWORD so the seed can log in.", flush=True)
            return
        from tooling.demo import DemoError, seed

        try:
            changed = await seed(self.urls["gateway"], password)
        except DemoError as exc:
            print(f"Demo not seeded: {exc}", flush=True)
            return
        print("Demo data ready.", flush=True)
        if changed:  # the seed had to make the first login's password change
            print(f"  The admin's password is now: {changed}", flush=True)

    def _database(self, stack: ExitStack) -> tuple[str, str]:
        if self.settings.database_url:
            return self.settings.database_url.get_secret_value(), "PostgreSQL at DATABASE_URL"
        embedded = stack.enter_context(EmbeddedPostgres(self.settings.data_dir))
        # Every function up and busy fills its pool: the server must take them all (plus
        # the 3 slots PostgreSQL keeps for superusers by default).
        needed = connections.limit_needed(self.topology.services.values())
        embedded.ensure_max_connections(needed + 3)
        return embedded.url, f"embedded PostgreSQL in {embedded.pgdata}"

    async def _provision(self, admin_dsn: str) -> str | None:
        domains = database_domains(self.topology)
        passwords = {d: secrets.token_urlsafe(18) for d in domains}
        await provision(
            admin_dsn,
            [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in domains],
            role_prefix=self.settings.role_prefix,
            passwords=passwords,
        )
        for domain in domains:
            dsn = role_dsn(
                admin_dsn, role_name(self.settings.role_prefix, domain), passwords[domain]
            )
            self._secrets[(f"acougue-db-{domain}", "url")] = dsn
        self._secrets[("acougue-auth-keys", "signing-key.pem")] = load_signing_key(self.settings)
        admin_password = self.settings.acougue_admin_password
        if admin_password:
            self._secrets[("acougue-admin", "password")] = admin_password.get_secret_value()
        return await ensure_admin(
            admin_dsn, admin_password.get_secret_value() if admin_password else None
        )

    async def _start_all(self) -> None:
        ports = PortPlan(self.settings.base_port)
        if self.settings.port:
            ports.reserve(self.settings.port)
        functions = [s for s in self.topology.services.values() if s.function_target]
        others = [s for s in self.topology.services.values() if not s.function_target]
        for svc in functions:
            self.urls[svc.name] = f"http://127.0.0.1:{ports.take()}"
        for svc in others:
            gateway = svc.name == "gateway"
            port = (self.settings.port or ports.free()) if gateway else ports.take()
            self.urls[svc.name] = f"http://127.0.0.1:{port}"
        broker_port = ports.take()
        self.urls["status"] = f"http://127.0.0.1:{ports.take()}"
        broker = self.topology.broker()
        self.urls["broker"] = f"http://127.0.0.1:{broker_port}"
        broker_url = f"{self.urls['broker']}/{broker.namespace}/{broker.name}"
        log_dir = self.settings.data_dir / "logs"
        run_dir = self.settings.data_dir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        warm = template()

        def managed(svc: ServiceSpec) -> ManagedProcess:
            port = int(self.urls[svc.name].rsplit(":", 1)[1])
            env = self._service_env(svc, port, broker_url)
            return ManagedProcess(
                svc.name,
                self._argv(svc),
                env,
                self.urls[svc.name],
                log_dir,
                # A function's port is the runner's: it stays open while the function is
                # at zero, so a request waits for the next process (scaling.py).
                listening_socket(port) if svc.function_target else None,
                run_dir / f"{svc.name}.activity" if svc.function_target else None,
                # Forked warm, unless the fault suite's hook must load at interpreter start.
                warm if svc.function_target and "CHAOS_EXIT_EVERY" not in env else None,
            )

        async with httpx.AsyncClient() as client:
            started = [managed(s) for s in functions]
            await self._start_group(started, client)
            self.scaler = Scaler(
                [
                    Unit(p, p.listener, policy_of(svc, self.settings.stable_window))
                    for p, svc in zip(started, functions, strict=True)
                    if p.listener is not None
                ],
                enabled=self.settings.scale_to_zero,
                start_timeout=self.settings.start_timeout,
                changed=self._write_state,
            )
            for unit in self.scaler.units.values():
                self.scaler.mark_up(unit)
            broker_env = {
                **os.environ,
                "BROKER_HOST": "127.0.0.1",
                "BROKER_PORT": str(broker_port),
                "BROKER_SERVICE_URLS": json.dumps(
                    {k: v for k, v in self.urls.items() if k not in ("broker", "status")}
                ),
                "BROKER_MANIFESTS_ROOT": str(self.settings.manifests_root),
                "BROKER_RESOURCE_PREFIX": self.settings.broker_resource_prefix,
                "BROKER_INGRESS_AUTHENTICATION": "required",
                "BROKER_PUBLISHERS_FILE": str(self.identities.publishers),
                "BROKER_SIGNING_KEY_FILE": str(self.identities.broker_key),
                "PYTHONPATH": str(REPO_ROOT),
                "PYTHONUNBUFFERED": "1",
                **self._unified_tags("broker"),
                "DD_AGENT_HOST": os.environ.get("DD_AGENT_HOST", "127.0.0.1"),
            }
            if self.settings.amqp_url:
                broker_env["AMQP_URL"] = self.settings.amqp_url.get_secret_value()
            else:
                broker_env.pop("AMQP_URL", None)
            argv = [sys.executable, "-m", "tooling.broker"]
            await self._start_group(
                [ManagedProcess("broker", argv, broker_env, self.urls["broker"], log_dir)], client
            )
            await self._start_group([managed(s) for s in others], client)

    async def _start_group(self, group: list[ManagedProcess], client: httpx.AsyncClient) -> None:
        for process in group:
            self.processes[process.name] = process
            process.start()
        timings = await asyncio.gather(
            *(p.wait_healthy(client, self.settings.start_timeout) for p in group)
        )
        for process, seconds in zip(group, timings, strict=True):
            self.startup_seconds[process.name] = round(seconds, 3)

    async def _supervise(self) -> None:
        """A crashed process is restarted, as Kubernetes restarts a crashed container."""
        while True:
            await asyncio.sleep(0.5)
            for process in self.processes.values():
                code = process.exited()
                if code is None or self._stopping.is_set() or not self.settings.restart_crashed:
                    continue
                if not process.wanted:  # scaled to zero, not crashed
                    continue
                process.restarts += 1
                log.warning(
                    "%s exited with %s; restarting (restart %d)",
                    process.name,
                    code,
                    process.restarts,
                )
                print(f"{process.name} exited with {code}; restarting", flush=True)
                process.start()
                self._write_state()

    async def _ping_loop(self, ping: PingSpec) -> None:
        """The PingSource: a `dev.knative.sources.ping` event to its sink at each of its
        schedule's times in its zone (tooling/runner/pings.py); the per-minute outbox sweep
        every sweep interval instead."""
        url = self._resolve(ping.sink)
        after = datetime.now(UTC)
        async with httpx.AsyncClient(timeout=30.0) as client:
            while True:
                if pings.on_sweep_timer(ping):
                    await asyncio.sleep(self.settings.sweep_interval)
                else:
                    due = pings.next_fire(ping, after)
                    await pings.sleep_until(due)
                    after = due  # the next time strictly after this one: never twice
                headers = {
                    "ce-specversion": "1.0",
                    "ce-id": str(uuid.uuid4()),
                    "ce-type": PING_TYPE,
                    "ce-source": f"/apis/v1/namespaces/{NAMESPACE}/pingsources/{ping.name}",
                    "content-type": "application/json",
                }
                try:
                    await client.post(url, content=ping.data.encode(), headers=headers)
                except httpx.HTTPError as exc:
                    log.warning("ping %s to %s failed: %s", ping.name, url, exc)

    def _stop_all(self) -> None:
        order = ["gateway", "broker"] + [
            n for n in self.processes if n not in ("gateway", "broker")
        ]
        for name in order:
            if name in self.processes:
                self.processes[name].stop()

    def _write_state(self) -> None:
        if not self.settings.state_file or not self._announced:
            return
        status = self.status()
        state: dict[str, Any] = {
            "urls": self.urls,
            "pids": {n: s["pid"] for n, s in status["processes"].items()},
            "processes": status["processes"],
            "startup_seconds": self.startup_seconds,
            "logs": str(self.settings.data_dir / "logs"),
            "runner_pid": os.getpid(),
        }
        tmp = self.settings.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.settings.state_file)

    def status(self) -> dict[str, Any]:
        """Which processes are up, for the runner's status endpoint and state file."""
        scaled = self.scaler.status() if self.scaler else {}
        processes = {
            name: scaled.get(name)
            or {"state": "up" if p.exited() is None else "down", "pid": p.pid, "min_scale": 1}
            | {"restarts": p.restarts}
            for name, p in self.processes.items()
        }
        return {"scale_to_zero": self.settings.scale_to_zero, "processes": processes}

    def _banner(self, db_label: str, generated_password: str | None) -> None:
        gateway = self.urls["gateway"].replace("127.0.0.1", "localhost")
        broker = "RabbitMQ (AMQP_URL)" if self.settings.amqp_url else "in-memory"
        if generated_password:
            login = (
                f"admin / {generated_password}   (generated now and shown only once: write it down)"
            )
        elif self.settings.acougue_admin_password:
            login = "admin / the password in ACOUGUE_ADMIN_PASSWORD"
        else:
            login = "admin / the password shown on the first run"
        lines = [
            "",
            "Açougue is running.",
            f"  UI and API : {gateway}/",
            f"  login      : {login}",
            f"  database   : {db_label}",
            f"  broker     : {broker}",
            f"  functions  : {len(self.processes) - 2} processes",
            f"  logs       : {self.settings.data_dir / 'logs'}",
            f"  status     : {self.urls['status']}/status   (which functions are up)",
            "Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(lines), flush=True)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "pgserver"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings = RunnerSettings()
    return asyncio.run(System(settings).run())
