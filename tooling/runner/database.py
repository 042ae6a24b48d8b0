"""The database for a local run: the given DATABASE_URL, or an embedded PostgreSQL."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger("acougue.runner")


class EmbeddedPostgres(AbstractContextManager["EmbeddedPostgres"]):
    """pgserver's PostgreSQL under the data folder, on a Unix socket; stopped on exit.

    A second run finds the same folder and the same data.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pg"
        self._server: Any = None

    def __enter__(self) -> EmbeddedPostgres:
        import pgserver  # only when embedding: it is a large import

        self.pgdata.mkdir(parents=True, exist_ok=True)
        get_server: Any = getattr(pgserver, "get_server")  # noqa: B009 - untyped re-export
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        return self

    def ensure_max_connections(self, wanted: int) -> bool:
        """Raise max_connections to `wanted` (a restart, once: ALTER SYSTEM keeps it in the
        data folder). True when it had to."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT current_setting('max_connections')::int").fetchone()
            assert row is not None
            if row[0] >= wanted:
                return False
            conn.execute(f"ALTER SYSTEM SET max_connections = {int(wanted)}")
        log.info("embedded PostgreSQL: max_connections %s -> %s (restart)", row[0], wanted)
        self._server.cleanup()
        import pgserver

        get_server: Any = getattr(pgserver, "get_server")  # noqa: B009 - untyped re-export
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        return True

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.get_uri())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def role_dsn(admin_dsn: str, role: str, password: str) -> str:
    """The admin's connection string with the domain role's credentials instead."""
    params = conninfo_to_dict(admin_dsn)
    params.update(user=role, password=password)
    return make_conninfo(**{k: str(v) for k, v in params.items()})
