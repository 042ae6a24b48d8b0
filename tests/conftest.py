"""Fixtures shared by every test level."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import components
from tests.support import database as test_database
from tests.support.database import ProvisionedDatabase


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """A reachable RabbitMQ (guest/guest on this machine); skip, or fail under CI."""
    return components.amqp_url()


@pytest.fixture(scope="session")
def admin_database_url() -> str:
    """A reachable PostgreSQL as a superuser; skip, or fail under CI."""
    return components.admin_database_url()


@pytest.fixture(scope="session")
async def database(admin_database_url: str) -> AsyncIterator[ProvisionedDatabase]:
    """A fresh database with every domain provisioned; dropped with its roles afterwards."""
    db = await test_database.create(admin_database_url)
    yield db
    test_database.drop(admin_database_url, db)
