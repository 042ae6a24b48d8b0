"""`python -m tooling.provision`: schemas, roles, migrations and the first admin.

What the local runner does at start, as a command for the cluster's migration Job. It
connects as the database owner (`DATABASE_URL`); each domain role's password comes from
`ACOUGUE_DB_PASSWORD_<DOMAIN>` (a Kubernetes Secret), and a domain without one keeps the
password it has. The first admin gets `ACOUGUE_ADMIN_PASSWORD`, or a generated password
printed once to this command's output (the Job's log).
"""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.auth.bootstrap import ensure_admin
from shared.db.migrations import Domain, provision
from shared.manifests import REPO_ROOT, load_topology
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
    generated = await ensure_admin(dsn, admin.get_secret_value() if admin else None)
    if generated:
        print(f"created user admin with password: {generated}  (shown once)", flush=True)
    return applied


def main() -> int:
    settings = ProvisionSettings()  # from the environment; fails fast
    applied = asyncio.run(run(settings))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
