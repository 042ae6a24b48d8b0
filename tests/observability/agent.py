"""Datadog's own test agent (`ddapm-test-agent`) and a UDP DogStatsD listener, for real.

The test agent is the PyPI dev dependency's console script, started on free ports; the
tracers of every process send to it (`DD_TRACE_AGENT_URL`), and the tests read back what
it received with its HTTP API (`/test/session/start`, `/test/session/traces`).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.components import in_ci
from tests.support.servers import free_port

BINARY = "ddapm-test-agent"


def _binary() -> str:
    beside = Path(sys.executable).parent / BINARY
    found = str(beside) if beside.exists() else shutil.which(BINARY)
    if found:
        return found
    message = f"{BINARY} is not installed (it is in requirements-dev.lock)"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(f"{message}; `make test` installs it (under CI=true this fails instead)")


@dataclass(frozen=True)
class Link:
    trace_id: int  # lower 64 bits, as the span's own trace_id
    span_id: int
    attributes: dict[str, str]


@dataclass(frozen=True)
class Span:
    trace_id: int
    span_id: int
    parent_id: int
    service: str
    name: str
    resource: str
    meta: dict[str, str]
    metrics: dict[str, float]
    links: tuple[Link, ...] = field(default=())

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Span:
        meta = {str(k): str(v) for k, v in (raw.get("meta") or {}).items()}
        links = [*raw.get("span_links", []), *json.loads(meta.get("_dd.span_links", "[]"))]
        return cls(
            trace_id=int(raw["trace_id"]),
            span_id=int(raw["span_id"]),
            parent_id=int(raw.get("parent_id") or 0),
            service=str(raw["service"]),
            name=str(raw["name"]),
            resource=str(raw["resource"]),
            meta=meta,
            metrics={str(k): float(v) for k, v in (raw.get("metrics") or {}).items()},
            links=tuple(
                Link(
                    _low64(link["trace_id"]),
                    int(str(link["span_id"]), 16)
                    if isinstance(link["span_id"], str)
                    else int(link["span_id"]),
                    {str(k): str(v) for k, v in (link.get("attributes") or {}).items()},
                )
                for link in links
            ),
        )

    @property
    def kind(self) -> str | None:
        return self.meta.get("span.kind")


def _low64(value: Any) -> int:
    """A link's trace id: an int, or 32 hex digits (v0.5 puts the full id in JSON)."""
    if isinstance(value, str):
        return int(value, 16) & (2**64 - 1)
    return int(value) & (2**64 - 1)


@dataclass
class Trace:
    spans: list[Span]

    @property
    def trace_id(self) -> int:
        return self.spans[0].trace_id

    @property
    def full_id(self) -> str:
        """The 128-bit id in hex, as logs and W3C write it (upper half from `_dd.p.tid`)."""
        upper = next((s.meta["_dd.p.tid"] for s in self.spans if "_dd.p.tid" in s.meta), "0")
        return f"{int(upper, 16):016x}{self.trace_id:016x}"

    def by_id(self, span_id: int) -> Span | None:
        return next((s for s in self.spans if s.span_id == span_id), None)

    def ancestors(self, span: Span) -> list[Span]:
        found: list[Span] = []
        current = self.by_id(span.parent_id)
        while current is not None:
            found.append(current)
            current = self.by_id(current.parent_id)
        return found

    def roots(self) -> list[Span]:
        ids = {s.span_id for s in self.spans}
        return [s for s in self.spans if s.parent_id not in ids]

    def services(self) -> set[str]:
        return {s.service for s in self.spans}

    def entries(self, service: str, resource: str | None = None) -> list[Span]:
        """The service's server spans (one per request or event it handled)."""
        return [
            s
            for s in self.spans
            if s.service == service
            and s.kind == "server"
            and (resource is None or s.resource == resource)
        ]

    def matches_log_id(self, logged: str) -> bool:
        """A log line's dd.trace_id: 32 hex digits (128-bit ids) or the lower 64 in decimal."""
        return logged in (self.full_id, str(self.trace_id))


class TestAgent:
    __test__ = False  # not a test class, whatever its name

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def start_session(self) -> None:
        httpx.get(f"{self.url}/test/session/start", timeout=10).raise_for_status()

    def traces(self) -> list[Trace]:
        answer = httpx.get(f"{self.url}/test/session/traces", timeout=10)
        answer.raise_for_status()
        merged: dict[int, list[Span]] = {}
        for chunk in answer.json():
            for raw in chunk:
                span = Span.parse(raw)
                merged.setdefault(span.trace_id, []).append(span)
        return [Trace(spans) for spans in merged.values()]

    def all_spans(self) -> list[Span]:
        return [span for trace in self.traces() for span in trace.spans]


@contextmanager
def test_agent(log_dir: Path) -> Iterator[TestAgent]:
    port = free_port()
    log = log_dir / "test-agent.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                _binary(),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--otlp-http-port",
                str(free_port()),
                "--otlp-grpc-port",
                str(free_port()),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{BINARY} exited: {log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{url}/info", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{BINARY} did not answer on {url}")
            time.sleep(0.1)
        yield TestAgent(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True)
class Datagram:
    name: str
    value: float
    kind: str
    tags: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Datagram:
        head, *sections = text.split("|")
        name, value = head.rsplit(":", 1)
        tags: dict[str, str] = {}
        for section in sections[1:]:
            if section.startswith("#"):
                for tag in section[1:].split(","):
                    key, _, val = tag.partition(":")
                    tags[key] = val
        return cls(name, float(value), sections[0], tags)


class StatsdListener:
    """A UDP socket playing DogStatsD: keeps every datagram it receives."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self.received: list[Datagram] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            for line in data.decode(errors="replace").splitlines():
                if line:
                    self.received.append(Datagram.parse(line))

    def find(self, name: str, **tags: str) -> list[Datagram]:
        return [
            d
            for d in list(self.received)
            if d.name == name and all(d.tags.get(k) == v for k, v in tags.items())
        ]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()
