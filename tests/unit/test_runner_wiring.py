"""The local runner turns each Service's cluster environment into a local one."""

from __future__ import annotations

import pytest

from shared.manifests import load_topology
from shared.runner.settings import RunnerSettings
from shared.runner.system import System


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch) -> System:
    monkeypatch.delenv("DD_AGENT_HOST", raising=False)
    running = System(RunnerSettings())
    running.urls = {
        name: f"http://127.0.0.1:{9000 + i}" for i, name in enumerate(load_topology().services)
    }
    running._secrets = {
        (ref.secret, ref.key): "stand-in"
        for svc in running.topology.services.values()
        for ref in svc.secret_env.values()
    }
    return running


def test_the_clusters_node_local_agent_is_this_machines_agent(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    for svc in system.topology.services.values():
        assert "svc.cluster.local" in svc.env["DD_AGENT_HOST"], "the manifests name the Service"
        env = system._service_env(svc, 8000, "http://127.0.0.1:1/")
        assert env["DD_AGENT_HOST"] == "127.0.0.1", svc.name
        assert not [v for v in env.values() if "svc.cluster.local" in v], svc.name
    monkeypatch.setenv("DD_AGENT_HOST", "10.1.2.3")
    relay = system.topology.services["outbox-relay"]
    assert system._service_env(relay, 8000, "x")["DD_AGENT_HOST"] == "10.1.2.3"
