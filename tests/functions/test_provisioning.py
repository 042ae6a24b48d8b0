"""Schemas, roles and migrations on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import psycopg
import pytest
from psycopg import sql

from shared.db.migrations import RELAY, Domain, MigrationError, provision
from tests.support.database import ProvisionedDatabase, _with_database, drop
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.system import database_domains


async def test_a_domain_role_cannot_read_another_domains_schema(
    database: ProvisionedDatabase,
) -> None:
    async with await psycopg.AsyncConnection.connect(database.role_dsn("catalog")) as conn:
        await conn.execute("SELECT count(*) FROM products")  # its own schema: fine
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("SELECT * FROM auth.users")


async def test_a_domain_role_cannot_change_the_schema(database: ProvisionedDatabase) -> None:
    async with await psycopg.AsyncConnection.connect(database.role_dsn("catalog")) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("CREATE TABLE catalog.sneaky (id int)")
    async with await psycopg.AsyncConnection.connect(database.role_dsn("catalog")) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("DELETE FROM catalog.schema_migrations")


async def test_concurrent_provisioning_applies_each_migration_once(
    admin_database_url: str,
) -> None:
    """Three provisionings race on an empty database: every migration is applied exactly once
    (by whichever run takes the lock first), none fails, and the others find nothing to do."""
    tag = secrets.token_hex(4)
    empty = ProvisionedDatabase(
        _with_database(admin_database_url, f"acougue_c{tag}"),
        f"acougue_c{tag}",
        f"acougue_c{tag}_",
        {d: "" for d in database_domains(load_topology())},
    )
    with psycopg.connect(admin_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(empty.name)))
    try:
        domains = [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in empty.passwords]
        expected = sorted(
            f"{d.name}/{version}" for d in domains if d.name != RELAY for version, _ in d.files()
        )
        assert expected  # there is something to race over
        runs = await asyncio.gather(
            *(provision(empty.admin_dsn, domains, role_prefix=empty.role_prefix) for _ in range(3))
        )
        assert sorted(m for run in runs for m in run) == expected  # each once, none missing
        assert sorted(len(run) for run in runs) == [0, 0, len(expected)]
        async with await psycopg.AsyncConnection.connect(empty.admin_dsn) as conn:
            for domain in domains:
                if domain.name == RELAY:
                    continue
                rows = await (
                    await conn.execute(
                        sql.SQL("SELECT version FROM {}.schema_migrations").format(
                            sql.Identifier(domain.name)
                        )
                    )
                ).fetchall()
                assert sorted(str(r[0]) for r in rows) == [v for v, _ in domain.files()]
    finally:
        drop(admin_database_url, empty)


async def test_an_applied_migration_that_changed_is_refused(
    database: ProvisionedDatabase, tmp_path: object
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "001_catalog.sql").write_text("SELECT 1; -- edited after release\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await provision(
            database.admin_dsn, [Domain("catalog", folder)], role_prefix=database.role_prefix
        )
