"""The local runner turns each Service's cluster environment into a local one."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from shared.config import FunctionSettings
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.settings import RunnerSettings
from tooling.runner.system import FAULT_INJECTION, PortPlan, System


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> System:
    monkeypatch.delenv("DD_AGENT_HOST", raising=False)
    monkeypatch.setenv("ACOUGUE_DATA_DIR", str(tmp_path))
    running = System(RunnerSettings())
    running.urls = {
        name: f"http://127.0.0.1:{9000 + i}" for i, name in enumerate(load_topology().services)
    }
    running.urls["broker"] = "http://127.0.0.1:8999"
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


def test_the_port_plan_never_gives_one_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS may offer a free port it offered before: nothing holds it until the process
    binds it. (Seen: complete-sale and apply-product-to-inventory on one port.)"""
    offers = iter([41000, 41001, 41000, 41000, 41002])
    monkeypatch.setattr("tooling.runner.system.free_port", lambda: next(offers))
    plan = PortPlan(0)
    assert [plan.take(), plan.take(), plan.take()] == [41000, 41001, 41002]


def test_the_gateways_fixed_port_is_given_to_no_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tooling.runner.system._port_free", lambda port: True)
    plan = PortPlan(8100)
    plan.reserve(8101)
    assert [plan.take(), plan.take()] == [8100, 8102]


def test_each_function_gets_its_own_identity_and_the_brokers_keys(system: System) -> None:
    """Locally the broker authenticates both ways: every function has its own key file
    (the broker holds the public halves) and checks deliveries with the broker's JWKS."""
    functions = [s for s in system.topology.services.values() if s.function_target]
    keys = set()
    for svc in functions:
        env = system._service_env(svc, 8000, "http://127.0.0.1:8999/acougue-system/default")
        assert env["EVENT_AUTHENTICATION"] == "required", svc.name
        assert env["EVENT_JWKS_URL"] == "http://127.0.0.1:8999/.well-known/jwks.json"
        key = Path(env["EVENT_IDENTITY_KEY_FILE"])
        assert key.name == f"{svc.name}.pem"
        assert key.stat().st_mode & 0o077 == 0
        keys.add(key.read_text())
    assert len(keys) == len(functions)
    published = json.loads(system.identities.publishers.read_text())
    assert sorted(published) == sorted(s.name for s in functions)
    assert all("d" not in jwk for jwk in published.values()), "public halves only"


def test_a_function_sees_only_what_its_manifest_names(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another function's setting or the runner's own secrets stay out of a function's
    environment; a variable its manifest names may be set by the shop."""
    monkeypatch.setenv("AMQP_URL", "amqp://guest:secret@127.0.0.1/")
    monkeypatch.setenv("ACOUGUE_ADMIN_PASSWORD", "the-first-admins")
    monkeypatch.setenv("PIX_CONFIRM_DELAY_SECONDS", "7")
    monkeypatch.setenv("DD_TRACE_AGENT_URL", "http://127.0.0.1:8126")
    payments = system._service_env(system.topology.services["process-payment"], 8000, "x")
    sales = system._service_env(system.topology.services["complete-sale"], 8000, "x")
    assert payments["PIX_CONFIRM_DELAY_SECONDS"] == "7"
    assert "PIX_CONFIRM_DELAY_SECONDS" not in sales
    for env in (payments, sales):
        assert "AMQP_URL" not in env
        assert "ACOUGUE_ADMIN_PASSWORD" not in env
        assert env["DD_TRACE_AGENT_URL"] == "http://127.0.0.1:8126"


def test_the_crash_hook_is_the_fault_suites_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No function setting switches it on (a manifest could set any): only the local
    runner, for the fault suite, puts tests/faults/inject on a function's path, and tests/
    is in no image."""
    assert not [n for n in FunctionSettings.model_fields if "chaos" in n]
    assert "tests/" not in (REPO_ROOT / ".dockerignore").read_text().replace("# ", "")
    monkeypatch.setenv("ACOUGUE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ACOUGUE_CHAOS_EXIT_AFTER_COMMIT", "0.5")
    monkeypatch.setenv("ACOUGUE_CHAOS_EXIT_EVERY", "4")
    monkeypatch.setenv("ACOUGUE_CHAOS_FUNCTIONS", '["complete-sale"]')
    running = System(RunnerSettings())
    running.urls = {name: "http://127.0.0.1:9000" for name in running.topology.services}
    running.urls["broker"] = "http://127.0.0.1:8999"
    running._secrets = {
        (ref.secret, ref.key): "stand-in"
        for svc in running.topology.services.values()
        for ref in svc.secret_env.values()
    }
    crashing = running._service_env(running.topology.services["complete-sale"], 1, "x")
    calm = running._service_env(running.topology.services["cancel-sale"], 1, "x")
    assert crashing["PYTHONPATH"].split(os.pathsep)[0] == str(FAULT_INJECTION)
    assert crashing["CHAOS_EXIT_AFTER_COMMIT"] == "0.5"
    assert crashing["CHAOS_EXIT_EVERY"] == "4"
    assert "CHAOS_EXIT_AFTER_COMMIT" not in calm
    assert "CHAOS_EXIT_EVERY" not in calm
    assert calm["PYTHONPATH"] == str(REPO_ROOT)


def test_every_setting_the_readme_documents_is_named_by_a_manifest() -> None:
    """The runner gives a function only what its manifest names, so a documented override
    (`PIX_KEY=... make run`) works only for variables some manifest names."""
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## The two commands", 1)[1].split("\n\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    runner_own = {n for n in documented if n.startswith(("ACOUGUE_", "DD_"))}
    runner_own |= {"PORT", "DATABASE_URL", "AMQP_URL", "CI", "TEST_DATABASE_URL", "TEST_AMQP_URL"}
    named = {name for svc in load_topology().services.values() for name in svc.env}
    named |= {n for svc in load_topology().services.values() for n in svc.secret_env}
    assert documented - runner_own - named == set()
