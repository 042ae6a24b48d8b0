"""The outbox relay against the real PostgreSQL: one role sweeps every domain's outbox.

What the per-function sweeps guaranteed, now from one function with a role of its own:
order per aggregate under concurrent relays, each event once, the writer's trace context,
backoff after a failed publish; and scheduled events published only once due. The role
may read and mark outbox rows and nothing else.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import psycopg
import psycopg.sql
import pytest
from pydantic import SecretStr

from functions.relay.settings import RelaySettings
from functions.relay.sweep import Relay
from shared import tracecontext
from shared.db import outbox
from shared.db.migrations import RELAY
from shared.db.pool import LazyPool
from shared.events.envelope import new_envelope
from shared.events.payments import PixReceived
from shared.publisher import Publisher
from shared.runtime import Runtime
from tests.functions.support import function_runtime, published_by
from tests.support.database import ProvisionedDatabase
from tests.support.servers import free_port
from tests.support.sink import RecordingSink

WRITERS = {"catalog": "create_category", "payments": "process_payment", "sales": "complete_sale"}


@pytest.fixture
async def clean_outboxes(database: ProvisionedDatabase) -> None:
    """Every domain's outbox empty: the relay sweeps them all, and the session's database
    keeps what other tests left unpublished."""
    async with await psycopg.AsyncConnection.connect(database.admin_dsn, autocommit=True) as conn:
        rows = await (
            await conn.execute(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relname = 'outbox' AND c.relkind = 'r'"
            )
        ).fetchall()
        for (schema,) in rows:
            await conn.execute(
                psycopg.sql.SQL("TRUNCATE {}").format(psycopg.sql.Identifier(schema, "outbox"))
            )


def _writer(database: ProvisionedDatabase, domain: str) -> Runtime:
    """A domain's function with no K_SINK: what it writes waits for the relay."""
    return function_runtime(database, domain, WRITERS[domain])


def _relay(database: ProvisionedDatabase, url: str) -> Relay:
    settings = RelaySettings(
        function_target="outbox_relay",
        database_url=SecretStr(database.role_dsn(RELAY)),
        k_sink=url,
    )
    return Relay(LazyPool(settings), Publisher(url, timeout=2.0))


async def _write(runtime: Runtime, subject: str, name: str) -> str:
    """An event in the writer's outbox, under its own source (the relay reads no type)."""
    envelope = new_envelope(
        type_="com.acougue.test.relayed",
        source=runtime.settings.source,
        subject=subject,
        data={"name": name},
    )
    async with await runtime.unit_of_work() as uow:
        await outbox.add(uow.conn, envelope, tracecontext.current(), aggregate=subject)
        await uow.commit()
    return envelope.id


async def _unpublished(database: ProvisionedDatabase) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with await psycopg.AsyncConnection.connect(database.admin_dsn) as conn:
        for domain in WRITERS:
            row = await (
                await conn.execute(
                    f"SELECT count(*) FROM {domain}.outbox WHERE published_at IS NULL"
                )
            ).fetchone()
            assert row is not None
            counts[domain] = int(row[0])
    return counts


async def test_the_relay_sweeps_exactly_the_domains_outboxes(
    database: ProvisionedDatabase, sink: tuple[RecordingSink, str]
) -> None:
    domains = await _relay(database, sink[1]).outboxes()
    assert set(WRITERS) <= set(domains)
    assert RELAY not in domains
    with psycopg.connect(database.admin_dsn) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
            " WHERE c.relname = 'outbox' AND nspname <> 'public'"
        ).fetchall()
    assert sorted(domains) == sorted(r[0] for r in rows)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM sales.sales",
        "SELECT * FROM auth.users",
        "SELECT * FROM catalog.inbox",
        "INSERT INTO catalog.outbox (event_id, event_type, aggregate_id, attributes, data)"
        " VALUES (gen_random_uuid(), 'x', 'y', '{}', '{}')",
        "UPDATE catalog.outbox SET data = '{}'",
        "UPDATE catalog.outbox SET attributes = '{}'",
        "DELETE FROM catalog.outbox",
        "CREATE TABLE catalog.mine (id int)",
    ],
)
def test_the_relay_role_may_do_nothing_but_read_and_mark_outbox_rows(
    database: ProvisionedDatabase, statement: str
) -> None:
    with (
        psycopg.connect(database.role_dsn(RELAY)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


def test_the_relay_role_may_mark_a_row_published(database: ProvisionedDatabase) -> None:
    with psycopg.connect(database.role_dsn(RELAY)) as conn:
        conn.execute(
            "SELECT id FROM catalog.outbox WHERE published_at IS NULL LIMIT 1 FOR UPDATE"
        ).fetchall()
        conn.execute(
            "UPDATE catalog.outbox SET published_at = now(), attempts = attempts,"
            " next_attempt_at = now(), last_error = NULL WHERE false"
        )
        conn.rollback()


@pytest.mark.usefixtures("clean_outboxes")
async def test_concurrent_relays_publish_every_domain_once_in_each_aggregates_order(
    database: ProvisionedDatabase, slow_sink: tuple[RecordingSink, str]
) -> None:
    recorder, url = slow_sink
    expected: dict[tuple[str, str], list[str]] = {}
    for domain in WRITERS:
        writer = _writer(database, domain)
        for aggregate in ("a", "b"):
            for n in range(3):
                event_id = await _write(writer, aggregate, f"{domain}-{aggregate}{n}")
                expected.setdefault((f"/acougue/{WRITERS[domain]}", aggregate), []).append(event_id)
    relays = [_relay(database, url) for _ in range(3)]
    await asyncio.gather(*(r.sweep() for r in relays))
    await asyncio.gather(*(r.sweep() for r in relays))

    published = published_by(
        recorder, lambda headers: (headers["ce-source"].replace("-", "_"), headers["ce-subject"])
    )
    assert published == expected  # once each, in order, the writer's own source kept
    assert set((await _unpublished(database)).values()) == {0}


@pytest.mark.usefixtures("clean_outboxes")
async def test_the_relay_publishes_in_the_writers_trace_and_backs_off_a_failed_publish(
    database: ProvisionedDatabase, sink: tuple[RecordingSink, str]
) -> None:
    recorder, url = sink
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    tracecontext.set_current(tracecontext.TraceContext(traceparent))
    event_id = await _write(_writer(database, "catalog"), "t-1", "Miúdos")
    tracecontext.set_current(None)

    down = _relay(database, f"http://127.0.0.1:{free_port()}/")
    assert (await down.sweep()).failed == 1
    with psycopg.connect(database.admin_dsn) as conn:
        row = conn.execute(
            "SELECT attempts, next_attempt_at > now(), last_error IS NOT NULL FROM catalog.outbox"
        ).fetchone()
    assert row == (1, True, True)
    up = _relay(database, url)
    assert (await up.sweep()).published == 0, "backoff not honoured"
    with psycopg.connect(database.admin_dsn) as conn:
        conn.execute("UPDATE catalog.outbox SET next_attempt_at = now()")
    assert (await up.sweep()).published == 1
    assert recorder.ids() == [event_id]
    assert recorder.received[0].headers["traceparent"] == traceparent


@pytest.mark.usefixtures("clean_outboxes")
async def test_a_scheduled_event_waits_until_due_and_holds_back_nothing_else(
    database: ProvisionedDatabase, sink: tuple[RecordingSink, str]
) -> None:
    recorder, url = sink
    payments = function_runtime(database, "payments", "process_payment", k_sink=url)
    sale = str(uuid.uuid4())
    notice = PixReceived(
        payment_id=str(uuid.uuid4()), sale_id=sale, attempt=1, txid="T" * 25, amount_cents=100
    )
    async with await payments.unit_of_work() as uow:
        scheduled = await uow.emit(
            notice, subject=sale, aggregate="pix:T", not_before=timedelta(hours=1)
        )
        other = await uow.emit(notice, subject=sale)  # the sale's own aggregate
        await uow.commit()
    # Published after commit: the sale's event, not the scheduled one.
    assert recorder.ids() == [other.id]
    relay = _relay(database, url)
    assert (await relay.sweep()).published == 0
    with psycopg.connect(database.admin_dsn) as conn:
        conn.execute(
            "UPDATE payments.outbox SET next_attempt_at = now() WHERE event_id = %s",
            (scheduled.id,),
        )
    assert (await relay.sweep()).published == 1
    assert recorder.ids() == [other.id, scheduled.id]
