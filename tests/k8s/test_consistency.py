"""The manifests agree with the code and with each other.

- every function in the code (a functions_framework target in functions/<domain>/main.py)
  has its Knative Service, and every Service runs a function that exists;
- every Service follows the conventions (labels, image, secrets, Datadog tags, scaling,
  probes, resources, non-root) and starts with the settings its manifest gives it;
- every Trigger's broker and subscriber exist; every event type a function handles reaches
  it through a Trigger; every Trigger delivers only what its subscriber handles; every
  event type reaches some subscriber; the Broker is a RabbitMQBroker with quorum queues and
  a dead-letter sink; only the outbox relay is woken by a periodic source.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from shared.auth.tokens import generate_private_key_pem
from shared.db.migrations import RELAY
from shared.events.envelope import PING_TYPE
from shared.events.registry import registered_types
from tests.k8s.support import (
    NAMESPACE,
    REPO,
    Doc,
    code_functions,
    container,
    documents,
    env_of,
    environ_names_in_code,
    iter_cluster_urls,
    knative_services,
    of_kind,
    settings_modules,
)
from tooling.manifests import ServiceSpec, Topology, TriggerSpec, load_topology

SERVICES = {d.name: d for d in knative_services()}
ANY_TYPE = "*"
DB_SECRET = re.compile(r"^acougue-db-(?P<domain>[a-z]+)$")
IMAGE = re.compile(r"^kind\.local/acougue/(?P<domain>[a-z][a-z0-9-]*):dev$")
# Variables the platform reads, not the project's settings: functions-framework's source,
# Knative's port, the SinkBinding's broker address, ddtrace's and the JSON logs' DD_*.
PLATFORM_ENV = {"FUNCTION_SOURCE", "PORT", "K_SINK", "HOST"}
# DESIGN.md's subscriptions ("Functions" table): checked for each function once it exists.
DESIGN_SUBSCRIPTIONS = [
    ("com.acougue.sale.paid", "apply-sale-to-stock"),
    ("com.acougue.sale.refunded", "apply-sale-to-stock"),
    ("com.acougue.payment.approved", "update-sale-status"),
    ("com.acougue.payment.declined", "update-sale-status"),
    ("com.acougue.payment.refunded", "update-sale-status"),
    ("com.acougue.sale.completed", "process-payment"),
    ("com.acougue.sale.cancelled", "process-payment"),
    ("com.acougue.payment.approved", "post-ledger-entry"),
    ("com.acougue.payment.refunded", "post-ledger-entry"),
    ("com.acougue.inventory.movement.registered", "post-ledger-entry"),
]


@cache
def topology() -> Topology:
    return load_topology(REPO)


def spec(name: str) -> ServiceSpec:
    return topology().services[name]


def _ids(docs: list[Doc]) -> list[str]:
    return [d.name for d in docs]


# -- functions and their Services ------------------------------------------------------------
def test_every_function_in_the_code_has_a_knative_service_and_back() -> None:
    in_code = {(f.target, f.source) for f in code_functions()}
    assert in_code, "no functions_framework targets found in functions/*/main.py"
    in_manifests = {
        (s.env["FUNCTION_TARGET"], s.env.get("FUNCTION_SOURCE", ""))
        for s in topology().services.values()
        if s.function_target
    }
    missing = sorted(f"{t} ({src})" for t, src in in_code - in_manifests)
    assert not missing, f"functions without a Knative Service in knative/services/: {missing}"
    unknown = sorted(f"{t} ({src})" for t, src in in_manifests - in_code)
    assert not unknown, f"Knative Services whose function is not in the code: {unknown}"
    for svc in topology().services.values():
        if not svc.function_target:
            assert svc.command[:2] == ("python", "-m"), f"{svc.name}: no function, no command"


@pytest.mark.parametrize("doc", knative_services(), ids=_ids(knative_services()))
def test_service_follows_the_conventions(doc: Doc) -> None:
    name, svc = doc.name, spec(doc.name)
    meta, template = doc.body["metadata"], doc.body["spec"]["template"]
    labels, tlabels = meta.get("labels", {}), template["metadata"].get("labels", {})
    annotations = template["metadata"].get("annotations", {})
    env, box = env_of(doc), container(doc)
    assert doc.path.name == f"{name}.yaml"
    assert doc.namespace == NAMESPACE
    assert labels.get("app.kubernetes.io/part-of") == "acougue"
    assert labels.get("app.kubernetes.io/name") == name
    assert labels.get("acougue.dev/domain") == svc.domain
    # Datadog unified service tags: labels on the Service and its pods, and the env.
    for tag, var in (("service", "DD_SERVICE"), ("env", "DD_ENV"), ("version", "DD_VERSION")):
        key = f"tags.datadoghq.com/{tag}"
        assert labels.get(key) == tlabels.get(key) == env[var].get("value"), f"{key} / {var}"
    assert env["DD_SERVICE"]["value"] == name
    assert "valueFrom" not in env["DD_AGENT_HOST"], "Knative refuses fieldRef by default"
    # Fenced: only the gateway is reachable from outside the cluster.
    visibility = labels.get("networking.knative.dev/visibility")
    assert visibility == (None if name == "gateway" else "cluster-local"), "visibility"
    pod = template["spec"]
    assert pod["automountServiceAccountToken"] is False, "no function calls the Kubernetes API"
    # The function, its image (one per domain), its schema's credentials.
    match = IMAGE.match(box["image"])
    assert match, f"image {box['image']} is not kind.local/acougue/<domain>:dev"
    assert match["domain"] == svc.domain, f"image {box['image']} is another domain's"
    if svc.function_target:
        assert name == svc.function_target.replace("_", "-")
        assert svc.env.get("FUNCTION_SOURCE") == f"functions/{svc.domain}/main.py"
        assert "command" not in box, "the image's command serves the function"
        assert "args" not in box, "the image's command serves the function"
    for var, ref in svc.secret_env.items():
        db = DB_SECRET.match(ref.secret)
        if db:
            assert (var, db["domain"], ref.key) == ("DATABASE_URL", svc.domain, "url")
        elif ref.secret == "acougue-auth-keys":
            assert (var, ref.key) == ("AUTH_SIGNING_KEY", "signing-key.pem")
        elif ref.secret == "acougue-admin":
            assert (var, ref.key, ref.optional) == ("ACOUGUE_ADMIN_PASSWORD", "password", True)
    if svc.publishes:
        assert any(DB_SECRET.match(r.secret) for r in svc.secret_env.values()), "no outbox"
    for value in svc.env.values():
        for host in iter_cluster_urls(value):
            assert host in SERVICES, f"{name} calls {host}, which has no Knative Service"
    # Scale to zero (the gateway may keep one), a ceiling, a concurrency target.
    low = int(annotations["autoscaling.knative.dev/min-scale"])
    high = int(annotations["autoscaling.knative.dev/max-scale"])
    assert low == 0 or (name == "gateway" and low <= 1), "functions scale to zero"
    assert 1 <= high <= 20
    assert low <= high
    assert int(annotations["autoscaling.knative.dev/target"]) > 0
    assert int(template["spec"]["containerConcurrency"]) >= 0
    assert 0 < int(template["spec"]["timeoutSeconds"]) <= 300
    # Resources, probes, no root.
    resources = box["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]
    assert [p["containerPort"] for p in box["ports"]] == [8080]
    for probe in ("readinessProbe", "livenessProbe"):
        assert box[probe]["httpGet"]["path"] in ("/healthz", "/readyz"), probe
        assert box[probe]["httpGet"].get("port", 8080) == 8080, probe
    security = box["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["capabilities"]["drop"] == ["ALL"]
    assert doc.body["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]


# -- eventing ------------------------------------------------------------------------------------
def test_broker_is_rabbitmq_with_quorum_queues_and_a_dead_letter_sink() -> None:
    broker = topology().broker("default")
    assert broker.namespace == NAMESPACE
    assert broker.broker_class == "RabbitMQBroker"
    (doc,) = of_kind("Broker", "eventing.knative.dev")
    config = doc.body["spec"]["config"]
    assert (config["apiVersion"], config["kind"]) == (
        "eventing.knative.dev/v1alpha1",
        "RabbitmqBrokerConfig",
    )
    (broker_config,) = [d for d in of_kind("RabbitmqBrokerConfig") if d.name == config["name"]]
    assert broker_config.body["spec"]["queueType"] == "quorum"
    cluster_ref = broker_config.body["spec"]["rabbitmqClusterReference"]
    clusters = {(d.name, d.namespace) for d in of_kind("RabbitmqCluster", "rabbitmq.com")}
    assert (cluster_ref["name"], cluster_ref.get("namespace", NAMESPACE)) in clusters
    delivery = broker.delivery
    assert delivery is not None
    assert delivery.retry
    assert delivery.retry >= 1
    assert delivery.backoff_policy == "exponential"
    assert delivery.dead_letter_sink is not None
    assert delivery.dead_letter_sink.service == "dead-letter"
    assert "dead-letter" in SERVICES


def test_triggers_refer_to_what_exists() -> None:
    triggers = topology().triggers
    assert triggers, "no Triggers in eventing/"
    names = [t.name for t in triggers]
    assert len(names) == len(set(names)), "two Triggers with one name"
    for doc in of_kind("Trigger", "eventing.knative.dev"):
        assert doc.namespace == NAMESPACE, doc.id
    for trigger in triggers:
        assert trigger.broker in topology().brokers, f"{trigger.name}: no broker {trigger.broker}"
        assert trigger.subscriber.service in SERVICES, f"{trigger.name}: no subscriber"
        assert set(trigger.filter) <= {"type", "source", "subject", "actor"}, trigger.name
        assert 1 <= trigger.parallelism <= 1000


def test_trigger_filters_name_registered_event_types() -> None:
    known = set(registered_types()) | {PING_TYPE}
    unknown = {
        t.name: t.filter["type"]
        for t in topology().triggers
        if "type" in t.filter and t.filter["type"] not in known
    }
    assert not unknown, f"Triggers filtering on types no payload model registers: {unknown}"


def test_publishers_get_the_broker_address_from_the_sinkbinding() -> None:
    (binding,) = of_kind("SinkBinding", "sources.knative.dev")
    subject, sink = binding.body["spec"]["subject"], binding.body["spec"]["sink"]["ref"]
    assert (subject["apiVersion"], subject["kind"]) == ("serving.knative.dev/v1", "Service")
    assert subject["selector"]["matchLabels"] == {"acougue.dev/publishes": "true"}
    assert (sink["kind"], sink["name"]) == ("Broker", "default")
    assert sink["name"] in topology().brokers
    assert any(s.publishes for s in topology().services.values())


# Kinds that wake their sink on a timer. Any of them aimed at a business function would keep
# it from ever scaling to zero (Knative's 60 s stable window against a once-a-minute tick).
PERIODIC_SOURCES = {("sources.knative.dev", "PingSource"), ("batch", "CronJob")}
RELAY_SERVICE = "outbox-relay"


# A business function woken by a timer more often than this would never stay at zero: its
# idle window (60 s + the retention) is far shorter, so a daily job costs a pod for minutes a
# day, a per-minute one for the whole day.
BUSINESS_TIMER_MIN_GAP = timedelta(hours=1)


def _shortest_gap(schedule: str, timezone: str | None) -> timedelta:
    """The shortest time between two fires of a cron schedule over the next two weeks."""
    start = datetime(2026, 1, 5, tzinfo=ZoneInfo(timezone or "UTC"))
    fires = croniter(schedule, start)
    times = [fires.get_next(datetime) for _ in range(24 * 14 + 1)]
    return min(b - a for a, b in itertools.pairwise(times))


def test_only_the_outbox_relay_is_woken_by_a_timer_more_than_once_an_hour() -> None:
    periodic = [d for d in documents() if (d.group, d.kind) in PERIODIC_SOURCES]
    assert periodic, "no PingSource: nothing would sweep the outboxes"
    sinks = {}
    for doc in periodic:
        assert doc.kind == "PingSource", f"{doc.id}: a CronJob keeps a pod of its own"
        sinks[doc.body["metadata"]["name"]] = doc.body["spec"].get("sink", {}).get("ref", {})
    pings = topology().pings
    assert any(sinks[p.name].get("name") == RELAY_SERVICE for p in pings)
    for ping in pings:
        assert len(ping.schedule.split()) == 5, f"{ping.name}: not a cron schedule"
        if sinks[ping.name].get("name") == RELAY_SERVICE:
            continue
        gap = _shortest_gap(ping.schedule, ping.timezone)
        assert gap >= BUSINESS_TIMER_MIN_GAP, (
            f"{ping.name} wakes {sinks[ping.name].get('name')!r} every {gap}: only the outbox"
            " relay may be kept up by a timer"
        )


def test_the_relay_publishes_with_a_role_of_its_own() -> None:
    relay = spec(RELAY_SERVICE)
    assert relay.publishes, "the relay needs K_SINK from the SinkBinding"
    (db,) = [r for r in relay.secret_env.values() if DB_SECRET.match(r.secret)]
    assert db.secret == f"acougue-db-{RELAY}"
    assert RELAY not in {s.domain for s in topology().services.values() if s.name != RELAY_SERVICE}
    assert not REPO.joinpath("functions", RELAY, "migrations").exists(), "the relay owns no schema"


# -- what the code handles, against the Triggers ----------------------------------------------
@dataclass(frozen=True)
class Started:
    """One Service's function, imported under exactly its manifest's environment."""

    returncode: int
    report: dict[str, Any]
    stderr: str


def manifest_environment(doc: Doc, signing_key: str) -> dict[str, str]:
    """The environment the pod gets (secrets as well-formed stand-ins; optional ones unset)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PORT": "8080",
    }
    svc = spec(doc.name)
    env.update(svc.env)
    for var, ref in svc.secret_env.items():
        if ref.optional:
            continue
        db = DB_SECRET.match(ref.secret)
        if db and ref.key == "url":
            env[var] = (
                f"postgresql://acougue_{db['domain']}:stand-in@postgres.{NAMESPACE}"
                ".svc.cluster.local:5432/acougue"
            )
        elif (ref.secret, ref.key) == ("acougue-auth-keys", "signing-key.pem"):
            env[var] = signing_key
        else:
            env[var] = f"stand-in-{ref.secret}-{ref.key}"
    for var, path in svc.field_env.items():
        env[var] = "10.244.0.1" if path == "status.hostIP" else "stand-in"
    if svc.publishes:  # injected by the SinkBinding
        env["K_SINK"] = f"http://default-broker-ingress.{NAMESPACE}.svc.cluster.local"
    return env


def entry_module(svc: ServiceSpec) -> str:
    if svc.function_target:
        return svc.env["FUNCTION_SOURCE"].removesuffix(".py").replace("/", ".")
    assert svc.command[:2] == ("python", "-m"), svc.name
    package = REPO.joinpath(*svc.command[2].split("."))
    modules = settings_modules(package)
    assert len(modules) == 1, f"{svc.name}: one module of {package} builds settings: {modules}"
    return modules[0]


@pytest.fixture(scope="module")
def started() -> dict[str, Started]:
    key = generate_private_key_pem()

    def start(doc: Doc) -> tuple[str, Started]:
        svc = spec(doc.name)
        argv = [sys.executable, "-m", "tests.k8s.introspect", entry_module(svc)]
        if svc.function_target:
            argv.append(svc.function_target)
        done = subprocess.run(
            argv,
            cwd=REPO,
            env=manifest_environment(doc, key),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        last = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
        report = json.loads(last[0]) if last else {}
        return doc.name, Started(done.returncode, report, done.stderr[-3000:])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(start, knative_services()))


@pytest.mark.parametrize("doc", knative_services(), ids=_ids(knative_services()))
def test_function_starts_with_the_settings_its_manifest_gives(
    doc: Doc, started: dict[str, Started]
) -> None:
    result = started[doc.name]
    assert result.returncode == 0, f"{doc.name} does not start:\n{result.stderr}"
    assert result.report["settings"], f"{doc.name}: no settings object found"
    provided = {
        *spec(doc.name).env,
        *(v for v, r in spec(doc.name).secret_env.items() if not r.optional),
        *spec(doc.name).field_env,
        "PORT",
        *(["K_SINK"] if spec(doc.name).publishes else []),  # the SinkBinding's
    }
    for settings in result.report["settings"]:
        required = {f["env"] for f in settings["fields"] if f["required"]}
        missing = sorted(required - provided)
        assert not missing, f"{doc.name}: {settings['class']} needs {missing}"


@pytest.mark.parametrize("doc", knative_services(), ids=_ids(knative_services()))
def test_every_manifest_variable_is_read_by_the_project(
    doc: Doc, started: dict[str, Started]
) -> None:
    report = started[doc.name].report
    assert report, f"{doc.name} did not start (see the test above)"
    own = {f["env"] for s in report["settings"] for f in s["fields"]}
    known = own | set(report["known_env"]) | environ_names_in_code() | PLATFORM_ENV
    unknown = sorted(v for v in env_of(doc) if v not in known and not v.startswith("DD_"))
    assert not unknown, f"{doc.name} sets variables nothing reads (a typo?): {unknown}"


def _handled(started: dict[str, Started]) -> dict[str, set[str]]:
    """Event types each Service's function handles ('*' = any); only CloudEvent subscribers."""
    found: dict[str, set[str]] = {}
    for name, result in started.items():
        subscribers = result.report.get("subscribers", [])
        if subscribers:
            found[name] = {t for s in subscribers for t in s["handles"]}
    return found


def _delivers(trigger: TriggerSpec, type_: str) -> bool:
    wanted = trigger.filter.get("type")
    return wanted is None or wanted == type_


def test_every_consumed_event_type_is_routed_to_its_function(
    started: dict[str, Started],
) -> None:
    assert all(r.returncode == 0 for r in started.values()), "a function does not start"
    handled = _handled(started)
    assert handled, "no CloudEvent subscribers found in the code"
    deliveries = [b.delivery for b in topology().brokers.values()]
    deliveries += [t.delivery for t in topology().triggers]
    sinks = {d.dead_letter_sink.service for d in deliveries if d and d.dead_letter_sink}
    unrouted: list[str] = []
    for name, types in sorted(handled.items()):
        triggers = [t for t in topology().triggers if t.subscriber.service == name]
        if not types:  # a subscriber with no handlers takes anything: a dead-letter sink
            assert name in sinks, f"{name} handles no type and is no dead-letter sink"
            continue
        if ANY_TYPE in types and all(t.filter for t in triggers):
            unrouted.append(f"{name}: every event (no Trigger without a filter)")
        for type_ in sorted(types - {ANY_TYPE}):
            if not any(_delivers(t, type_) for t in triggers):
                unrouted.append(f"{type_} -> {name}")
    assert not unrouted, f"handled but never delivered (add Triggers): {unrouted}"


def test_triggers_deliver_only_what_their_subscriber_handles(
    started: dict[str, Started],
) -> None:
    handled = _handled(started)
    wrong: list[str] = []
    for trigger in topology().triggers:
        name = trigger.subscriber.service or ""
        types = handled.get(name)
        if types is None:
            wrong.append(f"{trigger.name}: {name} is not a CloudEvent subscriber")
            continue
        wanted = trigger.filter.get("type")
        if wanted is None and ANY_TYPE not in types:
            wrong.append(f"{trigger.name}: every event to {name}, which handles {sorted(types)}")
        elif wanted is not None and wanted != PING_TYPE and not {wanted, ANY_TYPE} & types:
            wrong.append(f"{trigger.name}: {wanted} to {name}, which does not handle it")
    assert not wrong, "Triggers whose events would be dead-lettered (400): " + "; ".join(wrong)


def test_every_event_type_reaches_a_subscriber() -> None:
    types = registered_types()
    assert types
    lost = [t for t in types if not any(_delivers(tr, t) for tr in topology().triggers)]
    assert not lost, f"event types no Trigger delivers: {lost}"


def test_the_designed_subscriptions_are_wired() -> None:
    """DESIGN.md's table, for the functions that exist so far (the sale flow included)."""
    checked = 0
    for type_, function in DESIGN_SUBSCRIPTIONS:
        if function not in SERVICES:
            continue
        checked += 1
        triggers = [t for t in topology().triggers if t.subscriber.service == function]
        assert any(t.filter.get("type") == type_ for t in triggers), f"{type_} -> {function}"
    assert checked, "none of the designed subscribers exists yet"


# -- the cluster-only manifests ---------------------------------------------------------------
def test_the_migration_job_runs_provision_with_every_domains_credentials() -> None:
    (job,) = of_kind("Job", "batch")
    box = job.body["spec"]["template"]["spec"]["containers"][0]
    assert box["command"] == ["python", "-m", "tooling.provision"]
    assert box["image"] == "kind.local/acougue/migrate:dev"
    env = {v["name"]: v for v in box["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "acougue-postgres",
        "key": "url",
    }
    assert env["ACOUGUE_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert box["envFrom"] == [{"secretRef": {"name": "acougue-db-passwords"}}]
    assert job.body["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")


def test_postgres_is_a_statefulset_with_a_volume_claim_and_a_secret_password() -> None:
    (statefulset,) = of_kind("StatefulSet", "apps")
    (service,) = [s for s in of_kind("Service", "") if s.name == "postgres"]
    assert statefulset.namespace == service.namespace == NAMESPACE
    assert statefulset.body["spec"]["serviceName"] == service.name
    (claim,) = statefulset.body["spec"]["volumeClaimTemplates"]
    box = statefulset.body["spec"]["template"]["spec"]["containers"][0]
    assert claim["metadata"]["name"] in {m["name"] for m in box["volumeMounts"]}
    env = {v["name"]: v for v in box["env"]}
    assert "value" not in env["POSTGRES_PASSWORD"], "passwords come from Secrets only"
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "acougue-postgres"
    assert env["POSTGRES_DB"]["value"] == "acougue"


def test_datadog_agent_takes_traces_on_the_node_local_service_functions_use() -> None:
    (daemonset,) = of_kind("DaemonSet", "apps")
    box = daemonset.body["spec"]["template"]["spec"]["containers"][0]
    ports = {(p["name"], p["containerPort"], p.get("protocol", "TCP")) for p in box["ports"]}
    assert {("traceport", 8126, "TCP"), ("dogstatsdport", 8125, "UDP")} <= ports
    assert not [p for p in box["ports"] if "hostPort" in p], "no host port: the Service is local"
    (service,) = [d for d in of_kind("Service", "") if d.namespace == "datadog"]
    assert service.body["spec"]["internalTrafficPolicy"] == "Local", "the Agent of the pod's node"
    labels = daemonset.body["spec"]["template"]["metadata"]["labels"]
    assert service.body["spec"]["selector"].items() <= labels.items()
    served = {(p["port"], p.get("protocol", "TCP")) for p in service.body["spec"]["ports"]}
    assert {(8126, "TCP"), (8125, "UDP")} <= served
    address = f"{service.name}.{service.namespace}.svc.cluster.local"
    for doc in knative_services():
        assert env_of(doc)["DD_AGENT_HOST"] == {"name": "DD_AGENT_HOST", "value": address}, doc.name
    env = {v["name"]: v for v in box["env"]}
    assert env["DD_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "datadog-secret"
    assert env["DD_APM_NON_LOCAL_TRAFFIC"]["value"] == "true"
    assert env["DD_APM_ENABLED"]["value"] == "true"


def test_no_secret_value_is_in_the_repository() -> None:
    assert not of_kind("Secret", ""), "Secrets are generated by kind-setup.sh, not committed"
    for doc in [*knative_services(), *of_kind("Job", "batch"), *of_kind("StatefulSet")]:
        for var in container(doc).get("env", []):
            if re.search(r"PASSWORD|SECRET|SIGNING|TOKEN|API_KEY", var["name"]):
                assert "valueFrom" in var, f"{doc.id}: {var['name']} must come from a Secret"


# Where each folder's objects live (None: cluster-scoped, e.g. a Namespace or ClusterRole).
NAMESPACES: dict[str, set[str | None]] = {
    "knative/": {NAMESPACE},
    "eventing/": {NAMESPACE},
    "deploy/cluster/": {NAMESPACE, None},
    # cert-manager: the local CA's Certificate (a ClusterIssuer reads its Secret there).
    "deploy/knative/": {"knative-serving", "kourier-system", "cert-manager", None},
    "deploy/datadog/": {"datadog", None},
}


def test_cluster_objects_live_in_their_namespaces() -> None:
    for doc in documents():
        if doc.is_tool:
            continue
        (allowed,) = [v for k, v in NAMESPACES.items() if doc.rel.startswith(k)]
        assert doc.namespace in allowed, f"{doc.id} in namespace {doc.namespace}"
        if doc.namespace is None:
            cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer"}
            assert doc.kind in cluster_scoped, doc.id
