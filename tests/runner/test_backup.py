"""`make backup` / `make restore` (tooling/backup.py, issue 18): a shop with data — a user,
a product, a receipt into stock, ledger entries — backed up, wiped, restored into an empty
data directory (embedded PostgreSQL) and into an empty database (`DATABASE_URL`), then the
same trial balance, stock and users, read through each domain's own role (so provisioning
gave the grants back), and every table of every domain schema row for row.

No full system: the data goes in through the domain services, as the functions write it
(a full system costs ~40 s and needs every function of the manifests)."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import shutil
import stat
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from functions.auth import service as auth_service
from functions.auth.bootstrap import ensure_admin
from functions.catalog import service as catalog_service
from functions.finance import service as finance_service
from functions.finance import store as finance_store
from functions.inventory import service as inventory_service
from functions.inventory import store as inventory_store
from shared.config import FunctionSettings
from shared.contracts.auth import UserIn
from shared.contracts.catalog import CategoryIn, ProductIn
from shared.contracts.finance import ExpenseIn
from shared.contracts.inventory import MovementIn
from shared.db.migrations import RELAY, Domain, provision, role_name
from shared.events.catalog import ProductState
from shared.runtime import Runtime
from tests.support.database import _with_database
from tooling.backup import BackupError, backup, restore, shop_schemas
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.database import EmbeddedPostgres, role_dsn
from tooling.runner.identities import Identities
from tooling.runner.settings import RunnerSettings
from tooling.runner.system import database_domains, load_signing_key

UNUSED_JWKS_URL = "http://127.0.0.1:1/unused"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "AUTH_SIGNING_KEY", "ACOUGUE_DATA_DIR", "ACOUGUE_DB_ROLE_PREFIX"):
        monkeypatch.delenv(name, raising=False)


def _settings(data_dir: Path, prefix: str, database_url: str | None = None) -> RunnerSettings:
    return RunnerSettings.model_validate(
        {
            "ACOUGUE_DATA_DIR": data_dir,
            "ACOUGUE_DB_ROLE_PREFIX": prefix,
            "database_url": SecretStr(database_url) if database_url else None,
        }
    )


# -- a shop with data --------------------------------------------------------------------


async def _provisioned(admin_dsn: str, prefix: str) -> dict[str, str]:
    domains = database_domains(load_topology())
    passwords = {d: secrets.token_urlsafe(12) for d in domains}
    await provision(
        admin_dsn,
        [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in domains],
        role_prefix=prefix,
        passwords=passwords,
    )
    return passwords


def _runtime(
    admin_dsn: str, prefix: str, passwords: dict[str, str], domain: str, target: str
) -> Runtime:
    """`target`'s runtime (the function that emits what it writes) as its domain's role."""
    dsn = role_dsn(admin_dsn, role_name(prefix, domain), passwords[domain])
    return Runtime(
        FunctionSettings(
            function_target=target,
            database_url=SecretStr(dsn),
            auth_jwks_url=UNUSED_JWKS_URL,
            k_sink=None,
            event_authentication="off",
        )
    )


async def _populate(admin_dsn: str, prefix: str) -> None:
    """Schemas, roles, and a day's worth of the shop's records."""
    passwords = await _provisioned(admin_dsn, prefix)
    await ensure_admin(admin_dsn, "senha-do-admin-1")
    targets = {
        "auth": ("auth", "auth"),
        "category": ("catalog", "create_category"),
        "product": ("catalog", "create_product"),
        "inventory": ("inventory", "register_movement"),
        "finance": ("finance", "post_ledger_entry"),
    }
    runtimes = {
        k: _runtime(admin_dsn, prefix, passwords, domain, target)
        for k, (domain, target) in targets.items()
    }
    try:
        seller = await auth_service.new_user(
            UserIn(username="joana", password="uma-senha-boa-9", role="vendedor")
        )
        async with await runtimes["auth"].unit_of_work() as uow:
            await auth_service.create_user(uow, seller)
            await uow.commit()
        async with await runtimes["category"].unit_of_work() as uow:
            category = await catalog_service.create_category(uow, CategoryIn(name="Bovinos"))
            await uow.commit()
        async with await runtimes["product"].unit_of_work() as uow:
            product = await catalog_service.create_product(
                uow,
                ProductIn(name="Picanha", unit="kg", price_cents=8990, category_id=category.id),
            )
            await uow.commit()
        state = ProductState(
            product_id=str(product.id),
            name=product.name,
            unit="kg",
            price_cents=product.price_cents,
            category_id=str(category.id),
            plu=None,
            barcode=None,
            min_stock="0.000",
            active=True,
            version=1,
        )
        async with await runtimes["inventory"].unit_of_work() as uow:
            await inventory_service.apply_product(uow, state)
            await inventory_service.register_movement(
                uow,
                MovementIn(
                    product_id=product.id,
                    kind="receipt",
                    quantity=Decimal("12.500"),
                    unit_cost_cents=4590,
                    lot="L-1",
                    expires_on=date(2030, 1, 31),
                    paid_with="cash",
                ),
            )
            await uow.commit()
        async with await runtimes["finance"].unit_of_work() as uow:
            await finance_service.expense(
                uow,
                ExpenseIn(
                    category="energia",
                    amount_cents=31_450,
                    description="Conta de luz",
                    occurred_on=date(2026, 12, 1),
                    paid_with="bank",
                ),
            )
            await uow.commit()
    finally:
        for runtime in runtimes.values():
            await runtime.pool.close()


async def _snapshot(admin_dsn: str, prefix: str) -> dict[str, Any]:
    """The trial balance, the stock and the users as the domains read them (each through
    its own role: a restore that lost the grants fails here), and a digest of every row
    of every domain table."""
    passwords = {d: secrets.token_urlsafe(12) for d in ("auth", "inventory", "finance")}
    async with await psycopg.AsyncConnection.connect(admin_dsn, autocommit=True) as conn:
        for domain, password in passwords.items():
            await conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role_name(prefix, domain)), sql.Literal(password)
                )
            )
        tables: dict[str, Any] = {}
        for schema in shop_schemas():
            names = await (
                await conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                    (schema,),
                )
            ).fetchall()
            for (table,) in names:
                row = await (
                    await conn.execute(
                        sql.SQL(
                            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY"
                            " t::text), '')) FROM {} t"
                        ).format(sql.Identifier(schema, table))
                    )
                ).fetchone()
                tables[f"{schema}.{table}"] = row
    runtimes = {d: _runtime(admin_dsn, prefix, passwords, d, d) for d in passwords}
    try:
        async with await runtimes["finance"].unit_of_work() as uow:
            balance = await finance_store.trial_balance(uow.conn, None)
        async with await runtimes["inventory"].unit_of_work() as uow:
            stock = await inventory_store.stock_levels(
                uow.conn, product_id=None, expiring_by=date(2031, 1, 1)
            )
        async with await runtimes["auth"].unit_of_work() as uow:
            cursor = await uow.conn.execute(
                "SELECT username, role, active, password_hash FROM users ORDER BY username"
            )
            users = await cursor.fetchall()
    finally:
        for runtime in runtimes.values():
            await runtime.pool.close()
    return {"trial_balance": balance, "stock": stock, "users": users, "tables": tables}


def _keys(data_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data_dir)): p.read_bytes()
        for folder in ("keys", "identities")
        for p in sorted((data_dir / folder).glob("*.pem"))
    }


def _check_the_shop(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before["users"]
    assert before["stock"]
    assert any(r["debit_cents"] for r in before["trial_balance"])
    assert [u["username"] for u in after["users"]] == ["admin", "joana"]
    assert after["trial_balance"] == before["trial_balance"]
    assert after["stock"] == before["stock"]
    assert after["users"] == before["users"]
    assert after["tables"] == before["tables"]


# -- embedded ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_backup() -> Iterator[dict[str, Any]]:
    """A populated embedded shop, its backup, and the snapshot and keys it had."""
    root = Path(tempfile.mkdtemp(prefix="acougue-backup-"))
    data = root / "data"
    settings = _settings(data, "acougue_")
    with EmbeddedPostgres(data) as pg:
        asyncio.run(_populate(pg.url, "acougue_"))
        before = asyncio.run(_snapshot(pg.url, "acougue_"))
    load_signing_key(settings)
    Identities(data, ["create-product", "complete-sale"])
    keys = _keys(data)
    archive = backup(settings, root / "backups")  # the server is stopped: backup starts it
    try:
        yield {
            "root": root,
            "data": data,
            "settings": settings,
            "archive": archive,
            "before": before,
            "keys": keys,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_backup_is_one_private_file_with_the_dump_the_keys_and_a_manifest(
    embedded_backup: dict[str, Any],
) -> None:
    archive: Path = embedded_backup["archive"]
    assert archive.parent.name == "backups"
    assert archive.name.startswith("acougue-")
    assert archive.name.endswith("Z.tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert names == sorted(["manifest.json", "database.dump", *embedded_backup["keys"]])
    assert set(manifest["files"]) == set(names) - {"manifest.json"}
    assert manifest["schemas"] == shop_schemas()
    assert "002_category_active" in manifest["migrations"]["catalog"]
    assert manifest["server_version"]
    assert manifest["pg_dump"]
    assert manifest["created_at"]
    assert list(archive.parent.iterdir()) == [archive]  # no work files left behind


def test_wiped_and_restored_the_shop_has_the_same_books_stock_users_and_keys(
    embedded_backup: dict[str, Any],
) -> None:
    data: Path = embedded_backup["data"]
    shutil.rmtree(data)
    done = restore(embedded_backup["settings"], embedded_backup["archive"])
    assert done.migrations_applied == []
    with EmbeddedPostgres(data) as pg:
        after = asyncio.run(_snapshot(pg.url, "acougue_"))
    _check_the_shop(embedded_backup["before"], after)
    assert _keys(data) == embedded_backup["keys"]
    for key in (data / "keys").glob("*.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_restore_refuses_a_data_directory_that_holds_a_shop(
    embedded_backup: dict[str, Any],
) -> None:
    data: Path = embedded_backup["data"]
    (data / "keys").mkdir(parents=True, exist_ok=True)
    (data / "keys" / "signing-key.pem").touch(exist_ok=True)
    before = sorted(p.name for p in data.iterdir())
    with pytest.raises(BackupError, match="refusing to restore"):
        restore(embedded_backup["settings"], embedded_backup["archive"])
    assert sorted(p.name for p in data.iterdir()) == before


def test_a_damaged_backup_is_refused_before_anything_is_touched(
    embedded_backup: dict[str, Any], tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(embedded_backup["archive"]) as src, tarfile.open(damaged, "w:gz") as out:
        for info in src.getmembers():
            body = src.extractfile(info)
            assert body is not None
            content = body.read()
            if info.name == "database.dump":
                content = content[:-1] + bytes([content[-1] ^ 1])
            out.addfile(info, io.BytesIO(content))
    empty = tmp_path / "empty"
    with pytest.raises(BackupError, match=r"database\.dump is damaged"):
        restore(_settings(empty, "acougue_"), damaged)
    assert not (empty / "pg").exists()


# -- DATABASE_URL ------------------------------------------------------------------------


def test_a_database_url_shop_restores_into_an_empty_database(
    admin_database_url: str, tmp_path: Path
) -> None:
    tag = secrets.token_hex(4)
    prefix = f"acougue_b{tag}_"
    source, target = f"acougue_b{tag}_src", f"acougue_b{tag}_dst"
    with psycopg.connect(admin_database_url, autocommit=True) as conn:
        for name in (source, target):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    source_dsn = _with_database(admin_database_url, source)
    target_dsn = _with_database(admin_database_url, target)
    try:
        asyncio.run(_populate(source_dsn, prefix))
        before = asyncio.run(_snapshot(source_dsn, prefix))
        first = _settings(tmp_path / "one", prefix, source_dsn)
        load_signing_key(first)
        archive = backup(first, tmp_path / "backups")
        with pytest.raises(BackupError, match="already has the shop's schemas"):
            restore(_settings(tmp_path / "empty", prefix, source_dsn), archive)
        restore(_settings(tmp_path / "two", prefix, target_dsn), archive)
        after = asyncio.run(_snapshot(target_dsn, prefix))
        _check_the_shop(before, after)
        assert _keys(tmp_path / "two") == _keys(tmp_path / "one")
    finally:
        with psycopg.connect(admin_database_url, autocommit=True) as conn:
            for name in (source, target):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            for domain in [*database_domains(load_topology()), RELAY]:
                conn.execute(
                    sql.SQL("DROP ROLE IF EXISTS {}").format(
                        sql.Identifier(role_name(prefix, domain))
                    )
                )


def test_restore_needs_a_file(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no such file"):
        restore(_settings(tmp_path / "d", "acougue_"), tmp_path / f"{uuid.uuid4()}.tar.gz")
