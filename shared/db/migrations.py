"""Schemas, least-privilege roles and SQL migrations, one set per domain.

Applied by the local runner at start and by a Kubernetes Job in the cluster, as the
database owner, under one advisory lock so that concurrent runs apply each file once.
Functions connect as their domain's role, which may read and write its own schema's rows
and nothing else: no DDL, no other schema. One role owns no schema: the outbox relay's
(`RELAY`), which may read every domain's outbox and mark its rows as published or retried,
and nothing else — not the rows' meaning, not another table.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from psycopg import AsyncConnection, sql

log = logging.getLogger("acougue.migrations")

PLATFORM_SQL = Path(__file__).parent / "sql" / "platform.sql"
# pg_advisory_xact_lock key: "acougue migrations" (any constant works; it only has to agree).
MIGRATION_LOCK_KEY = 0x0ACA_06E0
_FILE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
# The outbox relay's "domain": a role, no schema, no migrations.
RELAY = "relay"
# What the relay may change in an outbox row: its delivery bookkeeping, never the event.
RELAY_COLUMNS = ("published_at", "attempts", "next_attempt_at", "last_error")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Domain:
    """One domain: its schema name and its folder of numbered SQL files."""

    name: str
    migrations: Path

    def files(self) -> list[tuple[str, Path]]:
        found: list[tuple[str, Path]] = [("000_platform", PLATFORM_SQL)]
        if self.migrations.is_dir():
            for path in sorted(self.migrations.glob("*.sql")):
                if not _FILE.match(path.name):
                    raise MigrationError(f"{path}: migration names are NNN_snake_case.sql")
                found.append((path.stem, path))
        return found


def role_name(prefix: str, domain: str) -> str:
    return f"{prefix}{domain}"


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def provision(
    admin_dsn: str,
    domains: list[Domain],
    *,
    role_prefix: str = "acougue_",
    passwords: dict[str, str] | None = None,
) -> list[str]:
    """Create roles and schemas and apply pending migrations; returns what it applied.

    `passwords` sets (or resets) a domain role's password; a domain absent from it keeps
    the one it has (in the cluster the password lives in a Secret, not here).
    """
    passwords = passwords or {}
    applied: list[str] = []
    async with (
        await AsyncConnection.connect(admin_dsn, autocommit=True) as conn,
        conn.transaction(),
    ):
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        row = await (await conn.execute("SELECT current_database()")).fetchone()
        assert row is not None
        database = str(row[0])
        for domain in domains:
            if not _NAME.match(domain.name) or not _NAME.match(role_prefix + "x"):
                raise MigrationError(f"invalid domain or role name: {domain.name!r}")
        schemas = [d for d in domains if d.name != RELAY]
        for domain in schemas:
            role = role_name(role_prefix, domain.name)
            await _ensure_role(conn, role, passwords.get(domain.name))
            await _ensure_schema(conn, domain.name, role, database)
            applied += await _apply(conn, domain)
            await _grant(conn, domain.name, role)
        if len(schemas) < len(domains):
            relay = role_name(role_prefix, RELAY)
            await _ensure_role(conn, relay, passwords.get(RELAY))
            for domain in schemas:
                await _grant_relay(conn, domain.name, relay)
    return applied


async def _ensure_role(
    conn: AsyncConnection[tuple[object, ...]], role: str, password: str | None
) -> None:
    exists = await (
        await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    ).fetchone()
    if not exists:
        await conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT").format(
                sql.Identifier(role)
            )
        )
    if password is not None:
        await conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )


async def _ensure_schema(
    conn: AsyncConnection[tuple[object, ...]], schema: str, role: str, database: str
) -> None:
    ident, role_ident = sql.Identifier(schema), sql.Identifier(role)
    await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
    await conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(ident))
    await conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, role_ident))
    # The role's code names tables without a schema; its search path is its schema only.
    await conn.execute(
        sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path TO {}").format(
            role_ident, sql.Identifier(database), ident
        )
    )
    await conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
            " version text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(ident)
    )


async def _apply(conn: AsyncConnection[tuple[object, ...]], domain: Domain) -> list[str]:
    ident = sql.Identifier(domain.name)
    rows = await (
        await conn.execute(
            sql.SQL("SELECT version, checksum FROM {}.schema_migrations").format(ident)
        )
    ).fetchall()
    done = {str(version): str(checksum) for version, checksum in rows}
    applied = []
    for version, path in domain.files():
        text = path.read_text(encoding="utf-8")
        checksum = _checksum(text)
        if version in done:
            if done[version] != checksum:
                raise MigrationError(
                    f"{domain.name}/{version} changed after it was applied;"
                    " add a new migration instead"
                )
            continue
        async with conn.transaction():
            await conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
            await conn.execute(text.encode())
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {}.schema_migrations (version, checksum) VALUES (%s, %s)"
                ).format(ident),
                (version, checksum),
            )
        log.info("applied migration %s/%s", domain.name, version)
        applied.append(f"{domain.name}/{version}")
    return applied


async def _grant(conn: AsyncConnection[tuple[object, ...]], schema: str, role: str) -> None:
    ident, role_ident = sql.Identifier(schema), sql.Identifier(role)
    await conn.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            ident, role_ident
        )
    )
    await conn.execute(
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(ident, role_ident)
    )
    # Bookkeeping of migrations is the owner's alone.
    await conn.execute(
        sql.SQL("REVOKE ALL ON {}.schema_migrations FROM {}").format(ident, role_ident)
    )


async def _grant_relay(conn: AsyncConnection[tuple[object, ...]], schema: str, role: str) -> None:
    """The relay reads a domain's outbox and marks rows (FOR UPDATE needs an UPDATE grant)."""
    ident, role_ident = sql.Identifier(schema), sql.Identifier(role)
    table = sql.Identifier(schema, "outbox")
    await conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, role_ident))
    await conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(table, role_ident))
    await conn.execute(
        sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
            sql.SQL(", ").join(map(sql.Identifier, RELAY_COLUMNS)), table, role_ident
        )
    )
