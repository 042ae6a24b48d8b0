"""From manifests to concrete routes: which URL each Trigger delivers to, with which policy.

Resolving every Destination here, once, makes a Trigger naming a Service with no local URL
fail at start-up (as the cluster would leave it not ready) instead of at its first event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from shared.events.identity import service_account, service_audience
from tooling.broker.policy import (
    RetryPolicy,
    dead_letter_source,
    sink_of,
    trigger_delivery,
)
from tooling.broker.settings import BrokerSettings
from tooling.manifests import BrokerSpec, Destination, Topology, TriggerSpec

# knative.dev/eventing pkg/auth/serviceaccount.go: `<name>-oidc-<group>-<kind>`, lower-case.
_TRIGGER_SA = "eventing.knative.dev-trigger"
_BROKER_SA = "eventing.knative.dev-broker"


class ConfigurationError(ValueError):
    """The broker cannot honour the manifests with the settings it was given."""


@dataclass(frozen=True)
class Credentials:
    """Whom a delivery's token is for (the receiver's audience) and whom it names as the
    sender (the Trigger's or the Broker's OIDC service account, as Eventing names them)."""

    audience: str
    subject: str


def credentials(destination: Destination, url: str, namespace: str, sender: str) -> Credentials:
    audience = service_audience(namespace, destination.service) if destination.service else url
    return Credentials(audience, service_account(namespace, sender))


@dataclass(frozen=True)
class DeadLetterRoute:
    """One dead-letter queue and the sink its dispatcher POSTs to."""

    scope: Literal["broker", "trigger"]
    name: str
    url: str
    policy: RetryPolicy
    credentials: Credentials


@dataclass(frozen=True)
class Route:
    """One Trigger: what it selects, where it delivers, how hard it tries."""

    trigger: str
    filter: Mapping[str, str]
    subscriber_url: str
    policy: RetryPolicy
    parallelism: int
    dead_letter: DeadLetterRoute | None
    credentials: Credentials


@dataclass(frozen=True)
class Wiring:
    namespace: str
    broker: str
    routes: tuple[Route, ...]

    @property
    def dead_letters(self) -> tuple[DeadLetterRoute, ...]:
        unique: dict[tuple[str, str], DeadLetterRoute] = {}
        for route in self.routes:
            if route.dead_letter is not None:
                unique[(route.dead_letter.scope, route.dead_letter.name)] = route.dead_letter
        return tuple(unique.values())


def resolve(destination: Destination, service_urls: Mapping[str, str], owner: str) -> str:
    """A Destination's URL: the Service's base URL plus `uri` as a path, or `uri` alone."""
    if destination.service is not None:
        base = service_urls.get(destination.service)
        if base is None:
            known = ", ".join(sorted(service_urls)) or "none"
            raise ConfigurationError(
                f"{owner} refers to Service {destination.service!r}, which has no URL in "
                f"BROKER_SERVICE_URLS (known: {known})"
            )
        if not destination.uri:
            return base
        return f"{base.rstrip('/')}/{destination.uri.lstrip('/')}"
    uri = destination.uri or ""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{owner}: destination URI {uri!r} is not an absolute http(s) URL")
    return uri


def wire(settings: BrokerSettings, topology: Topology) -> Wiring:
    """The routes of the settings' Broker; raises `ConfigurationError` on what cannot work."""
    try:
        broker = topology.broker(settings.broker_name)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    routes = tuple(
        _route(settings, broker, trigger)
        for trigger in topology.triggers
        if trigger.broker == broker.name
    )
    return Wiring(namespace=broker.namespace, broker=broker.name, routes=routes)


def _route(settings: BrokerSettings, broker: BrokerSpec, trigger: TriggerSpec) -> Route:
    owner = f"Trigger {trigger.name}"
    try:
        policy = RetryPolicy.from_delivery(
            trigger_delivery(broker, trigger), settings.default_timeout
        )
    except ValueError as exc:
        raise ConfigurationError(f"{owner}: {exc}") from exc
    url = resolve(trigger.subscriber, settings.service_urls, owner)
    return Route(
        trigger=trigger.name,
        filter=dict(trigger.filter),
        subscriber_url=url,
        policy=policy,
        parallelism=trigger.parallelism,
        dead_letter=_dead_letter(settings, broker, trigger),
        credentials=credentials(
            trigger.subscriber, url, broker.namespace, f"{trigger.name}-oidc-{_TRIGGER_SA}"
        ),
    )


def _dead_letter(
    settings: BrokerSettings, broker: BrokerSpec, trigger: TriggerSpec
) -> DeadLetterRoute | None:
    source = dead_letter_source(broker, trigger)
    if source is None:
        return None
    scope, delivery = source
    name = trigger.name if scope == "trigger" else broker.name
    owner = f"{'Trigger' if scope == 'trigger' else 'Broker'} {name} deadLetterSink"
    sink = sink_of(delivery)
    url = resolve(sink, settings.service_urls, owner)
    sender = f"{name}-oidc-{_TRIGGER_SA if scope == 'trigger' else _BROKER_SA}"
    return DeadLetterRoute(
        scope="trigger" if scope == "trigger" else "broker",
        name=name,
        url=url,
        policy=RetryPolicy.from_delivery(delivery, settings.default_timeout),
        credentials=credentials(sink, url, broker.namespace, sender),
    )
