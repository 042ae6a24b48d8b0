"""return-sale: take back part of a paid sale.

PLACEHOLDER written by the coordinator for issue 17; the returns work replaces it.
"""

from __future__ import annotations

from uuid import UUID

from psycopg import AsyncConnection

from shared.contracts.sales import ReturnOut
from shared.http import Route


def routes() -> list[Route]:
    """return-sale's HTTP endpoint (api.RETURN_ITEMS)."""
    return []


async def returns_of(conn: AsyncConnection, sale_id: UUID) -> list[ReturnOut]:
    """A sale's returns, oldest first: GET /api/sales/{id} and the receipt show them."""
    return []
