"""A connection pool per function, opened on first use (functions start cold)."""

from __future__ import annotations

import asyncio
import select
from typing import cast

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import ConnStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from shared.config import DatabaseFunctionSettings

Conn = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Conn]


async def _configure(conn: Conn) -> None:
    # Sessions speak UTC; the UI converts to America/Sao_Paulo.
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.commit()


def untraced(conn: Conn) -> Conn:
    """The connection beneath the tracer's wrapper, for bookkeeping statements.

    With the tracer on, ddtrace's psycopg integration wraps each connection and makes two
    spans of every `execute` (the connection's and its cursor's) and one of every commit.
    What a span is worth: the statements of an effect (a sale, a stock movement) are the
    business and keep theirs; the pool's check, the inbox, the outbox and its relay, and
    the commit are the same few statements for every event and say nothing a trace needs
    (issue 16: they were most of a sale's ≈ 160 SQL spans). With the tracer off there is no
    wrapper and this is the connection itself.
    """
    return cast(Conn, getattr(conn, "__wrapped__", conn))


async def check_idle(conn: Conn) -> None:
    """Lend a pooled connection only if PostgreSQL has not closed it meanwhile.

    A restarted (or stopped) server ends its sessions: it sends each a FATAL error and
    closes the socket, so a dead idle connection is one whose socket has become readable.
    Looking costs a `select` with no wait instead of a round trip per borrow (what
    `AsyncConnectionPool.check_connection` does); only when something did arrive is the
    round trip made, and a connection that fails it is discarded by the pool, which lends
    another. So no request still pays for a restart.
    """
    raw = untraced(conn)
    if raw.closed or raw.pgconn.status != ConnStatus.OK:
        raise psycopg.OperationalError("the connection is closed")
    poll = select.poll()
    poll.register(raw.pgconn.socket, select.POLLIN)
    if poll.poll(0):
        await AsyncConnectionPool.check_connection(raw)


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
                        check=check_idle,
                    )
                    await pool.open()
                    self._pool = pool
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
