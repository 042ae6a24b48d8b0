"""till and apply-to-till: each operator's own drawer session.

PLACEHOLDER written by the coordinator for issue 17; the till work replaces it.
"""

from __future__ import annotations

from uuid import UUID

from psycopg import AsyncConnection

from shared.http import Route
from shared.subscriber import On


def routes() -> list[Route]:
    """The till's HTTP endpoints (api.OPEN_TILL, TILL_SESSIONS, TILL_MOVEMENT, CLOSE_TILL)."""
    return []


def events() -> list[On]:  # type: ignore[type-arg]
    """apply-to-till's events (customer.payment_received)."""
    return []


async def open_session_of(conn: AsyncConnection, operator_id: UUID) -> UUID | None:
    """The operator's open session, if any: complete-sale records it on the sale."""
    return None


async def record_refund(
    conn: AsyncConnection, session_id: UUID, method: str, amount_cents: int, return_id: UUID
) -> None:
    """Money a return gave back from this session's drawer (return-sale calls it in the
    return's own transaction): the session's expected amount for `method` goes down."""
    return None
