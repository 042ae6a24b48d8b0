"""One traced system per module: the test agent, a DogStatsD listener, the whole system.

The runner passes its environment through to every process, so pointing the tracer
(`DD_TRACE_AGENT_URL`) and DogStatsD (`DD_DOGSTATSD_HOST`/`PORT`) at them here reaches the
gateway, every function and the broker, exactly as `make run` with a real agent would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.observability.agent import StatsdListener, TestAgent, test_agent
from tests.support.system import RunningSystem, running_system


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestAgent]:
    with test_agent(tmp_path_factory.mktemp("test-agent")) as running:
        yield running


@pytest.fixture(scope="module")
def statsd() -> Iterator[StatsdListener]:
    listener = StatsdListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def traced_system(
    agent: TestAgent,
    statsd: StatsdListener,
    admin_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningSystem]:
    tmp: Path = tmp_path_factory.mktemp("traced-system")
    with pytest.MonkeyPatch.context() as env:
        for name in (
            "DD_TRACE_ENABLED",
            "DD_AGENT_HOST",
            "DD_TRACE_AGENT_PORT",
            "DD_DOGSTATSD_URL",
        ):
            env.delenv(name, raising=False)
        env.setenv("DD_TRACE_AGENT_URL", agent.url)
        env.setenv("DD_DOGSTATSD_HOST", "127.0.0.1")
        env.setenv("DD_DOGSTATSD_PORT", str(statsd.port))
        env.setenv("DD_VERSION", "obs-test")
        env.setenv("DD_ENV", "obs")
        agent.start_session()
        with running_system(admin_database_url, tmp, amqp_url=None) as running:
            yield running
