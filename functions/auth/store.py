"""SQL of the auth schema."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from functions.auth.domain import FailureCounts
from shared.auth.principal import Role
from shared.db.pool import Conn

_USER_COLUMNS = "id, username, full_name, password_hash, role, active, created_at"


@dataclass(frozen=True)
class UserRecord:
    id: UUID
    username: str
    full_name: str | None
    password_hash: str
    role: Role
    active: bool
    created_at: datetime | None = None


def _user(row: dict[str, Any] | None) -> UserRecord | None:
    return UserRecord(**{**row, "role": Role(row["role"])}) if row else None


async def find_by_username(conn: Conn, username: str) -> UserRecord | None:
    cursor = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE username = %s",  # noqa: S608
        (username,),
    )
    return _user(await cursor.fetchone())


async def find_by_id(
    conn: Conn, user_id: str | UUID, *, for_update: bool = False
) -> UserRecord | None:
    try:
        uid = user_id if isinstance(user_id, UUID) else UUID(user_id)
    except ValueError:
        return None
    lock = " FOR UPDATE" if for_update else ""
    cursor = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s{lock}",  # noqa: S608
        (uid,),
    )
    return _user(await cursor.fetchone())


async def list_users(conn: Conn) -> list[UserRecord]:
    cursor = await conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")  # noqa: S608
    return [u for row in await cursor.fetchall() if (u := _user(row))]


async def insert_user(conn: Conn, user: UserRecord) -> bool:
    """False when the username is taken."""
    cursor = await conn.execute(
        "INSERT INTO users (id, username, full_name, password_hash, role, active)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING RETURNING id",
        (user.id, user.username, user.full_name, user.password_hash, user.role.value, user.active),
    )
    return await cursor.fetchone() is not None


async def update_user(conn: Conn, user: UserRecord) -> None:
    await conn.execute(
        "UPDATE users SET full_name = %s, password_hash = %s, role = %s, active = %s,"
        " updated_at = now() WHERE id = %s",
        (user.full_name, user.password_hash, user.role.value, user.active, user.id),
    )


async def active_admins(conn: Conn) -> int:
    # Lock the admins' rows so that two demotions cannot both pass the last-admin check.
    cursor = await conn.execute(
        "SELECT count(*) AS n FROM (SELECT id FROM users WHERE role = 'admin' AND active"
        " FOR UPDATE) AS admins"
    )
    row = await cursor.fetchone()
    return int(row["n"]) if row else 0


async def any_admin(conn: Conn) -> bool:
    row = await (await conn.execute("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1")).fetchone()
    return row is not None


# -- sessions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshRecord:
    id: UUID
    family_id: UUID
    user_id: UUID
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


async def insert_refresh(
    conn: Conn, *, family_id: UUID, user_id: UUID, token_hash: str, ttl: timedelta
) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at)"
        " VALUES (%s, %s, %s, %s, now() + %s)",
        (uuid.uuid4(), family_id, user_id, token_hash, ttl),
    )


async def find_refresh(conn: Conn, token_hash: str) -> RefreshRecord | None:
    cursor = await conn.execute(
        "SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens"
        " WHERE token_hash = %s FOR UPDATE",
        (token_hash,),
    )
    row = await cursor.fetchone()
    return RefreshRecord(**row) if row else None


async def mark_rotated(conn: Conn, refresh_id: UUID) -> None:
    await conn.execute("UPDATE refresh_tokens SET rotated_at = now() WHERE id = %s", (refresh_id,))


async def revoke_family(conn: Conn, family_id: UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL",
        (family_id,),
    )


async def revoke_user_sessions(conn: Conn, user_id: UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
        (user_id,),
    )


# -- login rate limit -------------------------------------------------------------------


async def failure_counts(
    conn: Conn, *, username: str, address: str, window: timedelta
) -> FailureCounts:
    cursor = await conn.execute(
        "SELECT"
        " count(*) FILTER (WHERE username = %(u)s) AS username,"
        " count(*) FILTER (WHERE address = %(a)s) AS address,"
        " min(failed_at) FILTER (WHERE username = %(u)s) AS oldest_username,"
        " min(failed_at) FILTER (WHERE address = %(a)s) AS oldest_address"
        " FROM login_failures"
        " WHERE failed_at > now() - %(w)s AND (username = %(u)s OR address = %(a)s)",
        {"u": username, "a": address, "w": window},
    )
    row = await cursor.fetchone()
    assert row is not None
    return FailureCounts(**row)


async def record_failure(conn: Conn, *, username: str, address: str, window: timedelta) -> None:
    await conn.execute(
        "INSERT INTO login_failures (username, address) VALUES (%s, %s)", (username, address)
    )
    await conn.execute("DELETE FROM login_failures WHERE failed_at < now() - %s", (window,))


async def clear_failures(conn: Conn, *, username: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE username = %s", (username,))
