"""`python -m tests.observability.late_publish DSN SINK`: an event written in one trace and
published later by a sweep running in another, as a function process would, traced.

Prints the ids of both spans as JSON; the test reads the rest from the test agent.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from pydantic import SecretStr

from shared import tracecontext, tracing
from shared.config import FunctionSettings
from shared.db import outbox as outbox_rows
from shared.db.outbox import Outbox
from shared.db.pool import LazyPool
from shared.events.envelope import new_envelope
from shared.publisher import Publisher

TYPE = "com.acougue.test.late"


async def main(dsn: str, sink: str) -> dict[str, object]:
    assert tracing.configure("outbox-late-publish", integrations=("httpx",))
    settings = FunctionSettings(
        function_target="outbox_late_publish",
        database_url=SecretStr(dsn),
        auth_jwks_url="http://127.0.0.1:1/unused",
        event_authentication="off",  # publishes to a recording sink, not to the broker
    )
    pool = LazyPool(settings)
    publisher = Publisher(sink)
    outbox = Outbox(pool, publisher)
    aggregate = str(uuid.uuid4())
    ids: dict[str, object] = {"aggregate": aggregate}
    with tracing.span("test.write") as written:
        assert written.span is not None
        ids["written"] = [written.span.trace_id, written.span.span_id]
        envelope = new_envelope(type_=TYPE, source="/tests", subject=aggregate, data={"n": 1})
        async with (await pool.get()).connection() as conn:
            await outbox_rows.add(conn, envelope, tracecontext.current())
            await conn.commit()
    with tracing.span("test.sweep") as sweep:
        assert sweep.span is not None
        ids["sweep"] = [sweep.span.trace_id, sweep.span.span_id]
        result = await outbox.relay([aggregate])
        ids["published"] = result.published
        # the sweep's span is active again once the publish span is done
        active = tracing.current_span().span
        ids["active_after"] = active.span_id if active is not None else None
    await publisher.aclose()
    await pool.close()
    return ids  # ddtrace sends the spans as the process exits


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
