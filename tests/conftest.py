"""Fixtures shared by every test level."""

from __future__ import annotations

import pytest

from tests.support import components


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """A reachable RabbitMQ (guest/guest on this machine); skip, or fail under CI."""
    return components.amqp_url()


@pytest.fixture(scope="session")
def admin_database_url() -> str:
    """A reachable PostgreSQL as a superuser; skip, or fail under CI."""
    return components.admin_database_url()
