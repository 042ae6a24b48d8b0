"""Schemas, roles and migrations on the real PostgreSQL."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from shared.db.migrations import Domain, MigrationError, provision
from shared.manifests import REPO_ROOT
from tests.support.database import ProvisionedDatabase


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
    database: ProvisionedDatabase,
) -> None:
    domains = [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in database.passwords]
    runs = await asyncio.gather(
        *(
            provision(database.admin_dsn, domains, role_prefix=database.role_prefix)
            for _ in range(3)
        )
    )
    assert runs == [[], [], []]  # the fixture applied everything already; nothing twice


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
