"""SQL of the auth schema."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from shared.auth.principal import Role
from shared.db.pool import Conn


@dataclass(frozen=True)
class UserRecord:
    id: UUID
    username: str
    full_name: str | None
    password_hash: str
    role: Role
    active: bool


async def find_by_username(conn: Conn, username: str) -> UserRecord | None:
    row = await (
        await conn.execute(
            "SELECT id, username, full_name, password_hash, role, active FROM users"
            " WHERE username = %s",
            (username,),
        )
    ).fetchone()
    return UserRecord(**{**row, "role": Role(row["role"])}) if row else None


async def find_by_id(conn: Conn, user_id: str) -> UserRecord | None:
    try:
        uid = UUID(user_id)
    except ValueError:
        return None
    row = await (
        await conn.execute(
            "SELECT id, username, full_name, password_hash, role, active FROM users WHERE id = %s",
            (uid,),
        )
    ).fetchone()
    return UserRecord(**{**row, "role": Role(row["role"])}) if row else None


async def insert_user(conn: Conn, user: UserRecord) -> None:
    await conn.execute(
        "INSERT INTO users (id, username, full_name, password_hash, role, active)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (user.id, user.username, user.full_name, user.password_hash, user.role.value, user.active),
    )


async def any_admin(conn: Conn) -> bool:
    row = await (await conn.execute("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1")).fetchone()
    return row is not None
