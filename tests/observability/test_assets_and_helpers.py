"""Without the system: the Datadog assets, the metrics client and the tracer-off helpers.

The tracer itself is never started in the test process (it would patch httpx, Starlette
and psycopg for every other test); the traced paths run in real processes elsewhere here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import metrics as metrics_module
from shared import tracecontext, tracing
from shared.metrics import CATALOGUE, Metrics, process_age
from tests.observability.agent import StatsdListener
from tests.support.system import wait_for
from tooling.manifests import REPO_ROOT

DATADOG = REPO_ROOT / "datadog"
_METRIC = re.compile(r"\bacougue\.([a-z_.]+[a-z_])")
_SENT = re.compile(r"\.(?:increment|gauge|distribution)\(\s*\"([a-z_.]+)\"")
_MONITOR_THRESHOLD = re.compile(r">\s*([0-9.]+)\s*$")


def _queries(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("query", "q") and isinstance(value, str):
                yield value
            else:
                yield from _queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _queries(item)


def test_the_dashboard_is_importable_and_shows_only_metrics_we_send() -> None:
    dashboard = json.loads((DATADOG / "dashboard.json").read_text())
    assert dashboard["layout_type"] == "ordered"
    assert dashboard["title"]
    titles = [w["definition"]["title"] for w in dashboard["widgets"]]
    assert titles == ["Sales", "Latency per function", "Events", "Dead letters"]
    variables = {f"${v['name']}" for v in dashboard["template_variables"]}
    queries = list(_queries(dashboard))
    assert len(queries) >= 15
    for query in queries:
        for name in _METRIC.findall(query):
            assert name in CATALOGUE, f"the dashboard plots acougue.{name}, which nothing sends"
        for variable in re.findall(r"\$[a-z_]+", query):
            assert variable in variables, query
    assert any("trace.starlette.request" in q for q in queries)  # latency from APM


@pytest.mark.parametrize(
    "path", sorted((DATADOG / "monitors").glob("*.json")), ids=lambda p: p.stem
)
def test_monitors_are_importable(path: Path) -> None:
    monitor = json.loads(path.read_text())
    assert monitor["type"] == "query alert"
    assert monitor["name"].startswith("[Açougue]")
    assert monitor["message"]
    threshold = _MONITOR_THRESHOLD.search(monitor["query"])
    assert threshold is not None, "a query alert ends with its comparison"
    # Datadog refuses a monitor whose critical threshold differs from the query's.
    assert float(threshold.group(1)) == float(monitor["options"]["thresholds"]["critical"])
    for name in _METRIC.findall(monitor["query"]):
        assert name in CATALOGUE, f"{path.name} watches acougue.{name}, which nothing sends"


def test_every_literal_metric_name_in_the_code_is_catalogued() -> None:
    sent: set[str] = set()
    for folder in ("shared", "tooling"):  # the local broker (tooling/broker) sends its own
        for source in (REPO_ROOT / folder).rglob("*.py"):
            sent.update(_SENT.findall(source.read_text()))
    assert {"requests", "outbox.lag", "broker.dead_letters", "event.lag"} <= sent
    assert sent <= set(CATALOGUE), sent - set(CATALOGUE)


@pytest.fixture
def listener() -> Iterator[StatsdListener]:
    udp = StatsdListener()
    yield udp
    udp.close()


def test_what_events_mean_reaches_dogstatsd(listener: StatsdListener) -> None:
    sink = Metrics("127.0.0.1", listener.port, {"service": "update-sale-status", "env": "t"})
    paid = {"sale_id": "s1", "total_cents": 12345, "payment_method": "pix", "items": []}
    sink.event_published("com.acougue.sale.paid", paid, 0.25)
    declined = {"sale_id": "s2", "amount_cents": 4713, "method": "debit", "reason": "saldo"}
    sink.event_published("com.acougue.payment.declined", declined, 0.5)
    completed = {"sale_id": "s3", "total_cents": 10, "payment": {"method": "cash"}}
    sink.event_published("com.acougue.sale.completed", completed, 0.1)
    assert sink.first_request("event") is True
    assert sink.first_request("event") is False
    wait_for(lambda: len(listener.received) >= 11, timeout=5, interval=0.05)
    for datagram in listener.received:
        assert datagram.name.removeprefix("acougue.") in CATALOGUE
        assert datagram.tags["service"] == "update-sale-status"
        assert datagram.tags["env"] == "t"
    (revenue,) = listener.find("acougue.sales.paid.amount_cents")
    assert (revenue.value, revenue.kind, revenue.tags["payment_method"]) == (12345, "c", "pix")
    assert listener.find("acougue.payments.declined", payment_method="debit")
    assert listener.find("acougue.sales.completed", payment_method="cash")
    (lag,) = listener.find("acougue.outbox.lag", event_type="sale.paid")
    assert (lag.value, lag.kind) == (0.25, "d")
    assert len(listener.find("acougue.function.cold_start", kind="event")) == 1


def test_the_agent_address_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DD_DOGSTATSD_URL", "DD_DOGSTATSD_HOST", "DD_DOGSTATSD_PORT", "DD_AGENT_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DD_AGENT_HOST", "10.0.0.7")
    metrics_module.reset()
    assert metrics_module.metrics().address == ("10.0.0.7", 8125)
    monkeypatch.setenv("DD_DOGSTATSD_PORT", "9125")
    metrics_module.reset()
    assert metrics_module.metrics().address == ("10.0.0.7", 9125)
    monkeypatch.setenv("DD_DOGSTATSD_URL", "udp://127.0.0.2:8200")
    metrics_module.reset()
    assert metrics_module.metrics().address == ("127.0.0.2", 8200)
    monkeypatch.setenv("DD_DOGSTATSD_URL", "udp://nowhere.invalid:8125")
    metrics_module.reset()
    metrics_module.metrics().increment("requests")  # unresolvable: lost, never raised
    metrics_module.reset()


def test_process_age_counts_from_the_process_start() -> None:
    age = process_age()
    assert 0 < age < 24 * 3600


def test_business_tags_are_an_allow_list() -> None:
    pix = "00020126360014BR.GOV.BCB.PIX0114pix@acougue.example5204000053039865802BR"
    data = {
        "sale_id": "s-1",
        "payment_id": "p-1",
        "amount_cents": 990,
        "method": "pix",
        "pix": {"txid": "t", "payload": pix},
        "reason": "free text",
        "password": "x",
    }
    tags = tracing.business_tags(data)
    assert tags == {
        "acougue.sale_id": "s-1",
        "acougue.payment_id": "p-1",
        "acougue.amount_cents": 990,
        "acougue.payment_method": "pix",
    }
    nested = tracing.business_tags({"total_cents": 5, "payment": {"method": "credit"}})
    assert nested == {"acougue.amount_cents": 5, "acougue.payment_method": "credit"}
    assert tracing.business_tags(None) == {}


def test_with_the_tracer_off_logs_still_name_the_w3c_trace() -> None:
    assert not tracing.enabled()  # nothing in the test process starts it
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    tracecontext.set_current(
        tracecontext.from_headers({"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    )
    try:
        assert tracing.log_context() == {"dd.trace_id": trace_id}
        with tracing.span("ignored", tags={"a": 1}) as span:
            assert span.span is None
        headers: dict[str, str] = {}
        tracing.inject(headers)
        assert headers == {}
    finally:
        tracecontext.set_current(None)
    assert tracing.log_context() == {}


def test_the_tracer_answers_for_the_current_context_when_on() -> None:
    given = tracecontext.TraceContext("00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    tracecontext.use_tracer(lambda: given)
    try:
        assert tracecontext.current() == given
    finally:
        tracecontext.use_tracer(None)
    assert tracecontext.current() is None
