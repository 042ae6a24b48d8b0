"""Fixtures for the broker's tests: both backends, a real subscriber, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.broker.harness import Recorder, recording_subscriber


@pytest.fixture(autouse=True)
def _anyone_may_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the broker as Knative's, with their own event types; who may
    publish the shop's types is tested in test_trust.py with authentication on."""
    monkeypatch.setenv("BROKER_INGRESS_AUTHENTICATION", "off")


@pytest.fixture(params=["memory", "rabbitmq"])
def amqp(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory backend, the AMQP URL for RabbitMQ (skips when it is absent)."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("amqp_url")
    return url


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    async with recording_subscriber() as subscriber:
        yield subscriber


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield http
