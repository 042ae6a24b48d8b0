"""The inbox: which CloudEvents this domain has already applied."""

from __future__ import annotations

from shared.db.pool import Conn, untraced


async def first_delivery(conn: Conn, *, source: str, event_id: str, event_type: str) -> bool:
    """Record the event in the current transaction; False if it was applied before.

    A concurrent duplicate blocks on the first one's uncommitted row and then finds it,
    so two deliveries racing each other still apply once. Bookkeeping: no span of its own.
    """
    cursor = await untraced(conn).execute(
        "INSERT INTO inbox (source, event_id, event_type) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (source, event_id, event_type),
    )
    return await cursor.fetchone() is not None
