"""A connection pool per function, opened on first use (functions start cold)."""

from __future__ import annotations

import asyncio

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from shared.config import DatabaseFunctionSettings

Conn = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Conn]


async def _configure(conn: Conn) -> None:
    # Sessions speak UTC; the UI converts to America/Sao_Paulo.
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.commit()


class LazyPool:
    """Opens the pool at the first request, not at import: import stays cheap."""

    def __init__(self, settings: DatabaseFunctionSettings) -> None:
        self._settings = settings
        self._pool: Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    pool: Pool = AsyncConnectionPool(
                        self._settings.database_url.get_secret_value(),
                        min_size=self._settings.db_pool_min,
                        max_size=self._settings.db_pool_max,
                        kwargs={"row_factory": dict_row, "autocommit": False},
                        configure=_configure,
                        open=False,
                        name=self._settings.function_name,
                        timeout=10.0,
                        max_idle=60.0,
                        # A restarted PostgreSQL leaves dead connections in the pool: test
                        # each one before lending it, so no request pays for a restart.
                        check=AsyncConnectionPool.check_connection,
                    )
                    await pool.open()
                    self._pool = pool
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
