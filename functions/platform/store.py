"""SQL of the platform schema: the event log and the dead letters."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from shared.db.pool import Conn
from shared.events.envelope import Envelope

ERROR_EXTENSIONS = ("knativeerrordest", "knativeerrorcode", "knativeerrordata")


async def log_event(conn: Conn, event: Envelope) -> bool:
    """Log the event in the current transaction; False if it was logged before (the row's
    key is the event's (source, id), so the log is its own inbox)."""
    cursor = await conn.execute(
        "INSERT INTO event_log (source, event_id, type, subject, time, actor, attributes, data)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (
            event.source,
            event.id,
            event.type,
            event.subject,
            event.time,
            event.actor,
            Jsonb(event.attributes()),
            Jsonb(event.data),
        ),
    )
    return await cursor.fetchone() is not None


async def recent_events(conn: Conn, *, limit: int, type_: str | None) -> list[dict[str, Any]]:
    rows = await (
        await conn.execute(
            "SELECT attributes, data, received_at FROM event_log"
            " WHERE %(type)s::text IS NULL OR type = %(type)s"
            " ORDER BY received_at DESC LIMIT %(limit)s",
            {"type": type_, "limit": limit},
        )
    ).fetchall()
    return [{**r["attributes"], "data": r["data"], "received_at": r["received_at"]} for r in rows]


def _error_data(raw: str | None) -> str | None:
    """Knative sends the subscriber's answer base64-encoded; keep it readable."""
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return raw


async def store_dead_letter(conn: Conn, event: Envelope) -> None:
    """One row per failed delivery (source, id, destination): a replay that fails there
    again updates the row and counts."""
    extensions = event.extensions
    original = {k: v for k, v in event.attributes().items() if k not in ERROR_EXTENSIONS}
    await conn.execute(
        "INSERT INTO dead_letters (id, source, event_id, type, subject, attributes, data,"
        " error_dest, error_code, error_data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (source, event_id, error_dest) DO UPDATE SET"
        " error_code = EXCLUDED.error_code, error_data = EXCLUDED.error_data,"
        " failures = dead_letters.failures + 1, received_at = now(), replayed_at = NULL",
        (
            uuid.uuid4(),
            event.source,
            event.id,
            event.type,
            event.subject,
            Jsonb(original),
            Jsonb(event.data),
            extensions.get("knativeerrordest", ""),
            extensions.get("knativeerrorcode"),
            _error_data(extensions.get("knativeerrordata")),
        ),
    )


async def list_dead_letters(conn: Conn, *, limit: int) -> list[dict[str, Any]]:
    rows = await (
        await conn.execute(
            "SELECT id, source, event_id, type, subject, data, error_dest, error_code, error_data,"
            " failures, received_at, replayed_at FROM dead_letters"
            " ORDER BY received_at DESC LIMIT %s",
            (limit,),
        )
    ).fetchall()
    return [dict(r) for r in rows]


async def take_for_replay(conn: Conn, dead_letter_id: uuid.UUID) -> Envelope | None:
    row = await (
        await conn.execute(
            "UPDATE dead_letters SET replayed_at = now() WHERE id = %s RETURNING attributes, data",
            (dead_letter_id,),
        )
    ).fetchone()
    if row is None:
        return None
    return Envelope.from_attributes(row["attributes"], row["data"])
