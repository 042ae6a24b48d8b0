"""`python -m tooling.provision`: schemas, roles, migrations and the first admin.

What the local runner does at start, as a command for the cluster's migration Job. It
connects as the database owner (`DATABASE_URL`); each domain role's password comes from
`ACOUGUE_DB_PASSWORD_<DOMAIN>` (a Kubernetes Secret), and a domain without one keeps the
password it has. The first admin gets `ACOUGUE_ADMIN_PASSWORD` (in the cluster, the
Secret acougue-admin). No password is ever printed: this command's output is the Job's
log, which the Datadog Agent ships off. Without one, and with no admin yet, the first
admin is not created and the output says how to make the Secret. Whichever password it
was, the admin must replace it at first login.
"""

from __future__ import annotations

import asyncio
import os
import sys

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.auth.bootstrap import ensure_admin
from functions.auth.store import any_admin
from shared.db.migrations import Domain, provision
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.system import database_domains


class ProvisionSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: SecretStr
    acougue_admin_password: SecretStr | None = None
    role_prefix: str = Field(
        default="acougue_", pattern=r"^[a-z][a-z0-9_]{0,30}$", alias="ACOUGUE_DB_ROLE_PREFIX"
    )


async def run(settings: ProvisionSettings) -> list[str]:
    domains = database_domains(load_topology())
    passwords = {
        d: os.environ[f"ACOUGUE_DB_PASSWORD_{d.upper()}"]
        for d in domains
        if os.environ.get(f"ACOUGUE_DB_PASSWORD_{d.upper()}")
    }
    dsn = settings.database_url.get_secret_value()
    applied = await provision(
        dsn,
        [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in domains],
        role_prefix=settings.role_prefix,
        passwords=passwords,
    )
    admin = settings.acougue_admin_password
    if admin is None or not admin.get_secret_value():
        if not await has_admin(dsn):
            print(NO_ADMIN_HELP, flush=True)
        return applied
    if await ensure_admin(dsn, admin.get_secret_value()) is None:
        print(
            "first admin ready: user admin, password in Secret acougue-admin"
            " (a change is required at first login)",
            flush=True,
        )
    return applied


NO_ADMIN_HELP = (
    "no admin created: ACOUGUE_ADMIN_PASSWORD is not set. Create the Secret and run the"
    " migrations again:\n"
    "  kubectl -n acougue-system create secret generic acougue-admin"
    ' --from-literal=password="$(openssl rand -base64 18)"\n'
    "  deploy/migrate.sh\n"
    "then read it with"
    " kubectl -n acougue-system get secret acougue-admin -o jsonpath='{.data.password}'"
    " | base64 -d"
)


async def has_admin(dsn: str) -> bool:
    async with await AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        await conn.execute("SET search_path TO auth")
        return await any_admin(conn)


def main() -> int:
    settings = ProvisionSettings()  # from the environment; fails fast
    applied = asyncio.run(run(settings))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
