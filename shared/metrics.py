"""Business and platform metrics to DogStatsD: UDP datagrams, fire-and-forget.

Where they go: `DD_DOGSTATSD_URL` (`udp://host:port`), else `DD_DOGSTATSD_HOST` (else
`DD_AGENT_HOST`, else 127.0.0.1) and `DD_DOGSTATSD_PORT` (else 8125), as ddtrace and the
Datadog Agent read them. Every metric carries the process's `service`, `env` and `version`.
A send never blocks and never raises: with no agent the datagrams are simply lost.

This is a few lines of the DogStatsD protocol rather than a client library on purpose: it
must cost nothing at a function's cold start and work with the tracer off, and ddtrace's
bundled client cannot be imported without ddtrace itself.

`CATALOGUE` lists every metric sent (the dashboard and monitors in `datadog/` use them).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "acougue."
DEFAULT_PORT = 8125
# Payload fields that say how a sale was paid (sale.* carry payment_method, payment.* method).
_METHOD_FIELDS = ("payment_method", "method")
Tags = Mapping[str, str | int | None]

# Every metric sent, without the `acougue.` prefix: type, tags beyond service/env/version.
CATALOGUE: dict[str, str] = {
    "sales.completed": "count; payment_method — a sale closed at the counter",
    "sales.completed.amount_cents": "count of centavos; payment_method",
    "sales.paid": "count; payment_method — a sale whose payment was approved",
    "sales.paid.amount_cents": "count of centavos; payment_method (revenue)",
    "sales.refunded": "count; payment_method",
    "sales.refunded.amount_cents": "count of centavos; payment_method",
    "payments.approved": "count; payment_method",
    "payments.declined": "count; payment_method",
    "events.published": "count; event_type — left the outbox for the broker",
    "outbox.lag": "distribution, s; event_type — written → published",
    "outbox.backlog": "gauge; unpublished events after a sweep",
    "outbox.oldest_unpublished_seconds": "gauge, s; age of the oldest unpublished event",
    "outbox.publish_failures": "count; event_type",
    "requests": "count; kind (http|event|sweep), route or event_type, outcome, status_class",
    "request.duration": "distribution, ms; same tags as requests",
    "event.lag": "distribution, s; event_type — emitted → applied by a subscriber",
    "function.cold_start": "count; kind — first request of a process",
    "function.cold_start.seconds": "distribution, s; process start → that first request",
    "broker.events.accepted": "count; event_type — at the broker's ingress",
    "broker.events.refused": "count; event_type — backend unavailable (503)",
    "broker.deliveries": "count; trigger, event_type, outcome, status_class — per attempt",
    "broker.delivery.duration": "distribution, ms; same tags as broker.deliveries",
    "broker.dead_letters": "count; trigger, event_type, status",
    "broker.dropped": "count; trigger, event_type, status — failed with no dead-letter sink",
    "gateway.shed": "count; function — a request answered 503 at capacity, never sent to it",
}


def _target() -> tuple[str, int]:
    url = os.environ.get("DD_DOGSTATSD_URL", "")
    if url.startswith("udp://"):
        parts = urlsplit(url)
        return parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORT
    host = (
        os.environ.get("DD_DOGSTATSD_HOST") or os.environ.get("DD_AGENT_HOST") or "127.0.0.1"
    ).strip()
    try:
        port = int(os.environ.get("DD_DOGSTATSD_PORT") or DEFAULT_PORT)
    except ValueError:
        port = DEFAULT_PORT
    return host, port


def _tag_text(tags: Tags) -> list[str]:
    return [f"{k}:{_clean(str(v))}" for k, v in tags.items() if v is not None and v != ""]


def _clean(value: str) -> str:
    """DogStatsD separators must not appear inside a tag value."""
    return value.replace("|", "_").replace(",", "_").replace("#", "_").replace("\n", " ")


class Metrics:
    """One process's DogStatsD client (see `metrics`)."""

    def __init__(self, host: str, port: int, constant_tags: Tags) -> None:
        self.address = (host, port)
        self.constant_tags = _tag_text(constant_tags)
        self._socket: socket.socket | None = None
        self._resolved: tuple[str, int] | None = None
        self._resolve_after = 0.0
        self._cold_start_pending = True

    def _destination(self) -> tuple[str, int] | None:
        """The agent's IP address, looked up once (then once a minute while it fails), so
        that a host name never costs a DNS query per metric."""
        if self._resolved is None and time.monotonic() >= self._resolve_after:
            try:
                found = socket.getaddrinfo(*self.address, socket.AF_INET, socket.SOCK_DGRAM)
                self._resolved = (str(found[0][4][0]), self.address[1])
            except OSError:
                self._resolve_after = time.monotonic() + 60.0
        return self._resolved

    def _send(self, name: str, value: float, kind: str, tags: Tags | None) -> None:
        all_tags = self.constant_tags + (_tag_text(tags) if tags else [])
        number = f"{value:g}" if isinstance(value, float) else str(value)
        datagram = f"{PREFIX}{name}:{number}|{kind}"
        if all_tags:
            datagram += "|#" + ",".join(all_tags)
        destination = self._destination()
        if destination is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto(datagram.encode(), destination)
        except OSError:
            pass  # fire-and-forget: an unreachable or unresolvable agent loses the point

    def increment(self, name: str, value: int = 1, tags: Tags | None = None) -> None:
        self._send(name, value, "c", tags)

    def gauge(self, name: str, value: float, tags: Tags | None = None) -> None:
        self._send(name, value, "g", tags)

    def distribution(self, name: str, value: float, tags: Tags | None = None) -> None:
        """A value whose percentiles the Agent computes across every process (latency, lag)."""
        self._send(name, value, "d", tags)

    def first_request(self, kind: str) -> bool:
        """True once per process: its first real request, the one that paid the cold start.

        Counts `function.cold_start` and how long after the process started it came.
        """
        if not self._cold_start_pending:
            return False
        self._cold_start_pending = False
        self.increment("function.cold_start", tags={"kind": kind})
        self.distribution("function.cold_start.seconds", round(process_age(), 3))
        return True

    # -- what events mean -----------------------------------------------------------------
    def event_published(self, event_type: str, data: object, created_age: float) -> None:
        """An event left the outbox: how late, and what it means for the shop."""
        name = event_type.removeprefix("com.acougue.")
        self.increment("events.published", tags={"event_type": name})
        self.distribution("outbox.lag", round(max(created_age, 0.0), 3), {"event_type": name})
        if not isinstance(data, Mapping):
            return
        method = _method(data)
        amount = data.get("total_cents", data.get("amount_cents"))
        tags = {"payment_method": method}
        if name in ("sale.completed", "sale.paid", "sale.refunded"):
            what = name.split(".", 1)[1]
            self.increment(f"sales.{what}", tags=tags)
            if isinstance(amount, int):
                self.increment(f"sales.{what}.amount_cents", amount, tags)
        elif name in ("payment.approved", "payment.declined"):
            self.increment(f"payments.{name.split('.', 1)[1]}", tags=tags)


def _method(data: Mapping[str, object]) -> str | None:
    for field in _METHOD_FIELDS:
        value = data.get(field)
        if isinstance(value, str):
            return value
    payment = data.get("payment")
    if isinstance(payment, Mapping) and isinstance(payment.get("method"), str):
        return str(payment["method"])
    return None


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; else since this import)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22, counted after the command name
        boot_now = time.clock_gettime(time.CLOCK_BOOTTIME)
        return boot_now - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    """This process's client, created on first use from the environment."""
    global _metrics
    if _metrics is None:
        host, port = _target()
        _metrics = Metrics(
            host,
            port,
            {
                "service": os.environ.get("DD_SERVICE"),
                "env": os.environ.get("DD_ENV"),
                "version": os.environ.get("DD_VERSION"),
            },
        )
    return _metrics


def reset() -> None:
    """Forget the client (tests that change the environment)."""
    global _metrics
    _metrics = None
