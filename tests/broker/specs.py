"""The Knative objects the broker's tests declare: a Broker, its Triggers, their delivery.

Every Trigger delivers to one Service, SUBSCRIBER (the tests' recording subscriber, see
harness.py), at a path of its own, so a test reads where each event went by the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tooling.manifests import (
    BrokerSpec,
    DeliverySpec,
    Destination,
    ServiceSpec,
    Topology,
    TriggerSpec,
)

SUBSCRIBER = "sub"
NAMESPACE = "acougue-test"
SALE_COMPLETED = "com.acougue.sale.completed"


def trigger(
    name: str,
    filter: Mapping[str, str] | None = None,
    *,
    path: str | None = None,
    uri: str | None = None,
    delivery: DeliverySpec | None = None,
    parallelism: int = 1,
) -> TriggerSpec:
    """A Trigger delivering to the recorder at `/<name>` (or to an absolute `uri`)."""
    subscriber = (
        Destination(uri=uri) if uri else Destination(service=SUBSCRIBER, uri=path or f"/{name}")
    )
    return TriggerSpec(name, "default", dict(filter or {}), subscriber, delivery, parallelism)


def delivery(
    retry: int | None = 2, delay: float = 0.02, *, sink: str | None = "/dls", **more: Any
) -> DeliverySpec:
    dead_letter_sink = Destination(service=SUBSCRIBER, uri=sink) if sink else None
    return DeliverySpec(retry=retry, backoff_delay=delay, dead_letter_sink=dead_letter_sink, **more)


def topology(triggers: list[TriggerSpec], broker_delivery: DeliverySpec | None) -> Topology:
    broker = BrokerSpec("default", NAMESPACE, "RabbitMQBroker", broker_delivery)
    services = {SUBSCRIBER: ServiceSpec(name=SUBSCRIBER, domain="test", publishes=False)}
    return Topology({"default": broker}, triggers, services, [])


def sales_topology(third: TriggerSpec) -> Topology:
    """The ingress tests' Broker: every event to `/all`, sale.completed to `/sales`, and a
    third Trigger of the test's own; the default delivery (2 retries, dead letters at `/dls`)."""
    return topology([trigger("all"), trigger("sales", {"type": SALE_COMPLETED}), third], delivery())
