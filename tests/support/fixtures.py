"""Fixtures of the suites that start the whole system: one system a module on the memory
broker (made by system_fixture), the admin's bearer header and the admin's client.

Conftests import `admin` and `api`; a module assigns system_fixture(...) to its fixture's
name (`system = system_fixture("http-edges")`), and pytest finds it under that name."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.api import bearer, client
from tests.support.system import RunningSystem, running_system


def system_fixture(
    label: str,
    *,
    extra_env: dict[str, str] | None = None,
    requires: tuple[str, ...] = (),
    then: Callable[[RunningSystem], object] | None = None,
) -> Callable[..., Iterator[RunningSystem]]:
    """A module-scoped fixture: the whole system on the memory broker, in a temporary
    folder named after label. `requires` names fixtures set up first (a browser's check
    skips before anything starts); `then` prepares the system before any test sees it."""

    @pytest.fixture(scope="module")
    def system(
        request: pytest.FixtureRequest,
        admin_database_url: str,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> Iterator[RunningSystem]:
        for name in requires:
            request.getfixturevalue(name)
        tmp = tmp_path_factory.mktemp(label)
        with running_system(admin_database_url, tmp, amqp_url=None, extra_env=extra_env) as running:
            if then is not None:
                then(running)
            yield running

    return system


@pytest.fixture(scope="module")
def admin(system: RunningSystem) -> dict[str, str]:
    """The admin's bearer header on the module's system."""
    return bearer(system.admin_token())


@pytest.fixture(scope="module")
def api(system: RunningSystem) -> Iterator[httpx.Client]:
    """The admin's client of the module's system."""
    with client(system) as admin_client:
        yield admin_client
