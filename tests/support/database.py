"""A throw-away database with every domain's schema and role, on the real PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.db.migrations import Domain, provision, role_name
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.database import role_dsn
from tooling.runner.system import database_domains


@dataclass
class ProvisionedDatabase:
    admin_dsn: str
    name: str
    role_prefix: str
    passwords: dict[str, str]

    def role_dsn(self, domain: str) -> str:
        return role_dsn(self.admin_dsn, role_name(self.role_prefix, domain), self.passwords[domain])


def _with_database(dsn: str, name: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = name
    return make_conninfo(**{k: str(v) for k, v in params.items()})


async def create(server_dsn: str) -> ProvisionedDatabase:
    tag = secrets.token_hex(4)
    name, prefix = f"acougue_t{tag}", f"acougue_t{tag}_"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin_dsn = _with_database(server_dsn, name)
    domains = database_domains(load_topology())
    passwords = {d: secrets.token_urlsafe(12) for d in domains}
    await provision(
        admin_dsn,
        [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in domains],
        role_prefix=prefix,
        passwords=passwords,
    )
    return ProvisionedDatabase(admin_dsn, name, prefix, passwords)


def drop(server_dsn: str, db: ProvisionedDatabase) -> None:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
        )
        for domain in db.passwords:
            conn.execute(
                sql.SQL("DROP ROLE IF EXISTS {}").format(
                    sql.Identifier(role_name(db.role_prefix, domain))
                )
            )
