"""Admission to the functions: past capacity the gateway sheds a request at once (503,
`Retry-After`, problem+json) instead of queueing it without bound.

Each function behind the gateway has a gate of its own (so a flood of sales never holds
up the catalogue's or the reports' reads): at most `limit` requests in flight to it, as
Knative's `containerConcurrency` or Envoy's circuit breaker `max_requests`; past that, up
to `depth` requests wait in line (Envoy's `max_pending_requests`, the activator's bounded
queue), first come first served, each at most `max_wait` seconds. A newcomer is shed at
once when the line is full, or when the wait it faces is already known to exceed
`max_wait`: with `limit` requests in flight, each taking the function's recent latency, a
slot frees every latency / `limit` seconds (Little's law), so the line ahead of it drains
in (its length + 1) of those. So under overload the line holds only what the function can
serve within the budget, and everyone else learns it at once rather than after a wait that
ends in 503 anyway. The gateway also asks the gate as soon as a request arrives, so one
that is doomed costs no token check, no session check at auth and no body read.

A shed request never reaches the function: the slot is taken before the request is sent,
so a client can repeat it (with the same Idempotency-Key) and nothing happens twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass

from shared.errors import Problem
from shared.metrics import metrics

log = logging.getLogger("acougue.gateway.admission")

# The code a shed request's problem carries, for clients (the UI) to tell "not done, try
# again" from any other 503.
OVERLOADED = "overloaded"
# How far a Retry-After may point: a shop's counter retries within seconds, not minutes.
MAX_RETRY_AFTER_SECONDS = 30
# Weight of the newest request in a gate's latency estimate (an EWMA): recent enough to
# follow a function slowing down, smooth enough that one slow request does not shed a line.
LATENCY_WEIGHT = 0.2
MICROSECONDS = 1_000_000
# At most one log line per gate per this many seconds, with how many were shed since.
LOG_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class Limits:
    """One gate's bounds: requests in flight, requests waiting, seconds one may wait."""

    limit: int
    depth: int
    max_wait: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.depth < 0 or not 0 < self.max_wait < math.inf:
            raise ValueError(f"invalid admission limits {self}")


def shed_problem(service: str, retry_after: int) -> Problem:
    return Problem(
        503,
        f"The {service} function is at capacity; the request was not sent to it."
        f" Try again in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
        code=OVERLOADED,
    )


class Gate:
    """The admission of requests to one function (one event loop's: not thread-safe)."""

    def __init__(self, service: str, limits: Limits) -> None:
        self.service = service
        self.limits = limits
        self.in_flight = 0
        # EWMA of recent requests' durations in whole microseconds, once known.
        self.latency_us: int | None = None
        self.shed = 0  # requests shed since the gate was made
        self._line: deque[asyncio.Future[None]] = deque()
        self._logged_at = -math.inf
        self._logged_shed = 0

    @property
    def waiting(self) -> int:
        return len(self._line)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Holds one of the gate's slots for the block, or raises the 503 problem without
        running it."""
        await self._acquire()
        started = time.monotonic()
        try:
            yield
        finally:
            self._release()
            self._observe(time.monotonic() - started)

    def expected_wait(self, ahead: int) -> float | None:
        """Seconds until a request with `ahead` requests before it in line gets a slot,
        from the recent latency (None before any request has finished)."""
        if self.latency_us is None:
            return None
        return (ahead + 1) * self.latency_us / MICROSECONDS / self.limits.limit

    def retry_after(self) -> int:
        """Whole seconds (RFC 9110) after which the line ahead has likely drained."""
        expected = self.expected_wait(self.waiting)
        seconds = self.limits.max_wait if expected is None else expected
        return max(1, min(MAX_RETRY_AFTER_SECONDS, math.ceil(seconds)))

    def full(self) -> bool:
        """Whether a request arriving now would be shed at once: no free slot, and no room
        in line or no chance of a slot within the budget."""
        if self.in_flight < self.limits.limit and not self._line:
            return False
        expected = self.expected_wait(self.waiting)
        return self.waiting >= self.limits.depth or (
            expected is not None and expected > self.limits.max_wait
        )

    def refuse_if_full(self) -> None:
        """Raises the 503 problem now if the gate is full: the gateway asks this as soon as
        a request arrives, so that one doomed to be shed costs no token check, no session
        check at auth and no body. The gate itself still decides when the request comes."""
        if self.full():
            raise self._shed()

    async def _acquire(self) -> None:
        if self.in_flight < self.limits.limit and not self._line:
            self.in_flight += 1
            return
        if self.full():
            raise self._shed()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            async with asyncio.timeout(self.limits.max_wait):
                await turn
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                return  # the slot came as the budget ran out: it is ours
            self._leave(turn)
            raise self._shed() from None
        except BaseException:  # the caller went away (cancelled) while waiting
            if turn.done() and not turn.cancelled():
                self._release()  # handed a slot it will not use: pass it on
            else:
                self._leave(turn)
            raise

    def _release(self) -> None:
        """The slot goes to the first in line still waiting, else back to the gate."""
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.in_flight -= 1

    def _leave(self, turn: asyncio.Future[None]) -> None:
        with suppress(ValueError):
            self._line.remove(turn)
        turn.cancel()

    def _observe(self, seconds: float) -> None:
        micros = round(seconds * MICROSECONDS)
        if self.latency_us is None:
            self.latency_us = micros
        else:
            self.latency_us += round(LATENCY_WEIGHT * (micros - self.latency_us))

    def _shed(self) -> Problem:
        self.shed += 1
        metrics().increment("gateway.shed", tags={"function": self.service})
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            log.warning(
                "shedding requests to %s: at capacity",
                self.service,
                extra={
                    "upstream": self.service,
                    "shed": self.shed - self._logged_shed,
                    "in_flight": self.in_flight,
                    "waiting": self.waiting,
                    "latency_us": self.latency_us,
                },
            )
            self._logged_at, self._logged_shed = now, self.shed
        return shed_problem(self.service, self.retry_after())


class Admission:
    """One gate per function, each with its own limits."""

    def __init__(self, limits: Mapping[str, Limits]) -> None:
        self.gates = {service: Gate(service, bounds) for service, bounds in limits.items()}

    def slot(self, service: str) -> AbstractAsyncContextManager[None]:
        return self.gates[service].slot()

    def refuse_if_full(self, service: str) -> None:
        self.gates[service].refuse_if_full()

    @property
    def total_limit(self) -> int:
        return sum(gate.limits.limit for gate in self.gates.values())
