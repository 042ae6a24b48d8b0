"""The deployed wiring, read from the same YAML that goes to the cluster.

The local runner and the local broker take their Services, Triggers, delivery spec and
PingSources from `knative/` and `eventing/`, so what is tested locally is what is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import croniter

REPO_ROOT = Path(__file__).resolve().parent.parent
PARALLELISM_ANNOTATION = "rabbitmq.eventing.knative.dev/parallelism"
BROKER_CLASS_ANNOTATION = "eventing.knative.dev/broker.class"

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class ManifestError(ValueError):
    """A manifest the local runner cannot honour (it would not deploy either)."""


def parse_duration(text: str) -> float:
    """Seconds in an ISO 8601 duration such as `PT0.2S` (Knative's delivery format)."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT"):
        raise ManifestError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return (
        parts.get("days", 0.0) * 86400
        + parts.get("hours", 0.0) * 3600
        + parts.get("minutes", 0.0) * 60
        + parts.get("seconds", 0.0)
    )


@dataclass(frozen=True)
class Destination:
    """A Knative Destination: a Service by name, or a plain URI."""

    service: str | None = None
    uri: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Destination:
        ref = raw.get("ref")
        if ref:
            if ref.get("kind") != "Service" or not str(ref.get("apiVersion", "")).startswith(
                "serving.knative.dev/"
            ):
                raise ManifestError(f"only Knative Service refs are supported: {ref}")
            return cls(service=ref["name"], uri=raw.get("uri"))
        if raw.get("uri"):
            return cls(uri=raw["uri"])
        raise ManifestError(f"destination without ref or uri: {raw}")


@dataclass(frozen=True)
class DeliverySpec:
    retry: int | None = None
    backoff_policy: Literal["exponential", "linear"] = "exponential"
    backoff_delay: float = 0.2
    timeout: float | None = None
    dead_letter_sink: Destination | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> DeliverySpec | None:
        if not raw:
            return None
        policy = raw.get("backoffPolicy", "exponential")
        if policy not in ("exponential", "linear"):
            raise ManifestError(f"unknown backoffPolicy {policy!r}")
        dls = raw.get("deadLetterSink")
        return cls(
            retry=raw.get("retry"),
            backoff_policy=policy,
            backoff_delay=parse_duration(raw["backoffDelay"]) if "backoffDelay" in raw else 0.2,
            timeout=parse_duration(raw["timeout"]) if "timeout" in raw else None,
            dead_letter_sink=Destination.parse(dls) if dls else None,
        )


@dataclass(frozen=True)
class BrokerSpec:
    name: str
    namespace: str
    broker_class: str
    delivery: DeliverySpec | None


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    broker: str
    filter: dict[str, str]
    subscriber: Destination
    delivery: DeliverySpec | None
    parallelism: int


@dataclass(frozen=True)
class SecretRef:
    secret: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class ServiceSpec:
    """One Knative Service: one function (or the gateway) as its own process."""

    name: str
    domain: str
    publishes: bool
    env: dict[str, str] = field(default_factory=dict)
    secret_env: dict[str, SecretRef] = field(default_factory=dict)
    field_env: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()
    # The revision template's annotations (autoscaling.knative.dev/*: the runner's scaling).
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def function_target(self) -> str | None:
        return self.env.get("FUNCTION_TARGET")


@dataclass(frozen=True)
class PingSpec:
    name: str
    schedule: str
    data: str
    sink: Destination
    # The IANA zone the schedule is read in (spec.timezone); None: UTC, as Knative reads it.
    timezone: str | None = None


@dataclass(frozen=True)
class Topology:
    brokers: dict[str, BrokerSpec]
    triggers: list[TriggerSpec]
    services: dict[str, ServiceSpec]
    pings: list[PingSpec]

    def broker(self, name: str = "default") -> BrokerSpec:
        try:
            return self.brokers[name]
        except KeyError:
            raise ManifestError(f"no Broker named {name!r} in eventing/") from None


def iter_documents(*folders: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every YAML document under the folders, with the file it came from."""
    for folder in folders:
        for path in sorted(folder.rglob("*.yaml")):
            if path.name == "kustomization.yaml":
                continue
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if doc:
                    yield path, doc


def _service(doc: dict[str, Any]) -> ServiceSpec:
    meta = doc["metadata"]
    labels = meta.get("labels", {})
    containers = doc["spec"]["template"]["spec"]["containers"]
    if len(containers) != 1:
        raise ManifestError(f"{meta['name']}: exactly one container expected")
    container = containers[0]
    template_meta = doc["spec"]["template"].get("metadata") or {}
    env: dict[str, str] = {}
    secret_env: dict[str, SecretRef] = {}
    field_env: dict[str, str] = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            secret_env[var["name"]] = SecretRef(ref["name"], ref["key"], ref.get("optional", False))
        elif "fieldRef" in var.get("valueFrom", {}):
            field_env[var["name"]] = var["valueFrom"]["fieldRef"]["fieldPath"]
    return ServiceSpec(
        name=meta["name"],
        domain=labels.get("acougue.dev/domain", meta["name"]),
        publishes=labels.get("acougue.dev/publishes") == "true",
        env=env,
        secret_env=secret_env,
        field_env=field_env,
        command=tuple(container.get("command", ())) + tuple(container.get("args", ())),
        annotations={k: str(v) for k, v in (template_meta.get("annotations") or {}).items()},
    )


def _trigger(doc: dict[str, Any]) -> TriggerSpec:
    meta, spec = doc["metadata"], doc["spec"]
    parallelism = int(meta.get("annotations", {}).get(PARALLELISM_ANNOTATION, "1"))
    if not 1 <= parallelism <= 1000:
        raise ManifestError(f"{meta['name']}: parallelism must be 1..1000")
    return TriggerSpec(
        name=meta["name"],
        broker=spec["broker"],
        filter={k: str(v) for k, v in spec.get("filter", {}).get("attributes", {}).items()},
        subscriber=Destination.parse(spec["subscriber"]),
        delivery=DeliverySpec.parse(spec.get("delivery")),
        parallelism=parallelism,
    )


def _ping(doc: dict[str, Any]) -> PingSpec:
    """A PingSource; a schedule cron cannot read or a zone tzdata does not know fails at
    start, as the cluster's webhook refuses them."""
    name, spec = doc["metadata"]["name"], doc["spec"]
    timezone = spec.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ManifestError(f"{name}: unknown timezone {timezone!r}") from None
    if not croniter.is_valid(str(spec["schedule"])):
        raise ManifestError(f"{name}: invalid schedule {spec['schedule']!r}")
    return PingSpec(
        name,
        str(spec["schedule"]),
        spec.get("data", ""),
        Destination.parse(spec["sink"]),
        str(timezone) if timezone is not None else None,
    )


def load_topology(root: Path = REPO_ROOT) -> Topology:
    brokers: dict[str, BrokerSpec] = {}
    triggers: list[TriggerSpec] = []
    services: dict[str, ServiceSpec] = {}
    pings: list[PingSpec] = []
    for path, doc in iter_documents(root / "knative", root / "eventing"):
        kind = doc.get("kind")
        group = str(doc.get("apiVersion", "")).split("/")[0]
        try:
            if kind == "Service" and group == "serving.knative.dev":
                svc = _service(doc)
                services[svc.name] = svc
            elif kind == "Trigger" and group == "eventing.knative.dev":
                triggers.append(_trigger(doc))
            elif kind == "Broker" and group == "eventing.knative.dev":
                meta = doc["metadata"]
                brokers[meta["name"]] = BrokerSpec(
                    name=meta["name"],
                    namespace=meta.get("namespace", "default"),
                    broker_class=meta.get("annotations", {}).get(
                        BROKER_CLASS_ANNOTATION, "MTChannelBasedBroker"
                    ),
                    delivery=DeliverySpec.parse(doc["spec"].get("delivery")),
                )
            elif kind == "PingSource" and group == "sources.knative.dev":
                pings.append(_ping(doc))
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"{path}: malformed {kind}: {exc}") from exc
    topology = Topology(brokers, triggers, services, pings)
    _check_references(topology)
    return topology


def _check_references(topology: Topology) -> None:
    """Fail at start, as the cluster would leave a Trigger not ready, on dangling refs."""
    destinations = [(t.name, t.subscriber) for t in topology.triggers]
    destinations += [(p.name, p.sink) for p in topology.pings]
    owners: list[TriggerSpec | BrokerSpec] = [*topology.triggers, *topology.brokers.values()]
    for owner in owners:
        if owner.delivery and owner.delivery.dead_letter_sink:
            destinations.append((owner.name, owner.delivery.dead_letter_sink))
    for owner_name, dest in destinations:
        if dest.service and dest.service not in topology.services:
            raise ManifestError(f"{owner_name} refers to unknown Service {dest.service!r}")
    for trigger in topology.triggers:
        if trigger.broker not in topology.brokers:
            raise ManifestError(
                f"Trigger {trigger.name} refers to unknown Broker {trigger.broker!r}"
            )
