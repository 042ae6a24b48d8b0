"""Function-level tests call domain code in-process with a real PostgreSQL; the transport
(broker tokens, publisher identity) is tested end to end (tests/e2e/attacks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import serve
from tests.support.sink import RecordingSink


@pytest.fixture(autouse=True)
def _no_event_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_AUTHENTICATION", "off")


@pytest.fixture
def sink() -> Iterator[tuple[RecordingSink, str]]:
    """A real HTTP sink standing in for the broker ingress, and its URL (a K_SINK)."""
    recorder = RecordingSink()
    with serve(recorder.app()) as url:
        yield recorder, url


@pytest.fixture
def slow_sink(sink: tuple[RecordingSink, str]) -> tuple[RecordingSink, str]:
    """The sink answering after 20 ms, so that concurrent publishers overlap."""
    sink[0].delay = 0.02
    return sink
