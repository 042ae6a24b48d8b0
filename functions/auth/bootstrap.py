"""The first admin: created once, at provisioning, when the shop has no admin yet.

Its password is ACOUGUE_ADMIN_PASSWORD, or a random one that is returned to be printed
once (the local runner's banner; never in the cluster, where the Secret holds it). No
default password exists, and the first login must replace whichever was used.
"""

from __future__ import annotations

import secrets
import uuid

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from functions.auth import store
from shared.auth.passwords import hash_password
from shared.auth.principal import Role

ADMIN_USERNAME = "admin"


async def ensure_admin(admin_dsn: str, password: str | None) -> str | None:
    """Create `admin` if no admin exists; returns a generated password, else None."""
    async with await AsyncConnection.connect(admin_dsn, row_factory=dict_row) as conn:
        await conn.execute("SET search_path TO auth")
        if await store.any_admin(conn):
            return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        await store.insert_user(
            conn,
            store.UserRecord(
                id=uuid.uuid4(),
                username=ADMIN_USERNAME,
                full_name="Administrador",
                password_hash=hash_password(password),
                role=Role.ADMIN,
                active=True,
                # Whoever set or read this password (a log, a Secret) is not the admin:
                # it must be replaced at first login.
                must_change_password=True,
            ),
        )
        await conn.commit()
        return generated
