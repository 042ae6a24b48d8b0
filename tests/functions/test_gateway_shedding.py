"""Past capacity the gateway sheds instead of queueing without bound (issue 16).

The real gateway (`python -m functions.gateway`, its own process) in front of a real
upstream (uvicorn in this process) that stands in for every function: it serves auth's
keys and session check at once, and holds every sale until the test lets it go. So the
test counts rather than times: while the sales are held, the requests past the gate's
bounds must already be answered (503 + Retry-After, problem+json), the upstream must have
seen exactly the admitted ones, and a read to another function must still pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.gateway.settings import REQUIRED_SERVICES
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenIssuer, load_private_key
from shared.auth.tokens import generate_private_key_pem as new_key
from tests.support.servers import free_port, serve
from tests.support.system import wait_for

REPO = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"
IN_FLIGHT = 2  # complete-sale's bound in these tests
WAITING = 3  # the line before each function
BURST = 20
SALE = {
    "items": [{"product_id": str(uuid.uuid4()), "quantity": "1.000"}],
    "payment": {"method": "pix"},
}


@dataclass
class Upstream:
    """Every function at one address. Sales wait for `release`; all else answers at once."""

    issuer: TokenIssuer
    release: threading.Event = field(default_factory=threading.Event)
    sales: list[str] = field(default_factory=list)  # Idempotency-Keys, in arrival order
    reads: int = 0
    checks: int = 0  # session checks (POST /api/auth/check)

    def app(self) -> Starlette:
        async def jwks(_: Request) -> Response:
            return JSONResponse(self.issuer.jwks())

        async def check(_: Request) -> Response:
            self.checks += 1
            return Response(status_code=204)

        async def sale(request: Request) -> Response:
            key = request.headers["idempotency-key"]
            self.sales.append(key)
            # `release` is set from the test's thread: a threading.Event, polled.
            while not self.release.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            return JSONResponse({"id": key, "status": "pending_payment"}, status_code=201)

        async def products(_: Request) -> Response:
            self.reads += 1
            return JSONResponse({"items": []})

        return Starlette(
            routes=[
                Route("/.well-known/jwks.json", jwks),
                Route("/api/auth/check", check, methods=["POST"]),
                Route("/api/sales", sale, methods=["POST"]),
                Route("/api/products", products),
            ]
        )


@dataclass
class Gateway:
    url: str
    upstream: Upstream
    headers: dict[str, str]


@contextmanager
def running_gateway(log_file: Path, *, max_wait: float) -> Iterator[Gateway]:
    """The real gateway, complete-sale bounded to IN_FLIGHT in flight and WAITING in line."""
    issuer = TokenIssuer(
        load_private_key(new_key()), issuer="acougue-auth", audience="acougue", ttl_seconds=600
    )
    upstream = Upstream(issuer)
    token = issuer.issue(Principal(str(uuid.uuid4()), "caixa", Role.VENDEDOR, version=1)).token
    with serve(upstream.app()) as upstream_url:
        port = free_port()
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PYTHONPATH": str(REPO),
            "DD_TRACE_ENABLED": "false",
            "AUTH_JWKS_URL": upstream_url + "/.well-known/jwks.json",
            "GATEWAY_SERVICES": json.dumps({name: upstream_url for name in REQUIRED_SERVICES}),
            # Roomy for every function but complete-sale: the burst's session checks
            # (auth's gate) all pass, so every shed request is complete-sale's.
            "GATEWAY_MAX_IN_FLIGHT": "64",
            "GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION": json.dumps({"complete-sale": IN_FLIGHT}),
            "GATEWAY_MAX_WAITING": str(WAITING),
            "GATEWAY_MAX_WAIT_SECONDS": str(max_wait),
        }
        for name in ("K_SERVICE", "GATEWAY_PUBLIC_DOCS"):
            env.pop(name, None)
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "functions.gateway"],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                wait_for(
                    lambda: _answers(url + "/healthz") or process.poll() is not None, timeout=60
                )
                assert process.poll() is None, log_file.read_text()[-3000:]
                yield Gateway(url, upstream, {"Authorization": f"Bearer {token}"})
            finally:
                upstream.release.set()
                process.terminate()
                process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _assert_shed(answer: httpx.Response) -> None:
    assert answer.status_code == 503, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"] == PROBLEM
    retry_after = answer.headers["retry-after"]
    assert retry_after.isdigit(), retry_after  # whole seconds (RFC 9110)
    assert int(retry_after) >= 1, retry_after
    problem = answer.json()
    assert problem["status"] == 503
    assert problem["code"] == "overloaded"
    assert "complete-sale" in problem["detail"]


async def _until(predicate: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_burst_past_capacity_is_shed_at_once_and_never_reaches_the_function(
    tmp_path: Path,
) -> None:
    # A wait budget no admitted request runs out of on a loaded machine: the deadline has
    # its own test.
    with running_gateway(tmp_path / "gateway.log", max_wait=30) as gateway:
        await _burst(gateway)


async def _burst(gateway: Gateway) -> None:
    admitted = IN_FLIGHT + WAITING
    keys = [f"burst-{n}-{uuid.uuid4()}" for n in range(BURST)]
    limits = httpx.Limits(max_connections=BURST + 5)
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=gateway.headers, timeout=60, limits=limits
    ) as client:

        async def sell(key: str) -> tuple[str, httpx.Response]:
            answer = await client.post("/api/sales", json=SALE, headers={"Idempotency-Key": key})
            return key, answer

        pending = [asyncio.create_task(sell(key)) for key in keys]
        upstream = gateway.upstream

        # The function holds every sale it gets: all that the gateway did not admit must be
        # answered meanwhile, and only the admitted ones may have reached the function.
        shed: dict[str, httpx.Response] = {}

        def all_shed() -> bool:
            shed.update(t.result() for t in pending if t.done())
            return len(shed) >= BURST - admitted

        await _until(all_shed)
        assert len(shed) == BURST - admitted, {k: a.status_code for k, a in shed.items()}
        for answer in shed.values():
            _assert_shed(answer)
        await _until(lambda: len(upstream.sales) >= IN_FLIGHT)
        await asyncio.sleep(0.2)  # room for a wrongly admitted request to arrive
        assert len(upstream.sales) == IN_FLIGHT, upstream.sales
        assert not set(upstream.sales) & set(shed)

        # Once the gate is full, a sale is shed on arrival: not even its session is checked.
        checked = upstream.checks
        _assert_shed((await sell("one-more"))[1])
        assert upstream.checks == checked
        assert "one-more" not in upstream.sales

        # Another function's reads are not held up by the sales' line.
        read = await client.get("/api/products")
        assert read.status_code == 200, read.text
        assert upstream.reads == 1

        # Let the function go: the ones in flight and the ones in line all succeed.
        upstream.release.set()
        done = dict(await asyncio.gather(*pending))
        accepted = {k for k, a in done.items() if a.status_code == 201}
        assert len(accepted) == admitted, {k: a.status_code for k, a in done.items()}
        assert set(done) - accepted == set(shed)
        assert sorted(upstream.sales) == sorted(accepted)  # each once, none shed

        # A shed sale is safe to send again with its key: the function sees it for the
        # first time now.
        again = next(iter(shed))
        retried = await client.post("/api/sales", json=SALE, headers={"Idempotency-Key": again})
        assert retried.status_code == 201, retried.text
        assert upstream.sales.count(again) == 1


async def test_a_request_that_waits_past_the_budget_is_shed_unsent(tmp_path: Path) -> None:
    """The line's deadline: with the function holding the sales in flight, the one waiting
    behind them gets its 503 once GATEWAY_MAX_WAIT_SECONDS have passed, and the function
    never sees it."""
    with running_gateway(tmp_path / "gateway.log", max_wait=0.5) as gateway:
        upstream = gateway.upstream
        async with httpx.AsyncClient(
            base_url=gateway.url, headers=gateway.headers, timeout=60
        ) as client:

            async def sell(key: str) -> httpx.Response:
                return await client.post("/api/sales", json=SALE, headers={"Idempotency-Key": key})

            held = [asyncio.create_task(sell(f"held-{n}")) for n in range(IN_FLIGHT)]
            await _until(lambda: len(upstream.sales) == IN_FLIGHT)
            late = await sell("late")  # in line: no slot frees while the function holds
            _assert_shed(late)
            assert not any(task.done() for task in held)  # shed by the deadline, not a slot
            assert "late" not in upstream.sales
            upstream.release.set()
            assert [answer.status_code for answer in await asyncio.gather(*held)] == [201] * 2
        assert sorted(upstream.sales) == [f"held-{n}" for n in range(IN_FLIGHT)]
