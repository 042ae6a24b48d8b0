"""The outbox keeps the trace of the span that wrote an event: a later sweep, running in a
trace of its own, still publishes it in the original trace (real PostgreSQL, real agent)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import pytest

from tests.observability.agent import TestAgent, Trace
from tests.support.components import run_checked
from tests.support.database import ProvisionedDatabase
from tests.support.servers import serve
from tests.support.sink import RecordingSink
from tests.support.system import wait_for
from tooling.manifests import REPO_ROOT


@pytest.fixture
def sink() -> Iterator[tuple[RecordingSink, str]]:
    recorder = RecordingSink()
    with serve(recorder.app()) as url:
        yield recorder, url


def test_a_sweep_publishes_in_the_trace_that_wrote_the_event(
    agent: TestAgent, database: ProvisionedDatabase, sink: tuple[RecordingSink, str]
) -> None:
    recorder, url = sink
    agent.start_session()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    env.update(DD_TRACE_AGENT_URL=agent.url, PYTHONPATH=str(REPO_ROOT))
    module = "tests.observability.late_publish"
    out = run_checked([sys.executable, "-m", module, database.role_dsn("platform"), url], env=env)
    ids = json.loads(out.strip().splitlines()[-1])
    (written_trace, written_span), (sweep_trace, sweep_span) = ids["written"], ids["sweep"]
    assert ids["published"] == 1
    assert ids["active_after"] == sweep_span
    low = written_trace & (2**64 - 1)

    (received,) = recorder.received
    _, trace_hex, _, _ = received.headers["traceparent"].split("-")
    assert trace_hex == f"{written_trace:032x}"  # the broker is told the writer's trace

    def publish_span() -> Trace | None:
        traces = {t.trace_id: t for t in agent.traces()}
        found = traces.get(low)
        return (
            found if found and any(s.name == "cloudevents.publish" for s in found.spans) else None
        )

    written = wait_for(publish_span, timeout=20, interval=0.3)
    publish = next(s for s in written.spans if s.name == "cloudevents.publish")
    assert publish.parent_id == written_span
    assert publish.resource == "com.acougue.test.late"
    assert publish.meta["cloudevents.event_subject"] == ids["aggregate"]
    sweep = next(t for t in agent.traces() if t.trace_id == sweep_trace & (2**64 - 1))
    assert not [s for s in sweep.spans if s.name == "cloudevents.publish"]
