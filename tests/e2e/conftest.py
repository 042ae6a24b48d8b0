"""The whole system per broker backend, started once per module by the local runner (a
module may start its own: tests.support.fixtures.system_fixture), the admin's header and client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fixtures import admin as admin
from tests.support.fixtures import api as api
from tests.support.system import RunningSystem, running_system


@pytest.fixture(scope="module", params=["memory", "rabbitmq"])
def system(
    request: pytest.FixtureRequest,
    admin_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningSystem]:
    amqp = request.getfixturevalue("amqp_url") if request.param == "rabbitmq" else None
    tmp: Path = tmp_path_factory.mktemp(f"system-{request.param}")
    with running_system(admin_database_url, tmp, amqp_url=amqp) as running:
        yield running
