"""How many PostgreSQL connections the functions may hold at once, against what the server
allows: with every function up and busy, each pool fills to its DB_POOL_MAX. Past the
server's max_connections a request gets "the database is unavailable" (503), so the runner
raises the embedded server's limit and warns about an external one at start."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import AsyncConnection

from shared.config import FunctionSettings
from tooling.manifests import ServiceSpec

DEFAULT_POOL_MAX: int = FunctionSettings.model_fields["db_pool_max"].default
# Besides the functions: migrations, the runner's own checks, a psql or a backup.
HEADROOM = 10


def functions_need(services: Iterable[ServiceSpec]) -> int:
    """The connections every function with a database may open at once."""
    return sum(
        int(svc.env.get("DB_POOL_MAX", DEFAULT_POOL_MAX))
        for svc in services
        if "DATABASE_URL" in svc.secret_env
    )


def limit_needed(services: Iterable[ServiceSpec]) -> int:
    return functions_need(services) + HEADROOM


async def server_allows(dsn: str) -> int:
    """max_connections less the slots reserved for superusers."""
    async with await AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
        )
        row = await cursor.fetchone()
    assert row is not None
    allowed: int = row[0]
    return allowed


def shortfall_warning(needed: int, allowed: int) -> str | None:
    if needed <= allowed:
        return None
    return (
        f"Warning: the functions may hold {needed} PostgreSQL connections at once (each"
        f" function's DB_POOL_MAX, plus {HEADROOM}), but the server allows {allowed}: under"
        " load some requests would get 503 'the database is unavailable'. Raise the server's"
        " max_connections, or lower DB_POOL_MAX."
    )
