"""The gateway's admission gate (functions/gateway/admission.py) and its settings: a
bounded number in flight, a bounded line, a deadline on the wait, and a newcomer who
would wait past the deadline shed at once. The real gateway in front of a real upstream
is tests/functions/test_gateway_shedding.py."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from pydantic import ValidationError

import shared.metrics
from functions.gateway.admission import OVERLOADED, Gate, Limits
from functions.gateway.routes import FunctionOf
from functions.gateway.settings import REQUIRED_SERVICES, GatewaySettings
from shared.contracts.endpoints import PUBLIC_ENDPOINTS
from shared.errors import Problem


@asynccontextmanager
async def held(gate: Gate) -> AsyncIterator[AbstractAsyncContextManager[None]]:
    """A slot taken now and given back when the block ends."""
    slot = gate.slot()
    await slot.__aenter__()
    try:
        yield slot
    finally:
        await slot.__aexit__(None, None, None)


async def _take(gate: Gate, order: list[str], name: str, go: asyncio.Event) -> None:
    async with gate.slot():
        order.append(name)
        await go.wait()


def _is_shed(problem: Problem, retry_after: str) -> None:
    assert problem.status == 503
    assert problem.extra["code"] == OVERLOADED
    assert problem.headers == {"Retry-After": retry_after}


async def test_past_the_line_a_request_is_shed_at_once_and_the_line_goes_in_order() -> None:
    gate = Gate("complete-sale", Limits(limit=1, depth=2, max_wait=30))
    order: list[str] = []
    go = asyncio.Event()
    async with held(gate):
        waiting = [asyncio.create_task(_take(gate, order, "b", go))]
        await asyncio.sleep(0)
        gate.refuse_if_full()  # room in line: not refused on arrival
        waiting.append(asyncio.create_task(_take(gate, order, "c", go)))
        await asyncio.sleep(0)
        assert (gate.in_flight, gate.waiting) == (1, 2)
        with pytest.raises(Problem) as early:  # on arrival, before any token check
            gate.refuse_if_full()
        _is_shed(early.value, "30")  # no latency known yet: the budget itself
        with pytest.raises(Problem) as shed:
            await gate.slot().__aenter__()
        _is_shed(shed.value, "30")
        assert order == []
    go.set()
    await asyncio.gather(*waiting)
    assert order == ["b", "c"]
    assert (gate.in_flight, gate.waiting, gate.shed) == (0, 0, 2)


async def test_a_wait_that_outlasts_the_budget_ends_in_503_and_frees_its_place() -> None:
    gate = Gate("complete-sale", Limits(limit=1, depth=5, max_wait=0.05))
    async with held(gate):
        with pytest.raises(Problem) as shed:
            async with gate.slot():
                raise AssertionError("admitted past the deadline")
        _is_shed(shed.value, "1")  # whole seconds, at least 1
        assert gate.waiting == 0
    assert gate.in_flight == 0


async def test_a_newcomer_who_would_wait_past_the_budget_is_shed_without_waiting() -> None:
    gate = Gate("complete-sale", Limits(limit=1, depth=10, max_wait=1.0))
    gate.latency_us = 600_000  # 0.6 s per request, recently
    go = asyncio.Event()
    async with held(gate):
        first = asyncio.create_task(_take(gate, [], "first", go))  # waits ~0.6 s: in line
        await asyncio.sleep(0)
        assert gate.waiting == 1
        with pytest.raises(Problem) as shed:  # would wait ~1.2 s: shed now
            await gate.slot().__aenter__()
        _is_shed(shed.value, "2")  # the line ahead drains in ~1.2 s
    go.set()
    await first


async def test_a_caller_who_leaves_the_line_takes_no_slot_with_it() -> None:
    gate = Gate("complete-sale", Limits(limit=1, depth=5, max_wait=30))
    go = asyncio.Event()
    async with held(gate):
        gone = asyncio.create_task(_take(gate, [], "gone", go))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        assert gate.waiting == 0
    assert gate.in_flight == 0
    # Handed a slot and cancelled before it could use it: the slot goes on to the next.
    order: list[str] = []
    slot = gate.slot()
    await slot.__aenter__()
    handed = asyncio.create_task(_take(gate, order, "handed", go))
    nxt = asyncio.create_task(_take(gate, order, "next", go))
    await asyncio.sleep(0)
    await slot.__aexit__(None, None, None)  # gives the slot to `handed`...
    handed.cancel()  # ...which goes away before it runs
    await asyncio.sleep(0.01)
    assert order == ["next"]
    assert (gate.in_flight, gate.waiting) == (1, 0)
    go.set()
    await asyncio.gather(handed, nxt, return_exceptions=True)
    assert gate.in_flight == 0


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> GatewaySettings:
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")
    monkeypatch.setenv("GATEWAY_SERVICES", json.dumps(dict.fromkeys(REQUIRED_SERVICES, "http://x")))
    for name in (
        "GATEWAY_MAX_IN_FLIGHT",
        "GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION",
        "GATEWAY_MAX_WAITING",
        "GATEWAY_MAX_WAIT_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return GatewaySettings()


def test_every_function_gets_a_gate_with_the_defaults_or_its_own_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gates = _settings(monkeypatch).admission_limits()
    assert set(gates) == set(REQUIRED_SERVICES)
    assert set(gates.values()) == {Limits(limit=8, depth=32, max_wait=2.0)}
    own = _settings(monkeypatch, GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION='{"finance-report": 2}')
    assert own.admission_limits()["finance-report"] == Limits(limit=2, depth=32, max_wait=2.0)
    assert own.admission_limits()["complete-sale"].limit == 8


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_MAX_IN_FLIGHT", "0"),
        ("GATEWAY_MAX_IN_FLIGHT", "many"),
        ("GATEWAY_MAX_WAITING", "-1"),
        ("GATEWAY_MAX_WAIT_SECONDS", "0"),
        ("GATEWAY_MAX_WAIT_SECONDS", "nan"),
        ("GATEWAY_MAX_WAIT_SECONDS", "inf"),
        ("GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION", '{"complete-sale": 0}'),
        ("GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION", '{"complete-sales": 4}'),
        ("GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION", "[4]"),
    ],
)
def test_a_bad_bound_stops_the_gateway_from_starting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ValidationError, match=f"(?i){name}"):
        _settings(monkeypatch, **{name: value})


_SAMPLE = {"uuid": "0b0e5d8e-4a64-4c55-9d46-5b1f1f0f6a61", "str": "x", "int": "1"}


def test_each_request_is_counted_against_the_function_its_route_forwards_to() -> None:
    """The gate a request is refused by on arrival is its endpoint's function's."""
    function_of = FunctionOf()
    for endpoint in PUBLIC_ENDPOINTS:
        path = endpoint.public_path
        for name, kind in endpoint.path_params.items():
            path = path.replace(f"{{{name}}}", _SAMPLE[kind])
        assert function_of(endpoint.method, path) == endpoint.function, (endpoint.key, path)
    assert function_of("POST", "/api/sales") == "complete-sale"
    assert function_of("HEAD", "/api/products") == "catalog-query"
    assert function_of("GET", "/api/sales/1/2/3") is None
    assert function_of("GET", "/static/js/app.js") is None
    assert function_of("DELETE", "/api/sales") is None


async def test_every_shed_request_is_counted_for_its_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`acougue.gateway.shed` reaches DogStatsD (a real UDP socket) once per shed request,
    tagged with the function, so a monitor can see a function at capacity."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(5)
        monkeypatch.setenv("DD_DOGSTATSD_URL", f"udp://127.0.0.1:{agent.getsockname()[1]}")
        monkeypatch.setattr(shared.metrics, "_metrics", None)
        gate = Gate("complete-sale", Limits(limit=1, depth=0, max_wait=30))
        async with held(gate):
            for _ in range(2):
                with pytest.raises(Problem):
                    gate.refuse_if_full()
        got = [agent.recv(4096).decode() for _ in range(2)]
    monkeypatch.setattr(shared.metrics, "_metrics", None)
    assert all(d.startswith("acougue.gateway.shed:1|c|#") for d in got), got
    assert all("function:complete-sale" in d for d in got), got
