"""Platform functions: the event log (every event) and the dead-letter sink with replay."""

from __future__ import annotations

from uuid import UUID

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.platform import store
from shared.config import FunctionSettings
from shared.contracts import endpoints as api
from shared.contracts.queries import DeadLettersQuery, EventsQuery
from shared.db.uow import UnitOfWork
from shared.errors import Problem
from shared.events.envelope import Envelope
from shared.events.registry import Payload
from shared.http import HttpFunction, RequestContext, Route, is_delivery
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import Subscriber

settings = FunctionSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)


async def _record(uow: UnitOfWork, event: Envelope, payload: Payload | None) -> None:
    await store.log_event(uow.conn, event)


class EventLog(Subscriber):
    """Takes every event. The log is its own inbox: a row's key is the event's (source,
    id), written once in the delivery's transaction, so a redelivery finds it and changes
    nothing. One statement per event instead of an inbox row and a log row (issue 16: the
    event log takes every event of every sale)."""

    async def apply(self, event: Envelope) -> bool:
        self.payload(event)  # a known type must honour its contract (400 otherwise)
        async with await self.runtime.unit_of_work(actor=event.actor) as uow:
            if not await store.log_event(uow.conn, event):
                return False
            await uow.commit()
        return True


async def _recent(ctx: RequestContext) -> dict[str, object]:
    query = ctx.query(EventsQuery)
    async with await ctx.unit_of_work() as uow:
        items = await store.recent_events(uow.conn, limit=query.limit, type_=query.type)
    return {"items": items}


class DeadLetterSink(Subscriber):
    """Stores what the broker gave up on. No inbox: a replay that fails again must be
    stored again under the same (source, id, destination), which an inbox would take for
    a duplicate."""

    async def apply(self, event: Envelope) -> bool:
        async with await self.runtime.unit_of_work(actor=event.actor) as uow:
            await store.store_dead_letter(uow.conn, event)
            await uow.commit()
        return True


async def _dead_letters(ctx: RequestContext) -> dict[str, object]:
    async with await ctx.unit_of_work() as uow:
        items = await store.list_dead_letters(uow.conn, limit=ctx.query(DeadLettersQuery).limit)
    return {"items": items}


async def _replay(ctx: RequestContext) -> Response:
    dead_letter_id: UUID = ctx.params["dead_letter_id"]
    async with await ctx.unit_of_work() as uow:
        event = await store.take_for_replay(uow.conn, dead_letter_id)
        if event is None:
            raise Problem(404, "No such dead letter.")
        # The same event (same source and id) goes back through the outbox to the broker:
        # subscribers that had applied it find it in their inbox and do nothing.
        await uow.republish(event, aggregate=str(dead_letter_id))
        await uow.commit()
    return Response(status_code=202)


_event_log_http = HttpFunction(runtime, [Route(api.RECENT_EVENTS, _recent)])
_event_log_events = EventLog(runtime, [], every_event=_record)
_dead_letter_http = HttpFunction(
    runtime,
    [
        Route(api.DEAD_LETTERS, _dead_letters),
        Route(api.REPLAY_DEAD_LETTER, _replay),
    ],
)
_dead_letter_events = DeadLetterSink(runtime, [])


@functions_framework.aio.http
async def event_log(request: Request) -> Response:
    if is_delivery(request):
        return await _event_log_events(request)
    return await _event_log_http(request)


@functions_framework.aio.http
async def dead_letter(request: Request) -> Response:
    if is_delivery(request):
        return await _dead_letter_events(request)
    return await _dead_letter_http(request)
