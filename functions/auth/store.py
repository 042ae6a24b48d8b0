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

_USER_COLUMNS = (
    "id, username, full_name, password_hash, role, active, created_at,"
    " security_version, must_change_password"
)


@dataclass(frozen=True)
class UserRecord:
    id: UUID
    username: str
    full_name: str | None
    password_hash: str
    role: Role
    active: bool
    created_at: datetime | None = None
    security_version: int = 1
    must_change_password: bool = False


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
        "INSERT INTO users (id, username, full_name, password_hash, role, active,"
        " must_change_password) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (username) DO NOTHING RETURNING id",
        (
            user.id,
            user.username,
            user.full_name,
            user.password_hash,
            user.role.value,
            user.active,
            user.must_change_password,
        ),
    )
    return await cursor.fetchone() is not None


async def update_user(conn: Conn, user: UserRecord, *, new_stamp: bool) -> None:
    """`new_stamp`: rights or credentials changed, so every token issued before is void."""
    await conn.execute(
        "UPDATE users SET full_name = %s, password_hash = %s, role = %s, active = %s,"
        " must_change_password = %s,"
        " security_version = security_version + CASE WHEN %s THEN 1 ELSE 0 END,"
        " updated_at = now() WHERE id = %s",
        (
            user.full_name,
            user.password_hash,
            user.role.value,
            user.active,
            user.must_change_password,
            new_stamp,
            user.id,
        ),
    )


async def set_password_hash(conn: Conn, user_id: UUID, password_hash: str) -> None:
    """A rehash with new Argon2 parameters: same password, so the stamp stays."""
    await conn.execute(
        "UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
    )


async def session_state(conn: Conn, user_id: str) -> tuple[bool, int, bool] | None:
    """(active, security_version, must_change_password): the per-request check's one read."""
    try:
        uid = UUID(user_id)
    except ValueError:
        return None
    cursor = await conn.execute(
        "SELECT active, security_version, must_change_password FROM users WHERE id = %s",
        (uid,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return bool(row["active"]), int(row["security_version"]), bool(row["must_change_password"])


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
    session_expires_at: datetime


async def insert_refresh(
    conn: Conn,
    *,
    family_id: UUID,
    user_id: UUID,
    token_hash: str,
    ttl: timedelta,
    session_expires_at: datetime | None = None,
    session_max_age: timedelta | None = None,
) -> None:
    """A refresh token living `ttl`, never past its login's absolute end (given, for a
    rotation; or now + `session_max_age`, for a new login)."""
    await conn.execute(
        "INSERT INTO refresh_tokens"
        " (id, family_id, user_id, token_hash, expires_at, session_expires_at)"
        " SELECT %(id)s, %(family)s, %(user)s, %(hash)s, least(now() + %(ttl)s, s.at), s.at"
        " FROM (SELECT coalesce(%(end)s::timestamptz, now() + %(age)s) AS at) AS s",
        {
            "id": uuid.uuid4(),
            "family": family_id,
            "user": user_id,
            "hash": token_hash,
            "ttl": ttl,
            "end": session_expires_at,
            "age": session_max_age or ttl,
        },
    )


async def purge_sessions(conn: Conn, *, limit: int = 200) -> int:
    """Delete up to `limit` expired refresh tokens (bounded: a login never waits long)."""
    cursor = await conn.execute(
        "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens"
        " WHERE expires_at < now() LIMIT %s FOR UPDATE SKIP LOCKED)",
        (limit,),
    )
    return cursor.rowcount


async def find_refresh(conn: Conn, token_hash: str) -> RefreshRecord | None:
    cursor = await conn.execute(
        "SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at, session_expires_at"
        " FROM refresh_tokens"
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
        " count(*) FILTER (WHERE username = %(u)s) AS pair,"
        " count(*) AS address,"
        " max(failed_at) FILTER (WHERE username = %(u)s) AS last_pair,"
        " min(failed_at) AS oldest_address"
        " FROM login_failures WHERE failed_at > now() - %(w)s AND address = %(a)s",
        {"u": username, "a": address, "w": window},
    )
    row = await cursor.fetchone()
    assert row is not None
    return FailureCounts(**row)


async def record_failure(conn: Conn, *, username: str, address: str, window: timedelta) -> None:
    await conn.execute(
        "INSERT INTO login_failures (username, address) VALUES (%s, %s)", (username, address)
    )
    await conn.execute(
        "DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures"
        " WHERE failed_at < now() - %s LIMIT 500)",
        (window,),
    )


async def clear_failures(conn: Conn, *, username: str, address: str) -> None:
    """A right password clears only its own address's failures: an attacker's elsewhere
    keep slowing the attacker."""
    await conn.execute(
        "DELETE FROM login_failures WHERE username = %s AND address = %s", (username, address)
    )
