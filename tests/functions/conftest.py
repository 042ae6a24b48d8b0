"""Function-level tests call domain code in-process with a real PostgreSQL; the transport
(broker tokens, publisher identity) is tested end to end (tests/e2e/attacks)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_event_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_AUTHENTICATION", "off")
