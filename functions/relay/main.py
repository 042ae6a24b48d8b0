"""outbox-relay: woken by the one PingSource, publishes every domain's unpublished events.

The business functions publish their own events right after commit; this function only
catches what that missed (a crash between commit and publish, a broker outage) and the
scheduled events that fell due. Keeping the periodic wake-up here lets every business
function scale to zero.
"""

from __future__ import annotations

import logging
import time

import functions_framework.aio
import psycopg
import psycopg_pool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.relay.settings import RelaySettings
from functions.relay.sweep import Relay
from shared import tracing
from shared.db.pool import LazyPool
from shared.errors import Problem
from shared.events.envelope import PING_TYPE
from shared.logs import configure_logging
from shared.metrics import metrics
from shared.publisher import Publisher
from shared.runtime import publish_token
from shared.subscriber import parse_cloud_event, read_event_body

log = logging.getLogger("acougue.relay")
settings = RelaySettings()
configure_logging(settings.function_name)
pool = LazyPool(settings)
relay = Relay(
    pool,
    Publisher(
        settings.k_sink,
        timeout=settings.publish_timeout_seconds,
        token=publish_token(settings, settings.function_name),
    ),
    batch=settings.outbox_batch,
)


async def _answer(request: Request) -> Response:
    entry = tracing.entry_span()
    if request.url.path in tracing.PROBE_ROUTES:
        entry.tag({"http.route": request.url.path})
        if request.url.path == "/readyz":
            async with (await pool.get()).connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")
        return JSONResponse({"status": "ok"})
    if request.method != "POST":
        raise Problem(405, "Deliver the PingSource's event with POST.", headers={"Allow": "POST"})
    event = parse_cloud_event(
        request.headers, await read_event_body(request, settings.event_max_bytes)
    )
    if event.type != PING_TYPE:
        raise Problem(400, f"The relay answers only {PING_TYPE} events, not {event.type}.")
    entry.set_resource("outbox sweep")
    entry.tag({tracing.SWEEP_TAG: "true"})
    result = await relay.sweep()
    summary = result.as_dict()
    # A sweep that found nothing is the normal case, once a minute: not worth a line.
    log.log(
        logging.INFO if result.published or result.failed else logging.DEBUG,
        "outbox sweep: %d published, %d failed",
        result.published,
        result.failed,
        extra=summary,
    )
    return JSONResponse(summary)


@functions_framework.aio.http
async def outbox_relay(request: Request) -> Response:
    started = time.perf_counter()
    try:
        response = await _answer(request)
    except Problem as problem:
        response = problem.response()
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        log.warning("database unavailable", exc_info=True)
        response = Problem(
            503, "The database is unavailable; the next ping sweeps again."
        ).response()
    except Exception:
        log.exception("outbox sweep failed")
        response = Problem(500, "The sweep failed; the next ping tries again.").response()
    if request.url.path not in tracing.PROBE_ROUTES:
        _observe(response.status_code, round((time.perf_counter() - started) * 1000, 2))
    return response


def _observe(status: int, duration_ms: float) -> None:
    """The same request metrics as every function (kind `sweep`); the first is the cold start."""
    tags = {"kind": "sweep", "status_class": f"{status // 100}xx"}
    sink = metrics()
    sink.increment("requests", tags=tags)
    sink.distribution("request.duration", duration_ms, tags)
    if sink.first_request("sweep"):
        tracing.entry_span().tag({tracing.COLD_START_TAG: "true"})
