"""The outbox and inbox against the real PostgreSQL, publishing to a real HTTP sink."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from shared import tracecontext
from shared.db.uow import UnitOfWork
from shared.events.catalog import CategoryCreated
from shared.events.envelope import Envelope, new_envelope
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime, published_by
from tests.support.database import ProvisionedDatabase
from tests.support.servers import free_port
from tests.support.sink import RecordingSink


def _runtime(database: ProvisionedDatabase, k_sink: str | None) -> Runtime:
    return function_runtime(database, "catalog", "create_category", k_sink=k_sink)


@pytest.fixture
async def clean_outbox(database: ProvisionedDatabase) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(database.admin_dsn, autocommit=True) as conn:
        await conn.execute("TRUNCATE catalog.outbox, catalog.inbox")


@pytest.fixture
def publishing(
    database: ProvisionedDatabase, sink: tuple[RecordingSink, str], clean_outbox: None
) -> tuple[RecordingSink, Runtime]:
    """A function that publishes to the sink on commit, its outbox empty to begin with."""
    recorder, url = sink
    return recorder, _runtime(database, url)


async def _unpublished(runtime: Runtime) -> int:
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        row = await (
            await conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        ).fetchone()
    assert row is not None
    return int(row["n"])


def _event(name: str) -> CategoryCreated:
    return CategoryCreated(category_id=str(uuid.uuid4()), name=name)


async def test_committed_event_is_published_once_with_its_trace(
    publishing: tuple[RecordingSink, Runtime],
) -> None:
    recorder, runtime = publishing
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    tracecontext.set_current(tracecontext.TraceContext(traceparent))
    async with await runtime.unit_of_work(actor="user-1") as uow:
        envelope = await uow.emit(_event("Bovinos"), subject="agg-1")
        await uow.commit()
    tracecontext.set_current(None)

    assert recorder.ids() == [envelope.id]
    headers = recorder.received[0].headers
    assert headers["ce-type"] == "com.acougue.category.created"
    assert headers["ce-source"] == "/acougue/create-category"
    assert headers["ce-subject"] == "agg-1"
    assert headers["ce-actor"] == "user-1"
    assert headers["traceparent"] == traceparent
    assert json.loads(recorder.received[0].body)["name"] == "Bovinos"
    assert await _unpublished(runtime) == 0
    # A sweep afterwards publishes nothing again.
    assert (await runtime.outbox.relay()).published == 0
    assert len(recorder.received) == 1


async def test_uncommitted_work_leaves_no_event(
    publishing: tuple[RecordingSink, Runtime],
) -> None:
    recorder, runtime = publishing

    async def failing_command() -> None:
        async with await runtime.unit_of_work() as uow:
            await uow.emit(_event("Suínos"), subject="agg-2")
            raise RuntimeError("the command failed before commit")

    with pytest.raises(RuntimeError):
        await failing_command()
    async with await runtime.unit_of_work() as uow:
        await uow.emit(_event("Aves"), subject="agg-3")  # never committed
    assert recorder.received == []
    assert await _unpublished(runtime) == 0


@pytest.mark.usefixtures("clean_outbox")
async def test_event_left_by_a_failed_publish_is_swept_later(
    database: ProvisionedDatabase, sink: tuple[RecordingSink, str]
) -> None:
    recorder, url = sink
    # The broker is unreachable when the command commits (nothing listens on that port).
    down = _runtime(database, f"http://127.0.0.1:{free_port()}/")
    async with await down.unit_of_work() as uow:
        envelope = await uow.emit(_event("Linguiças"), subject="agg-4")
        await uow.commit()
    assert await _unpublished(down) == 1

    pool = await down.pool.get()
    async with pool.connection() as conn:
        row = await (
            await conn.execute("SELECT attempts, next_attempt_at > now() AS later FROM outbox")
        ).fetchone()
        assert row == {"attempts": 1, "later": True}
        # Backoff is honoured: a sweep now does not retry yet...
        up = _runtime(database, url)
        assert (await up.outbox.relay()).published == 0
        # ...and once due, the sweep publishes it.
        await conn.execute("UPDATE outbox SET next_attempt_at = now()")
        await conn.commit()
    assert (await up.outbox.relay()).published == 1
    assert recorder.ids() == [envelope.id]


@pytest.mark.usefixtures("clean_outbox")
async def test_concurrent_sweeps_keep_each_aggregates_order_and_publish_once(
    database: ProvisionedDatabase, slow_sink: tuple[RecordingSink, str]
) -> None:
    recorder, url = slow_sink
    writer = _runtime(database, None)  # no K_SINK: everything waits for the sweep
    expected: dict[str, list[str]] = {}
    for aggregate in ("a", "b", "c"):
        for n in range(4):
            async with await writer.unit_of_work() as uow:
                envelope = await uow.emit(_event(f"{aggregate}{n}"), subject=aggregate)
                await uow.commit()
            expected.setdefault(aggregate, []).append(envelope.id)

    sweepers = [_runtime(database, url) for _ in range(3)]
    await asyncio.gather(*(s.outbox.relay() for s in sweepers))
    await asyncio.gather(*(s.outbox.relay() for s in sweepers))

    assert published_by(recorder, lambda headers: headers["ce-subject"]) == expected
    assert await _unpublished(writer) == 0


@pytest.mark.usefixtures("clean_outbox")
async def test_inbox_applies_an_event_once_even_when_duplicates_race(
    database: ProvisionedDatabase,
) -> None:
    runtime = _runtime(database, None)
    event = new_envelope(
        type_="com.acougue.product.created", source="/acougue/test", subject="p", data={}
    )

    async def deliver() -> bool:
        async with await runtime.unit_of_work() as uow:
            first = await uow.first_delivery(event)
            await asyncio.sleep(0.05)  # hold the transaction open while the twin arrives
            await uow.commit()
            return first

    results = await asyncio.gather(deliver(), deliver(), deliver())
    assert sorted(results) == [False, False, True]


@pytest.mark.usefixtures("clean_outbox")
async def test_a_named_consumer_has_its_own_inbox_key_in_the_shared_inbox(
    database: ProvisionedDatabase,
) -> None:
    """Two functions of one schema take the same event: each applies it once. The one that
    names a consumer records `"<consumer> <source>"` (the key rows already in the inbox
    were written with), the other the event's own source."""
    runtime = _runtime(database, None)
    applied: list[str] = []

    def recording(name: str) -> On[CategoryCreated]:
        async def handler(uow: UnitOfWork, event: Envelope, created: CategoryCreated) -> None:
            applied.append(name)

        return On(CategoryCreated, handler)

    plain = Subscriber(runtime, [recording("plain")])
    named = Subscriber(runtime, [recording("named")], consumer="bills")
    created = _event("Bovinos")
    event = new_envelope(
        type_="com.acougue.category.created",
        source="/acougue/create-category",
        subject=created.category_id,
        data=created.model_dump(mode="json"),
    )
    assert await plain.apply(event) is True
    assert await named.apply(event) is True
    assert await plain.apply(event) is False
    assert await named.apply(event) is False
    assert applied == ["plain", "named"]
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT source FROM inbox WHERE event_id = %s ORDER BY source", (event.id,)
        )
        rows = await cursor.fetchall()
    assert [r["source"] for r in rows] == [
        "/acougue/create-category",
        "bills /acougue/create-category",
    ]
    with pytest.raises(ValueError, match="consumer"):
        Subscriber(runtime, [], consumer=" bills")
