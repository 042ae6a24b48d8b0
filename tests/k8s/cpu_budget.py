"""What the cluster asks of its node: the CPU and memory requests of every steady-state pod.

After `./kind-setup.sh up` and with no traffic, the one Kind node runs:

- the platform (Knative Serving + Kourier, Knative Eventing, eventing-rabbitmq, cert-manager,
  the RabbitMQ operators, Kind's own kube-system and local-path-storage pods): their requests
  are data in tests/k8s/upstream/requests.json, extracted from each project's pinned tag;
- this repository's pods, read from its manifests (`documents()`):
  - every Deployment, StatefulSet and DaemonSet (one node: one pod per DaemonSet; the Datadog
    Agent is counted although it runs only with DD_API_KEY: the documented laptop runs it);
    Jobs are not steady state;
  - the RabbitmqCluster's pods (its spec.resources, else the operator's default);
  - each Knative Service at its min-scale, each pod = its containers + the queue-proxy
    sidecar; a Service that a PingSource wakes every minute counts as one pod even at
    min-scale 0: a request each minute never leaves Knative's 60 s stable window empty, so
    it never scales to zero;
  - per RabbitMQBroker: its ingress, and its dead-letter dispatcher if it has a
    deadLetterSink; per Trigger on it: one dispatcher (two with its own deadLetterSink), with
    the requests its `rabbitmq.eventing.knative.dev/*` annotations give, else the defaults.

A pod requests the sum of its containers, or its largest init container if that is more.
A container without a request but with a limit requests its limit (the API server's default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.k8s.support import REPO, Doc, documents

UPSTREAM_JSON = Path(__file__).resolve().parent / "upstream" / "requests.json"
CLUSTER_DOC = REPO / "docs" / "cluster.md"

# The laptop docs/cluster.md asks for ("Docker Desktop with ≥ 4 CPUs"). Used only if the page
# stops stating it in that form (documented_min_cpu finds nothing).
MIN_CLUSTER_CPU = 4

# Functions that may cold-start at the same moment; see cold_start_headroom.
COLD_STARTS = 6

MIN_SCALE = ("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/minScale")
QUEUE_ANNOTATIONS = {
    "cpu": "queue.sidecar.serving.knative.dev/cpu-resource-request",
    "memory": "queue.sidecar.serving.knative.dev/memory-resource-request",
}
QUEUE_PERCENTAGE = "queue.sidecar.serving.knative.dev/resource-percentage"
QUEUE_CONFIG_KEYS = {"cpu": "queue-sidecar-cpu-request", "memory": "queue-sidecar-memory-request"}
BROKER_CLASS = "eventing.knative.dev/broker.class"
RABBITMQ_BROKER = "RabbitMQBroker"
RABBITMQ_ANNOTATIONS = {
    "cpu-request": "rabbitmq.eventing.knative.dev/cpu-request",
    "memory-request": "rabbitmq.eventing.knative.dev/memory-request",
    "cpu-limit": "rabbitmq.eventing.knative.dev/cpu-limit",
    "memory-limit": "rabbitmq.eventing.knative.dev/memory-limit",
}

# Kubernetes quantity suffixes: milli, the decimal k..E (10^3n) and the binary Ki..Ei (2^10n).
_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{suffix: Decimal(10) ** (3 * n) for n, suffix in enumerate("kMGTPE", 1)},
    **{f"{suffix}i": Decimal(2) ** (10 * n) for n, suffix in enumerate("KMGTPE", 1)},
}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:[eE](?P<exponent>[+-]?\d+))?"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?"
)
_MIB = _SUFFIX["Mi"]


def parse_quantity(value: str | int | float | None) -> Decimal:
    """A Kubernetes quantity ("250m", "1", "0.5", "64Mi", "2Gi", "1e3") as a number.

    CPU comes out in cores, memory in bytes; None (no request) is 0.
    """
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.fullmatch(value.strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number = Decimal(match["number"])
    if match["exponent"]:
        number *= Decimal(10) ** int(match["exponent"])
    return number * _SUFFIX[match["suffix"] or ""]


@dataclass(frozen=True)
class Requests:
    """One pod's (or a sum's) requests: CPU in cores, memory in bytes."""

    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.cpu + other.cpu, self.memory + other.memory)

    def times(self, n: int) -> Requests:
        return Requests(self.cpu * n, self.memory * n)

    @property
    def millicores(self) -> int:
        return int((self.cpu * 1000).to_integral_value())

    @property
    def mebibytes(self) -> int:
        return int((self.memory / _MIB).to_integral_value())


def total(requests: Iterable[Requests]) -> Requests:
    result = Requests()
    for item in requests:
        result += item
    return result


@dataclass(frozen=True)
class Line:
    """One workload: `replicas` pods of `per_pod` each."""

    origin: str  # "upstream" (requests.json) or "repo" (this repository's manifests)
    namespace: str
    workload: str
    replicas: int
    per_pod: Requests
    source: str
    note: str = ""

    @property
    def requests(self) -> Requests:
        return self.per_pod.times(self.replicas)


# -- upstream -----------------------------------------------------------------------------


def load_upstream(path: Path = UPSTREAM_JSON) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _has_kind(docs: Iterable[Doc], group: str, kind: str) -> bool:
    return any(d.group == group and d.kind == kind for d in docs)


def upstream_lines(upstream: Mapping[str, Any], docs: Iterable[Doc]) -> list[Line]:
    """The steady-state platform pods; one with `active_if` only while the repo has that kind."""
    docs = tuple(docs)
    lines: list[Line] = []
    for component in upstream["components"]:
        if not component["steady_state"]:
            continue
        replicas = int(component["replicas"])
        active_if = component.get("active_if")
        if active_if and not _has_kind(docs, active_if["group"], active_if["kind"]):
            replicas = 0
        per_pod = total(
            Requests(parse_quantity(c.get("cpu")), parse_quantity(c.get("memory")))
            for c in component["containers"].values()
        )
        lines.append(
            Line(
                "upstream",
                component["namespace"],
                component["workload"],
                replicas,
                per_pod,
                component["source"],
            )
        )
    return lines


def default_requests(upstream: Mapping[str, Any], name: str) -> Requests:
    """A per-object default from requests.json (queue_proxy_sidecar, rabbitmq_*, ...)."""
    entry = upstream["per_object"][name]
    return Requests(parse_quantity(entry["cpu"]), parse_quantity(entry["memory"]))


# -- pods of this repository --------------------------------------------------------------


def container_requests(container: Mapping[str, Any]) -> Requests:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    return Requests(
        parse_quantity(requests.get("cpu", limits.get("cpu"))),
        parse_quantity(requests.get("memory", limits.get("memory"))),
    )


def pod_requests(pod_spec: Mapping[str, Any]) -> Requests:
    """The effective request: containers (and sidecar init containers) summed, or more if an
    ordinary init container asks for more on its own."""
    sidecars = [
        container_requests(c)
        for c in pod_spec.get("initContainers", [])
        if c.get("restartPolicy") == "Always"
    ]
    running = total([*(container_requests(c) for c in pod_spec.get("containers", [])), *sidecars])
    cpu, memory = running.cpu, running.memory
    for init in pod_spec.get("initContainers", []):
        if init.get("restartPolicy") != "Always":
            once = container_requests(init)
            cpu, memory = max(cpu, once.cpu), max(memory, once.memory)
    return Requests(cpu, memory)


def _annotations(doc_or_meta: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (doc_or_meta.get("annotations") or {}).items()}


def _workload_lines(docs: Iterable[Doc]) -> list[Line]:
    lines = []
    for doc in docs:
        if doc.group != "apps" or doc.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        spec = doc.body["spec"]
        replicas = 1 if doc.kind == "DaemonSet" else int(spec.get("replicas", 1))
        note = "one node: one pod" if doc.kind == "DaemonSet" else ""
        lines.append(
            Line(
                "repo",
                doc.namespace or "default",
                f"{doc.kind}/{doc.name}",
                replicas,
                pod_requests(spec["template"]["spec"]),
                doc.rel,
                note,
            )
        )
    return lines


def _rabbitmq_cluster_lines(upstream: Mapping[str, Any], docs: Iterable[Doc]) -> list[Line]:
    lines = []
    init = default_requests(upstream, "rabbitmqcluster_setup_init_container")
    for doc in docs:
        if doc.group != "rabbitmq.com" or doc.kind != "RabbitmqCluster":
            continue
        spec = doc.body.get("spec") or {}
        if spec.get("resources") is not None:
            main, note = container_requests(spec), "spec.resources"
        else:
            main, note = default_requests(upstream, "rabbitmqcluster_default_pod"), "default"
        per_pod = Requests(max(main.cpu, init.cpu), max(main.memory, init.memory))
        lines.append(
            Line(
                "repo",
                doc.namespace or "default",
                f"RabbitmqCluster/{doc.name}",
                int(spec.get("replicas", 1)),
                per_pod,
                doc.rel,
                note,
            )
        )
    return lines


def queue_proxy_requests(
    upstream: Mapping[str, Any], docs: Iterable[Doc], annotations: Mapping[str, str]
) -> Requests:
    """The queue-proxy sidecar: the revision's annotation, else the repo's config-deployment
    patch, else Knative's default."""
    if QUEUE_PERCENTAGE in annotations:
        raise ValueError(f"{QUEUE_PERCENTAGE} is not modelled: give explicit requests instead")
    config: dict[str, Any] = {}
    for doc in docs:
        if doc.kind == "ConfigMap" and doc.name == "config-deployment":
            config.update(doc.body.get("data") or {})
    default = default_requests(upstream, "queue_proxy_sidecar")
    values: dict[str, Decimal] = {}
    for resource, fallback in (("cpu", default.cpu), ("memory", default.memory)):
        if QUEUE_ANNOTATIONS[resource] in annotations:
            values[resource] = parse_quantity(annotations[QUEUE_ANNOTATIONS[resource]])
        elif QUEUE_CONFIG_KEYS[resource] in config:
            values[resource] = parse_quantity(str(config[QUEUE_CONFIG_KEYS[resource]]))
        else:
            values[resource] = fallback
    return Requests(values["cpu"], values["memory"])


def knative_pod_requests(upstream: Mapping[str, Any], docs: Iterable[Doc], ksvc: Doc) -> Requests:
    """One pod of a Knative Service: its containers plus the queue-proxy sidecar."""
    template = ksvc.body["spec"]["template"]
    annotations = _annotations(template.get("metadata") or {})
    return pod_requests(template["spec"]) + queue_proxy_requests(upstream, docs, annotations)


def min_scale(ksvc: Doc) -> int:
    annotations = _annotations(ksvc.body["spec"]["template"].get("metadata") or {})
    for key in MIN_SCALE:
        if key in annotations:
            return int(annotations[key])
    return 0  # config-autoscaler's min-scale default


def _knative_services(docs: Iterable[Doc]) -> list[Doc]:
    return [d for d in docs if d.group == "serving.knative.dev" and d.kind == "Service"]


def pinged_every_minute(docs: Iterable[Doc]) -> set[str]:
    """Knative Services that a PingSource with a per-minute schedule sends to."""
    docs = tuple(docs)
    names: set[str] = set()
    for doc in docs:
        if doc.group != "sources.knative.dev" or doc.kind != "PingSource":
            continue
        spec = doc.body.get("spec") or {}
        minute = str(spec.get("schedule", "")).split()[:1]
        ref = (spec.get("sink") or {}).get("ref") or {}
        if minute in (["*"], ["*/1"]) and ref.get("kind") == "Service":
            names.add(str(ref["name"]))
    return names


def _knative_lines(upstream: Mapping[str, Any], docs: Iterable[Doc]) -> list[Line]:
    docs = tuple(docs)
    warm = pinged_every_minute(docs)
    lines = []
    for ksvc in _knative_services(docs):
        replicas, note = min_scale(ksvc), "min-scale"
        if replicas == 0 and ksvc.name in warm:
            replicas, note = 1, "min-scale 0, but a PingSource wakes it every minute"
        if replicas == 0:
            continue
        lines.append(
            Line(
                "repo",
                ksvc.namespace or "default",
                f"ksvc/{ksvc.name}",
                replicas,
                knative_pod_requests(upstream, docs, ksvc),
                ksvc.rel,
                f"{note}; + queue-proxy",
            )
        )
    return lines


def rabbitmq_requests(annotations: Mapping[str, str], default: Requests) -> Requests:
    """eventing-rabbitmq's rule: no annotation -> the default; any annotation -> exactly the
    annotated values (a missing request falls back to its limit, else nothing)."""
    if not any(key in annotations for key in RABBITMQ_ANNOTATIONS.values()):
        return default

    def pick(request: str, limit: str) -> Decimal:
        value = annotations.get(RABBITMQ_ANNOTATIONS[request])
        if value is None:
            value = annotations.get(RABBITMQ_ANNOTATIONS[limit])
        return parse_quantity(value)

    return Requests(pick("cpu-request", "cpu-limit"), pick("memory-request", "memory-limit"))


def _rabbitmq_brokers(docs: Iterable[Doc]) -> dict[tuple[str, str], Doc]:
    return {
        (d.namespace or "default", d.name): d
        for d in docs
        if d.group == "eventing.knative.dev"
        and d.kind == "Broker"
        and _annotations(d.body.get("metadata") or {}).get(BROKER_CLASS) == RABBITMQ_BROKER
    }


def _broker_lines(upstream: Mapping[str, Any], docs: Iterable[Doc]) -> list[Line]:
    docs = tuple(docs)
    brokers = _rabbitmq_brokers(docs)
    lines = []
    for (namespace, name), broker in brokers.items():
        annotations = _annotations(broker.body.get("metadata") or {})
        ingress = rabbitmq_requests(
            annotations, default_requests(upstream, "rabbitmq_broker_ingress")
        )
        lines.append(
            Line("repo", namespace, f"{name}-broker-ingress", 1, ingress, broker.rel, "Broker")
        )
        if ((broker.body.get("spec") or {}).get("delivery") or {}).get("deadLetterSink"):
            dlq = rabbitmq_requests(
                annotations, default_requests(upstream, "rabbitmq_broker_dlq_dispatcher")
            )
            lines.append(
                Line("repo", namespace, f"{name}-dlq-dispatcher", 1, dlq, broker.rel, "Broker")
            )
    dispatcher = default_requests(upstream, "rabbitmq_trigger_dispatcher")
    for trigger in docs:
        if trigger.group != "eventing.knative.dev" or trigger.kind != "Trigger":
            continue
        spec = trigger.body.get("spec") or {}
        namespace = trigger.namespace or "default"
        if (namespace, str(spec.get("broker"))) not in brokers:
            continue
        per_pod = rabbitmq_requests(_annotations(trigger.body.get("metadata") or {}), dispatcher)
        pods = 2 if (spec.get("delivery") or {}).get("deadLetterSink") else 1
        lines.append(
            Line(
                "repo",
                namespace,
                f"{trigger.name}-dispatcher",
                pods,
                per_pod,
                trigger.rel,
                "Trigger",
            )
        )
    return lines


def repo_lines(upstream: Mapping[str, Any], docs: Iterable[Doc]) -> list[Line]:
    docs = tuple(docs)
    return [
        *_workload_lines(docs),
        *_rabbitmq_cluster_lines(upstream, docs),
        *_knative_lines(upstream, docs),
        *_broker_lines(upstream, docs),
    ]


def cold_start_headroom(
    upstream: Mapping[str, Any], docs: Iterable[Doc], n: int = COLD_STARTS
) -> tuple[Requests, tuple[str, ...]]:
    """Room for `n` scale-from-zero functions starting at the same moment (the biggest `n`).

    Why 6: one sale through the gateway (always up) wakes, within a second, every function of
    its event chain: `complete-sale`; `sale.completed` → `process-payment`,
    `post-ledger-entry`, `event-log`; `payment.approved` → `update-sale-status`; `sale.paid`
    → `apply-sale-to-stock`: six new pods before any of them has scaled back to zero (the
    first sale of the day, after every function reached zero). Larger bursts exist and are
    not budgeted:
    `kind-setup.sh` creating every Service (each revision starts at initial-scale 1 and
    lingers ~60-90 s), or PingSources with the same schedule waking several sinks together.
    """
    docs = tuple(docs)
    warm = pinged_every_minute(docs)
    cold = sorted(
        (
            (knative_pod_requests(upstream, docs, ksvc), ksvc.name)
            for ksvc in _knative_services(docs)
            if min_scale(ksvc) == 0 and ksvc.name not in warm
        ),
        key=lambda item: (item[0].cpu, item[0].memory, item[1]),
        reverse=True,
    )[:n]
    return total(r for r, _ in cold), tuple(name for _, name in cold)


# -- the budget ---------------------------------------------------------------------------


def documented_min_cpu(text: str) -> int | None:
    """The CPU count docs/cluster.md asks of the laptop ("≥ 4 CPUs"), if it says so."""
    match = re.search(r"(?:≥|>=|at least)\s*(\d+)\s*CPUs?\b", text)
    return int(match[1]) if match else None


@dataclass(frozen=True)
class Budget:
    lines: tuple[Line, ...]
    cold_start: Requests
    cold_start_services: tuple[str, ...]
    min_cpu: Decimal

    def sum(self, origin: str | None = None) -> Requests:
        return total(line.requests for line in self.lines if origin in (None, line.origin))

    @property
    def needed(self) -> Requests:
        return self.sum() + self.cold_start

    @property
    def fits(self) -> bool:
        return self.needed.cpu <= self.min_cpu

    def table(self) -> str:
        rows = [f"{'origin':8} {'namespace/workload':66} {'pods':>4} {'CPU':>7} {'memory':>8}"]
        for line in sorted(self.lines, key=lambda x: (x.origin != "upstream", -x.requests.cpu)):
            if not line.replicas:
                continue
            rows.append(
                f"{line.origin:8} {line.namespace + '/' + line.workload:66} {line.replicas:>4} "
                f"{line.requests.millicores:>6}m {line.requests.mebibytes:>6}Mi"
            )
        for label, value in (
            ("upstream total", self.sum("upstream")),
            ("repo total", self.sum("repo")),
            ("steady state", self.sum()),
            (f"cold starts ({', '.join(self.cold_start_services)})", self.cold_start),
            ("needed", self.needed),
        ):
            rows.append(f"{label:80} {value.millicores:>6}m {value.mebibytes:>6}Mi")
        rows.append(f"{'documented minimum':80} {int(self.min_cpu * 1000):>6}m")
        return "\n".join(rows)


def budget(
    upstream: Mapping[str, Any] | None = None,
    docs: Iterable[Doc] | None = None,
    min_cpu: int | None = None,
    cold_starts: int = COLD_STARTS,
) -> Budget:
    """The breakdown of steady-state requests against the documented laptop."""
    upstream = load_upstream() if upstream is None else upstream
    docs = documents() if docs is None else tuple(docs)
    if min_cpu is None:
        min_cpu = documented_min_cpu(CLUSTER_DOC.read_text(encoding="utf-8")) or MIN_CLUSTER_CPU
    headroom, names = cold_start_headroom(upstream, docs, cold_starts)
    return Budget(
        (*upstream_lines(upstream, docs), *repo_lines(upstream, docs)),
        headroom,
        names,
        Decimal(min_cpu),
    )


if __name__ == "__main__":
    print(budget().table())
