"""The functions' PostgreSQL connections against the server's limit (tooling/runner/connections)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tooling.manifests import SecretRef, ServiceSpec, load_topology
from tooling.runner import connections
from tooling.runner.database import EmbeddedPostgres


def _svc(name: str, *, database: bool, pool_max: str | None = None) -> ServiceSpec:
    env = {"FUNCTION_TARGET": name} | ({"DB_POOL_MAX": pool_max} if pool_max else {})
    secrets = {"DATABASE_URL": SecretRef(f"acougue-db-{name}", "url")} if database else {}
    return ServiceSpec(name=name, domain=name, publishes=False, env=env, secret_env=secrets)


def test_each_function_with_a_database_counts_its_pool() -> None:
    services = [
        _svc("a", database=True),
        _svc("b", database=True, pool_max="7"),
        _svc("gateway", database=False),
    ]
    assert connections.functions_need(services) == connections.DEFAULT_POOL_MAX + 7
    assert connections.limit_needed(services) == connections.DEFAULT_POOL_MAX + 7 + 10


def test_the_deployed_functions_fit_a_default_server() -> None:
    """PostgreSQL's default max_connections is 100 (3 kept for superusers)."""
    needed = connections.limit_needed(load_topology().services.values())
    assert connections.shortfall_warning(needed, 97) is None, needed


def test_a_server_too_small_is_named_at_start() -> None:
    warning = connections.shortfall_warning(90, 50)
    assert warning is not None
    assert "90" in warning
    assert "50" in warning


def test_the_embedded_server_is_raised_once_and_keeps_it(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path) as embedded:
        assert embedded.ensure_max_connections(150) is True
        with psycopg.connect(embedded.url) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
        assert row == ("150",)
        assert embedded.ensure_max_connections(120) is False
    with EmbeddedPostgres(tmp_path) as again:  # ALTER SYSTEM: kept in the data folder
        assert again.ensure_max_connections(150) is False
