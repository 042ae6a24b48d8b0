"""The wiring read from knative/ and eventing/."""

from __future__ import annotations

import pytest

from tooling.manifests import ManifestError, load_topology, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT0.2S", 0.2), ("PT1M", 60.0), ("PT1H2M3S", 3723.0), ("P1D", 86400.0), ("PT30S", 30.0)],
)
def test_iso8601_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "1S", "PTS", "PT-1S"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ManifestError):
        parse_duration(text)


def test_repository_topology_is_complete() -> None:
    topology = load_topology()
    broker = topology.broker()
    assert broker.broker_class == "RabbitMQBroker"
    assert broker.delivery is not None
    assert broker.delivery.dead_letter_sink is not None
    assert broker.delivery.dead_letter_sink.service == "dead-letter"
    event_log = next(t for t in topology.triggers if t.name == "event-log")
    assert event_log.filter == {}
    for svc in topology.services.values():
        if svc.function_target:
            assert svc.env["FUNCTION_SOURCE"] == f"functions/{svc.domain}/main.py"
            assert svc.function_target.replace("_", "-") == svc.name
    assert {p.sink.service for p in topology.pings} <= set(topology.services)
