"""Test doubles of `kubectl`, `kind` and `docker`, sharing one cluster with fake_kn's `kn`.

    python tests/k8s/fake_cluster.py kubectl|kind|docker|kn ARGS...
    install(bin_dir)         writes bin_dir/{kubectl,kind,docker,kn}: shims that run main()

`kn` is fake_kn's, with this cluster's admission default, controllers (the hooks fake_kn offers)
and kubeconfig: its --context must name an existing Kind cluster, like kubectl's.

What they model is what kind-setup.sh and deploy/*.sh call, and no more: any other call exits 1
with "fake TOOL: unsupported: ...", so that a new call in a script is noticed here first.

The state is fake_kn's JSON file (FAKE_CLUSTER_STATE). fake_kn keeps Knative Services, Brokers,
Triggers and PingSources there; this module adds
    kind        {"clusters": {NAME: {"node_image", "images": [...]}}}
    docker      {"images": {REF: {"id", "context", "build_args"}}}
    releases    {FILE: URL}: release manifests applied (their CRDs, namespaces, Deployments)
    objects     {RESOURCE: {NAMESPACE: {NAME: body}}}: every other Kubernetes object
    revisions   {NAMESPACE: {REVISION: facts}}: when each was made, its image, env and K_SINK
    not_ready   {"RESOURCE/NAMESPACE/NAME": reason}: what a test marks as never Ready
    clock       a counter for creationTimestamps
Objects kubectl applies as YAML whose kind kn also manages (Knative Service, Broker, Trigger,
PingSource) are stored where and as fake_kn stores them, so `kn trigger describe` sees a Trigger
`kubectl apply` made, and `kubectl get broker -o json` one `kn broker create` made.

The cluster's rules that the deploy path is written around are kept: kubectl needs the context
of an existing Kind cluster; a kind needs its CRD (from its release manifest), a namespaced
object its namespace; the admission hook (FAKE_ADMISSION, by default tests.k8s.admission) is
asked before a Broker, Trigger, RabbitmqBrokerConfig or Knative Service is written, by kubectl
and by kn alike; a Job's pod template and a StatefulSet's fixed fields cannot change in place.
Readiness is derived, never waited for: a revision or Job is Ready when its kind.local image was
loaded into the node and the Secrets (and keys) its env names exist; a revision made while a
SinkBinding selects its Service and the Broker it points to exists gets K_SINK; a Trigger needs
its Broker and subscriber, a Broker its config, RabbitmqCluster and dead-letter sink. A `wait`
answers at once: met, or "timed out" naming what is not Ready, so no script loop ever sleeps.
FAKE_PENDING_PODS ("NAMESPACE/POD ...") lists Pending pods the scheduler cannot place; an
entry ending in ":starting" is a Pending pod that is scheduled (pulling, creating).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a file by the shims
    sys.path.insert(0, str(REPO))

from tests.k8s import fake_kn  # noqa: E402

# yaml, base64, hashlib and ast are imported where they are used: every call of a fake is a new
# process, most never need them, and a deploy makes some 150 calls.

Obj = dict[str, Any]
Cluster = fake_kn.Cluster
STATE_ENV, ADMISSION_ENV, LOG_ENV = fake_kn.STATE_ENV, fake_kn.ADMISSION_ENV, fake_kn.LOG_ENV
PENDING_ENV = "FAKE_PENDING_PODS"
DEFAULT_ADMISSION = "tests.k8s.admission"
TOOLS = ("kubectl", "kind", "docker", "kn")
KIND_VERSION = "kind v0.30.0 go1.24.6 linux/amd64"
BROKER_CLASS = "eventing.knative.dev/broker.class"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class Fail(Exception):
    """The tool's own failure: TEXT on stderr, exit CODE."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


class Unsupported(Exception):
    """A call this double does not model (exit 1): model it here before a script relies on it."""


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


@dataclass
class IO:
    """Where a call's output goes: out (a line), write (as is), err (a line), stdin."""

    out: Callable[[str], None] = print
    write: Callable[[str], object] = sys.stdout.write
    err: Callable[[str], None] = _stderr
    stdin: Callable[[], str] = sys.stdin.read


# -- the kinds kubectl knows -----------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    kind: str
    api: str  # the apiVersion it is served at
    resource: str  # plural[.group]: kubectl's name for it, the key it is stored under
    names: tuple[str, ...]  # what kubectl accepts on its command line
    namespaced: bool = True
    crd: bool = False  # installed by a release manifest (its CRD must exist)
    store: str = "objects"  # or fake_kn's key, or "revisions" / "pods" (derived)
    conditions: tuple[str, ...] = ()  # what `kubectl wait --for=condition=` can wait for

    @property
    def group(self) -> str:
        return self.api.rpartition("/")[0]

    @property
    def singular(self) -> str:
        """kubectl's name for one: deployment.apps, secret, service.serving.knative.dev."""
        return f"{self.kind.lower()}{'.' + self.group if self.group else ''}"

    def shown(self, name: str) -> str:
        """How kubectl names an object in its output: deployment.apps/NAME."""
        return f"{self.singular}/{name}"


READY = ("Ready",)
KINDS = (
    Kind("Namespace", "v1", "namespaces", ("namespace", "namespaces", "ns"), namespaced=False),
    Kind("Secret", "v1", "secrets", ("secret", "secrets")),
    Kind("ConfigMap", "v1", "configmaps", ("configmap", "configmaps", "cm")),
    Kind("Service", "v1", "services", ("service", "services", "svc")),
    Kind("ServiceAccount", "v1", "serviceaccounts", ("serviceaccount", "serviceaccounts", "sa")),
    Kind("Pod", "v1", "pods", ("pod", "pods", "po"), store="pods", conditions=READY),
    Kind(
        "Deployment",
        "apps/v1",
        "deployments.apps",
        ("deployment", "deployments", "deploy"),
        conditions=("Available", "Progressing"),
    ),
    Kind("StatefulSet", "apps/v1", "statefulsets.apps", ("statefulset", "statefulsets", "sts")),
    Kind("DaemonSet", "apps/v1", "daemonsets.apps", ("daemonset", "daemonsets", "ds")),
    Kind("Job", "batch/v1", "jobs.batch", ("job", "jobs"), conditions=("Complete", "Failed")),
    Kind(
        "NetworkPolicy",
        "networking.k8s.io/v1",
        "networkpolicies.networking.k8s.io",
        ("networkpolicy", "networkpolicies", "netpol"),
    ),
    Kind(
        "ClusterRole",
        "rbac.authorization.k8s.io/v1",
        "clusterroles.rbac.authorization.k8s.io",
        ("clusterrole", "clusterroles"),
        namespaced=False,
    ),
    Kind(
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
        "clusterrolebindings.rbac.authorization.k8s.io",
        ("clusterrolebinding", "clusterrolebindings"),
        namespaced=False,
    ),
    Kind(
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions.apiextensions.k8s.io",
        ("crd", "crds", "customresourcedefinition", "customresourcedefinitions"),
        namespaced=False,
        conditions=("Established", "NamesAccepted"),
    ),
    Kind(
        "Service",
        "serving.knative.dev/v1",
        "services.serving.knative.dev",
        ("ksvc", "kservice", "kservices", "services.serving.knative.dev"),
        crd=True,
        store="services",
        conditions=("Ready", "ConfigurationsReady", "RoutesReady"),
    ),
    Kind(
        "Revision",
        "serving.knative.dev/v1",
        "revisions.serving.knative.dev",
        ("revision", "revisions", "rev"),
        crd=True,
        store="revisions",
        conditions=("Ready", "ContainerHealthy", "ResourcesAvailable"),
    ),
    Kind(
        "Broker",
        "eventing.knative.dev/v1",
        "brokers.eventing.knative.dev",
        ("broker", "brokers"),
        crd=True,
        store="brokers",
        conditions=READY,
    ),
    Kind(
        "Trigger",
        "eventing.knative.dev/v1",
        "triggers.eventing.knative.dev",
        ("trigger", "triggers"),
        crd=True,
        store="triggers",
        conditions=READY,
    ),
    Kind(
        "PingSource",
        "sources.knative.dev/v1",
        "pingsources.sources.knative.dev",
        ("pingsource", "pingsources"),
        crd=True,
        store="pingsources",
        conditions=READY,
    ),
    Kind(
        "SinkBinding",
        "sources.knative.dev/v1",
        "sinkbindings.sources.knative.dev",
        ("sinkbinding", "sinkbindings"),
        crd=True,
        conditions=READY,
    ),
    Kind(
        "RabbitmqCluster",
        "rabbitmq.com/v1beta1",
        "rabbitmqclusters.rabbitmq.com",
        ("rabbitmqcluster", "rabbitmqclusters", "rmq"),
        crd=True,
        conditions=("AllReplicasReady", "ClusterAvailable", "ReconcileSuccess", "NoWarnings"),
    ),
    Kind(
        "RabbitmqBrokerConfig",
        "eventing.knative.dev/v1alpha1",
        "rabbitmqbrokerconfigs.eventing.knative.dev",
        ("rabbitmqbrokerconfig", "rabbitmqbrokerconfigs"),
        crd=True,
    ),
    Kind(
        "Certificate",
        "cert-manager.io/v1",
        "certificates.cert-manager.io",
        ("certificate", "certificates", "cert", "certs"),
        crd=True,
        conditions=READY,
    ),
    Kind(
        "ClusterIssuer",
        "cert-manager.io/v1",
        "clusterissuers.cert-manager.io",
        ("clusterissuer", "clusterissuers"),
        namespaced=False,
        crd=True,
        conditions=READY,
    ),
)
KIND_BY_NAME = {name: k for k in KINDS for name in (*k.names, k.resource)}
# What the admission hook is asked about (tests/k8s/admission.py's kinds).
ADMITTED = {"Broker", "Trigger", "RabbitmqBrokerConfig", "PingSource"}
# A StatefulSet's spec fields that may change in place (apps/validation).
STATEFULSET_MUTABLE = {
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
}


def kind_of(word: str) -> Kind:
    found = KIND_BY_NAME.get(word.lower())
    if found is None:
        raise Unsupported(f"resource type {word!r}")
    return found


def kind_for(api: str, kind: str) -> Kind | None:
    """The kind a manifest names (apiVersion + kind), None if this fake does not know it."""
    group = api.rpartition("/")[0]
    for known in KINDS:
        if known.kind == kind and known.group == group:
            return known
    return None


# -- release manifests: what each installs ---------------------------------------------------------
@dataclass(frozen=True)
class Release:
    """A release manifest, from https://github.com/REPO/releases/download/TAG/FILE, where TAG is
    tag_prefix and the version pinned as version_key in deploy/versions.env."""

    repo: str
    tag_prefix: str
    version_key: str
    file: str
    crds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    deployments: tuple[str, ...] = ()  # NAMESPACE/NAME
    configmaps: tuple[str, ...] = ()  # NAMESPACE/NAME
    # What it contains that needs another release first: (CRD, kind, apiVersion, NS/NAME).
    needs_crds: tuple[tuple[str, str, str, str], ...] = ()
    needs_namespaces: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """Where it is downloaded from: a pattern, any version."""
        tag = re.escape(self.tag_prefix) + r"\d+\.\d+\.\d+"
        where = f"{re.escape(self.repo)}/releases/download/{tag}/{re.escape(self.file)}"
        return r"https://github\.com/" + where

    def url_at(self, version: str) -> str:
        """Where it is downloaded from, at VERSION (as kind-setup.sh writes it)."""
        tag = self.tag_prefix + version
        return f"https://github.com/{self.repo}/releases/download/{tag}/{self.file}"


KNATIVE = "knative-v"  # the tag prefix of Knative's releases (the others': "v")
SERVING_CRDS = ("services", "revisions", "routes", "configurations", "domainmappings")
EVENTING_CRDS = (
    "brokers.eventing.knative.dev",
    "triggers.eventing.knative.dev",
    "eventtypes.eventing.knative.dev",
    "pingsources.sources.knative.dev",
    "sinkbindings.sources.knative.dev",
    "apiserversources.sources.knative.dev",
    "containersources.sources.knative.dev",
    "channels.messaging.knative.dev",
    "subscriptions.messaging.knative.dev",
    "sequences.flows.knative.dev",
    "parallels.flows.knative.dev",
    "jobsinks.sinks.knative.dev",
)
# serving-core.yaml's ConfigMaps (config/core/configmaps/ at knative-v1.22.1; config-certmanager
# is there since Serving took in net-certmanager).
SERVING_CONFIG = (
    "autoscaler",
    "certmanager",
    "defaults",
    "deployment",
    "domain",
    "features",
    "gc",
    "leader-election",
    "logging",
    "network",
    "observability",
    "tracing",
)
RELEASES = {
    release.file: release
    for release in (
        Release(
            "knative/serving",
            KNATIVE,
            "KNATIVE_SERVING_VERSION",
            "serving-crds.yaml",
            crds=(
                *(f"{r}.serving.knative.dev" for r in SERVING_CRDS),
                "images.caching.internal.knative.dev",
                "certificates.networking.internal.knative.dev",
                "ingresses.networking.internal.knative.dev",
                "serverlessservices.networking.internal.knative.dev",
                "clusterdomainclaims.networking.internal.knative.dev",
                "podautoscalers.autoscaling.internal.knative.dev",
                "metrics.autoscaling.internal.knative.dev",
            ),
        ),
        Release(
            "knative/serving",
            KNATIVE,
            "KNATIVE_SERVING_VERSION",
            "serving-core.yaml",
            namespaces=("knative-serving",),
            deployments=tuple(
                f"knative-serving/{n}" for n in ("activator", "autoscaler", "controller", "webhook")
            ),
            configmaps=tuple(f"knative-serving/config-{n}" for n in SERVING_CONFIG),
            needs_crds=(
                (
                    "images.caching.internal.knative.dev",
                    "Image",
                    "caching.internal.knative.dev/v1alpha1",
                    "knative-serving/queue-proxy",
                ),
            ),
        ),
        Release(
            "knative-extensions/net-kourier",
            KNATIVE,
            "KNATIVE_NET_KOURIER_VERSION",
            "kourier.yaml",
            namespaces=("kourier-system",),
            deployments=(
                "kourier-system/3scale-kourier-gateway",
                "knative-serving/net-kourier-controller",
            ),
            configmaps=("kourier-system/kourier-bootstrap", "knative-serving/config-kourier"),
            needs_namespaces=("knative-serving",),
        ),
        Release(
            "knative/eventing",
            KNATIVE,
            "KNATIVE_EVENTING_VERSION",
            "eventing-crds.yaml",
            crds=EVENTING_CRDS,
        ),
        Release(
            "knative/eventing",
            KNATIVE,
            "KNATIVE_EVENTING_VERSION",
            "eventing-core.yaml",
            namespaces=("knative-eventing",),
            deployments=tuple(
                f"knative-eventing/{n}"
                for n in (
                    "eventing-controller",
                    "eventing-webhook",
                    "job-sink",
                    "pingsource-mt-adapter",
                )
            ),
            configmaps=tuple(
                f"knative-eventing/config-{n}" for n in ("br-defaults", "features", "tracing")
            ),
        ),
        Release(
            "cert-manager/cert-manager",
            "v",
            "CERT_MANAGER_VERSION",
            "cert-manager.yaml",
            crds=(
                *(
                    f"{r}.cert-manager.io"
                    for r in ("certificates", "certificaterequests", "issuers", "clusterissuers")
                ),
                "challenges.acme.cert-manager.io",
                "orders.acme.cert-manager.io",
            ),
            namespaces=("cert-manager",),
            deployments=tuple(
                f"cert-manager/{n}"
                for n in ("cert-manager", "cert-manager-cainjector", "cert-manager-webhook")
            ),
        ),
        Release(
            "rabbitmq/cluster-operator",
            "v",
            "RABBITMQ_CLUSTER_OPERATOR_VERSION",
            "cluster-operator.yml",
            crds=("rabbitmqclusters.rabbitmq.com",),
            namespaces=("rabbitmq-system",),
            deployments=("rabbitmq-system/rabbitmq-cluster-operator",),
        ),
        Release(
            "rabbitmq/messaging-topology-operator",
            "v",
            "RABBITMQ_TOPOLOGY_OPERATOR_VERSION",
            "messaging-topology-operator-with-certmanager.yaml",
            crds=tuple(
                f"{r}.rabbitmq.com"
                for r in (
                    "queues",
                    "exchanges",
                    "bindings",
                    "policies",
                    "users",
                    "permissions",
                    "vhosts",
                )
            ),
            namespaces=("rabbitmq-system",),
            deployments=("rabbitmq-system/messaging-topology-operator",),
            needs_crds=(
                (
                    "certificates.cert-manager.io",
                    "Certificate",
                    "cert-manager.io/v1",
                    "rabbitmq-system/messaging-topology-operator-serving-cert",
                ),
                (
                    "issuers.cert-manager.io",
                    "Issuer",
                    "cert-manager.io/v1",
                    "rabbitmq-system/messaging-topology-operator-selfsigned-issuer",
                ),
            ),
        ),
        Release(
            "knative-extensions/eventing-rabbitmq",
            KNATIVE,
            "EVENTING_RABBITMQ_VERSION",
            "rabbitmq-broker.yaml",
            crds=("rabbitmqbrokerconfigs.eventing.knative.dev",),
            deployments=(
                "knative-eventing/rabbitmq-broker-controller",
                "knative-eventing/rabbitmq-broker-webhook",
            ),
            needs_namespaces=("knative-eventing",),
        ),
    )
}
# What a new Kind cluster has.
KIND_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage")
KIND_DEPLOYMENTS = ("kube-system/coredns", "local-path-storage/local-path-provisioner")
# State keys that live in the Kind cluster (gone with `kind delete cluster`).
CLUSTER_KEYS = (*fake_kn.KINDS, "objects", "revisions", "releases", "not_ready")


# -- state helpers ---------------------------------------------------------------------------------
def section(cluster: Cluster, *keys: str) -> Obj:
    node: Obj = cluster.state
    for key in keys:
        node = node.setdefault(key, {})
    return node


def objects(cluster: Cluster, kind: Kind, namespace: str) -> dict[str, Obj]:
    """The stored objects of a kind in a namespace (cluster-scoped kinds: namespace ignored)."""
    if kind.store in fake_kn.KINDS:
        return cluster.objects(kind.store, namespace)
    if kind.store == "revisions":
        owned = cluster.objects("services", namespace)
        return {rev: {"service": svc} for svc, obj in owned.items() for rev in obj["revisions"]}
    if kind.store == "pods":
        return {
            name: {"scheduled": scheduled}
            for ns, name, scheduled in pending_pods()
            if ns == namespace
        }
    found: dict[str, Obj] = section(cluster, "objects", kind.resource).setdefault(
        namespace if kind.namespaced else "", {}
    )
    return found


def crd_installed(cluster: Cluster, kind: Kind) -> bool:
    return not kind.crd or kind.resource in objects(cluster, KIND_BY_NAME["crd"], "")


def namespace_exists(cluster: Cluster, namespace: str) -> bool:
    return namespace in objects(cluster, KIND_BY_NAME["namespace"], "")


def clusters(cluster: Cluster) -> dict[str, Obj]:
    found: dict[str, Obj] = section(cluster, "kind", "clusters")
    return found


def node_images(cluster: Cluster) -> set[str]:
    return {image for c in clusters(cluster).values() for image in c.get("images", [])}


def tick(cluster: Cluster) -> str:
    """The next creationTimestamp (one second apart, in the order things are made)."""
    cluster.state["clock"] = int(cluster.state.get("clock", 0)) + 1
    moment = EPOCH + timedelta(seconds=int(cluster.state["clock"]))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def mark_key(kind: Kind, namespace: str, name: str) -> str:
    return f"{kind.resource}/{namespace if kind.namespaced else ''}/{name}"


def pending_pods() -> list[tuple[str, str, bool]]:
    """(namespace, pod, scheduled) of each Pending pod FAKE_PENDING_PODS lists."""
    found = []
    for entry in re.split(r"[\s,]+", os.environ.get(PENDING_ENV, "").strip()):
        if entry:
            entry, starting, _ = entry.partition(":starting")
            namespace, _, name = entry.partition("/")
            found.append((namespace, name, bool(starting)))
    return found


def _create_object(cluster: Cluster, kind: Kind, namespace: str, name: str, body: Obj) -> bool:
    """Store an object a release or `kind create` makes; False when it was there already."""
    found = objects(cluster, kind, namespace)
    if name in found:
        return False
    meta: Obj = {"name": name}
    if kind.namespaced:
        meta["namespace"] = namespace
    found[name] = {"apiVersion": kind.api, "kind": kind.kind, "metadata": meta, **body}
    return True


# -- readiness: why something is not Ready (None: it is) -------------------------------------------
def problem(cluster: Cluster, kind: Kind, namespace: str, name: str) -> str | None:
    marked = section(cluster, "not_ready").get(mark_key(kind, namespace, name))
    if marked:
        return str(marked)
    obj = objects(cluster, kind, namespace).get(name)
    if obj is None:
        return f'{kind.resource} "{name}" not found'
    if kind.store == "services":
        return _service_problem(cluster, namespace, name, obj)
    if kind.store == "revisions":
        return revision_problem(cluster, namespace, name)
    if kind.store == "brokers":
        return _broker_problem(cluster, namespace, obj)
    if kind.store == "triggers":
        broker = cluster.objects("brokers", namespace).get(str(obj.get("broker")))
        if broker is None:
            return f'Broker "{obj.get("broker")}" does not exist'
        subscriber = _destination_problem(cluster, obj.get("sink") or {}, namespace)
        return _broker_problem(cluster, namespace, broker) or subscriber
    if kind.store == "pingsources":
        return _destination_problem(cluster, obj.get("sink") or {}, namespace)
    if kind.kind == "SinkBinding":
        return _destination_problem(cluster, obj.get("spec", {}).get("sink") or {}, namespace)
    if kind.kind == "Pod":
        return "Pending"
    if kind.kind == "Certificate":
        return _certificate_problem(cluster, obj)
    if kind.kind == "ClusterIssuer":
        return _issuer_problem(cluster, obj)
    crash = obj.get("fake", {}).get("crash")
    if crash:  # a Deployment whose pods exit at start (CrashLoopBackOff)
        return str(crash)
    pod = obj.get("spec", {}).get("template", {}).get("spec")
    if kind.kind in ("Job", "Deployment", "StatefulSet", "DaemonSet") and pod:
        return pod_problem(cluster, namespace, pod)
    return None


# cert-manager, as far as kind-setup.sh relies on it: a Certificate is issued (its Secret
# written) once its issuer is Ready; a selfSigned ClusterIssuer is Ready at once, a CA one when
# its Secret, in cert-manager's cluster resource namespace, exists or is being issued.
CERT_MANAGER_NAMESPACE = "cert-manager"


def _certificate_problem(cluster: Cluster, obj: Obj, depth: int = 0) -> str | None:
    ref = obj.get("spec", {}).get("issuerRef") or {}
    if ref.get("kind") != "ClusterIssuer":
        raise Unsupported(f"a Certificate issued by a {ref.get('kind', 'namespaced Issuer')}")
    issuer = objects(cluster, KIND_BY_NAME["clusterissuer"], "").get(str(ref.get("name")))
    if issuer is None:
        return f'IssuerNotFound: clusterissuer.cert-manager.io "{ref.get("name")}" not found'
    reason = _issuer_problem(cluster, issuer, depth + 1)
    return f"IssuerNotReady: {reason}" if reason else None


def _issuer_problem(cluster: Cluster, issuer: Obj, depth: int = 0) -> str | None:
    spec = issuer.get("spec", {})
    if "selfSigned" in spec:
        return None
    secret = str((spec.get("ca") or {}).get("secretName", ""))
    if not secret:
        raise Unsupported(f"a ClusterIssuer of kind {sorted(spec)}")
    if secret in objects(cluster, KIND_BY_NAME["secret"], CERT_MANAGER_NAMESPACE):
        return None
    certificates = objects(cluster, KIND_BY_NAME["certificate"], CERT_MANAGER_NAMESPACE)
    for certificate in certificates.values():
        issues = certificate.get("spec", {}).get("secretName") == secret
        if issues and depth < 3 and _certificate_problem(cluster, certificate, depth) is None:
            return None
    return f'Error getting keypair for CA issuer: secrets "{secret}" not found'


def tls_effective(cluster: Cluster) -> bool:
    """Whether Serving gives external domains certificates (and so https:// URLs): config-network
    says external-domain-tls Enabled, the controller was (re)started since (it reads that key only
    at start: cmd/controller/main.go), and config-certmanager's issuer is Ready."""
    configmaps = objects(cluster, KIND_BY_NAME["configmap"], "knative-serving")
    network = (configmaps.get("config-network") or {}).get("data") or {}
    if network.get("external-domain-tls") != "Enabled":
        return False
    controller = objects(cluster, KIND_BY_NAME["deployment"], "knative-serving").get("controller")
    if not controller or not controller.get("fake", {}).get("net_certmanager"):
        return False
    import yaml

    certmanager = (configmaps.get("config-certmanager") or {}).get("data") or {}
    ref = yaml.safe_load(certmanager.get("issuerRef") or "{}") or {}
    issuer = objects(cluster, KIND_BY_NAME["clusterissuer"], "").get(str(ref.get("name", "")))
    return (
        ref.get("kind") == "ClusterIssuer"
        and issuer is not None
        and _issuer_problem(cluster, issuer) is None
    )


def service_url(cluster: Cluster, namespace: str, name: str, service: Obj) -> str:
    """fake_kn.SERVICE_URL: the Route's URL as Serving makes it. Cluster-local: the Kubernetes
    name, http. Else NAME.NAMESPACE.DOMAIN (config-domain's default domain, example.com when it
    names none), https when external-domain-tls is in force."""
    labels = service.get("labels") or {}
    if labels.get("networking.knative.dev/visibility") == "cluster-local":
        return f"http://{name}.{namespace}.svc.cluster.local"
    configmaps = objects(cluster, KIND_BY_NAME["configmap"], "knative-serving")
    domains = (configmaps.get("config-domain") or {}).get("data") or {}
    default = [d for d, selector in domains.items() if not selector and not d.startswith("_")]
    domain = default[0] if default else "example.com"
    scheme = "https" if tls_effective(cluster) else "http"
    return f"{scheme}://{name}.{namespace}.{domain}"


def _service_problem(cluster: Cluster, namespace: str, name: str, obj: Obj) -> str | None:
    latest = str(obj["revisions"][-1])
    reason = revision_problem(cluster, namespace, latest)
    if reason:
        return f"RevisionFailed: Revision {latest!r} failed with message: {reason}"
    return None


def revision_problem(cluster: Cluster, namespace: str, revision: str) -> str | None:
    marked = section(cluster, "not_ready").get(
        mark_key(KIND_BY_NAME["revision"], namespace, revision)
    )
    if marked:
        return str(marked)
    facts = revision_facts(cluster, namespace, revision)
    if facts is None:
        return f'revisions.serving.knative.dev "{revision}" not found'
    container = {"image": facts["image"], "env": _env_list(facts["env"])}
    if facts.get("envFrom"):
        container["envFrom"] = facts["envFrom"]
    return pod_problem(cluster, namespace, {"containers": [container]})


def pod_problem(cluster: Cluster, namespace: str, pod: Obj) -> str | None:
    """Why a pod of this spec never runs: its kind.local image is not on the node (Kind has no
    registry: only what `kind load` put there), or a Secret or key its env names is missing."""
    images = node_images(cluster)
    secrets = objects(cluster, KIND_BY_NAME["secret"], namespace)
    for box in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        image = str(box.get("image", ""))
        if image.startswith("kind.local/") and image not in images:
            return (
                f'Back-off pulling image "{image}": not in the Kind node (no registry serves '
                "kind.local/: the image must be loaded with kind load)"
            )
        for env in box.get("env", []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if not ref or ref.get("optional"):
                continue
            secret = secrets.get(str(ref.get("name")))
            if secret is None:
                return f'CreateContainerConfigError: secret "{ref.get("name")}" not found'
            if str(ref.get("key")) not in (secret.get("data") or {}):
                return (
                    f"CreateContainerConfigError: couldn't find key {ref.get('key')} in Secret "
                    f"{namespace}/{ref.get('name')}"
                )
        for source in box.get("envFrom", []):
            ref = source.get("secretRef")
            if ref and not ref.get("optional") and str(ref.get("name")) not in secrets:
                return f'CreateContainerConfigError: secret "{ref.get("name")}" not found'
    return None


def _env_list(env: Obj) -> list[Obj]:
    return [
        {"name": k, "value": v} if isinstance(v, str) else {"name": k, "valueFrom": v}
        for k, v in env.items()
    ]


def _broker_problem(cluster: Cluster, namespace: str, broker: Obj) -> str | None:
    if broker.get("class") == "RabbitMQBroker" and not crd_installed(
        cluster, KIND_BY_NAME["rabbitmqbrokerconfig"]
    ):
        return "no controller for the class RabbitMQBroker (eventing-rabbitmq is not installed)"
    config = broker.get("config") or {}
    if config.get("kind") == "RabbitmqBrokerConfig":
        kind = KIND_BY_NAME["rabbitmqbrokerconfig"]
        where = str(config.get("namespace") or namespace)
        found = objects(cluster, kind, where).get(str(config.get("name")))
        if found is None:
            return f'RabbitmqBrokerConfig "{config.get("name")}" not found'
        ref = found.get("spec", {}).get("rabbitmqClusterReference", {})
        rabbit = objects(cluster, KIND_BY_NAME["rabbitmqcluster"], ref.get("namespace", where))
        if str(ref.get("name")) not in rabbit:
            return f'RabbitmqCluster "{ref.get("name")}" not found'
    dead_letter = (broker.get("delivery") or {}).get("deadLetterSink")
    return _destination_problem(cluster, dead_letter, namespace) if dead_letter else None


def _destination_problem(cluster: Cluster, destination: Obj, namespace: str) -> str | None:
    if destination.get("uri") and not destination.get("ref"):
        return None
    ref = destination.get("ref") or {}
    where = str(ref.get("namespace") or namespace)
    if ref.get("kind") == "Service" and "knative" in str(ref.get("apiVersion")):
        found = cluster.objects("services", where)
    elif ref.get("kind") == "Broker":
        found = cluster.objects("brokers", where)
    elif ref.get("kind") == "Service":
        found = objects(cluster, KIND_BY_NAME["svc"], where)
    else:
        return f"cannot resolve the destination {destination}"
    if str(ref.get("name")) not in found:
        return f'{ref.get("kind")} "{ref.get("name")}" not found (the sink does not resolve)'
    return None


# -- Knative Serving's revisions and the SinkBinding -----------------------------------------------
def revision_facts(cluster: Cluster, namespace: str, revision: str) -> Obj | None:
    facts = section(cluster, "revisions", namespace).get(revision)
    if isinstance(facts, dict):
        return facts
    for svc, obj in cluster.objects("services", namespace).items():  # made without the hooks
        if revision in obj["revisions"]:
            template = obj["template"]
            return {
                "service": svc,
                "created": "",
                "image": template["image"],
                "env": template["env"],
            }
    return None


def k_sink(cluster: Cluster, namespace: str, name: str, service: Obj) -> str | None:
    """K_SINK as a SinkBinding gives it: one selecting this Service (by name or labels) whose
    sink exists; a Broker's address, or a URI."""
    bindings = objects(cluster, KIND_BY_NAME["sinkbinding"], namespace)
    for binding in bindings.values():
        spec = binding.get("spec", {})
        subject = spec.get("subject", {})
        if subject.get("kind") != "Service" or "serving.knative.dev" not in str(
            subject.get("apiVersion")
        ):
            continue
        wanted = (subject.get("selector") or {}).get("matchLabels") or {}
        labels = service.get("labels", {})
        if subject.get("name") != name and not (
            wanted and all(labels.get(k) == str(v) for k, v in wanted.items())
        ):
            continue
        sink = spec.get("sink") or {}
        if sink.get("uri"):
            return str(sink["uri"])
        ref = sink.get("ref") or {}
        where = str(ref.get("namespace") or namespace)
        broker = cluster.objects("brokers", where).get(str(ref.get("name")))
        if ref.get("kind") == "Broker" and broker is not None:
            rendered = fake_kn.render("brokers", where, str(ref["name"]), broker)
            return str(rendered["status"]["address"]["url"])
    return None


def record_revision(cluster: Cluster, namespace: str, name: str, service: Obj) -> None:
    """fake_kn.ON_NEW_REVISION: what the new revision is made of, and when."""
    revision = str(service["revisions"][-1])
    template = service["template"]
    env = dict(template["env"])
    sink = k_sink(cluster, namespace, name, service)
    if sink:
        env["K_SINK"] = sink
    boxes = (template.get("pod") or {}).get("containers") or [{}]
    facts: Obj = {"service": name, "created": tick(cluster), "image": template["image"]}
    facts |= {"env": env, "labels": dict(template.get("labels", {}))}
    if boxes[0].get("envFrom"):
        facts["envFrom"] = boxes[0]["envFrom"]
    section(cluster, "revisions", namespace)[revision] = facts


def new_revision_failure(cluster: Cluster, namespace: str, name: str, service: Obj) -> str | None:
    """fake_kn.REVISION_FAILURE: why the newest revision never becomes Ready."""
    return revision_problem(cluster, namespace, str(service["revisions"][-1]))


def attach() -> None:
    """Plug this cluster's controllers into fake_kn (idempotent)."""
    if record_revision not in fake_kn.ON_NEW_REVISION:
        fake_kn.ON_NEW_REVISION.append(record_revision)
    if service_url not in fake_kn.SERVICE_URL:
        fake_kn.SERVICE_URL.append(service_url)
    if new_revision_failure not in fake_kn.REVISION_FAILURE:
        fake_kn.REVISION_FAILURE.append(new_revision_failure)


# -- how objects look from kubectl get -o json -----------------------------------------------------
def view(cluster: Cluster, kind: Kind, namespace: str, name: str, obj: Obj) -> Obj:
    reason = problem(cluster, kind, namespace, name)
    ready = [{"type": "Ready", "status": "True"}]
    not_ready = [{"type": "Ready", "status": "False", "reason": "NotReady", "message": reason}]
    conditions = not_ready if reason else ready
    if kind.store == "revisions":
        return _revision_view(cluster, namespace, name, conditions)
    if kind.store == "pods":
        meta = {"name": name, "namespace": namespace}
        scheduled = {"type": "PodScheduled", "status": "True"}
        unschedulable = {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient cpu.",
        }
        status = {
            "phase": "Pending",
            "conditions": [scheduled if obj.get("scheduled") else unschedulable],
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": status}
    if kind.store in fake_kn.KINDS:
        rendered = fake_kn.render(kind.store, namespace, name, obj)
        rendered["status"]["conditions"] = conditions
        if kind.store == "services":
            _service_status(cluster, namespace, obj, rendered["status"])
        if obj.get("annotations"):  # a Trigger applied as YAML
            rendered["metadata"]["annotations"] = obj["annotations"]
        if kind.store == "triggers" and obj.get("delivery"):
            rendered["spec"]["delivery"] = obj["delivery"]
        return rendered
    body: Obj = json.loads(json.dumps(obj))
    if kind.kind == "Job":
        if reason:
            failed = {"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}
            body["status"] = {"conditions": [{**failed, "message": reason}], "failed": 1}
        else:
            complete = {"type": "Complete", "status": "True"}
            body["status"] = {"conditions": [complete], "succeeded": 1}
    elif kind.conditions:
        wanted = kind.conditions[0]
        body["status"] = {"conditions": [{**c, "type": wanted} for c in conditions]}
    return body


def _revision_view(cluster: Cluster, namespace: str, name: str, conditions: list[Obj]) -> Obj:
    facts = revision_facts(cluster, namespace, name) or {}
    service = str(facts.get("service", ""))
    labels = {**facts.get("labels", {}), "serving.knative.dev/service": service}
    labels["serving.knative.dev/configuration"] = service
    container: Obj = {"image": facts.get("image", ""), "env": _env_list(facts.get("env", {}))}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    meta["creationTimestamp"] = facts.get("created", "")
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": meta,
        "spec": {"containers": [container]},
        "status": {"conditions": conditions},
    }


def _service_status(cluster: Cluster, namespace: str, obj: Obj, status: Obj) -> None:
    """As Serving reports it: latestReadyRevisionName is the newest Ready revision, and the
    latest-revision traffic goes there (a failed new revision gets none)."""
    ready = [r for r in obj["revisions"] if not revision_problem(cluster, namespace, r)]
    if ready:
        status["latestReadyRevisionName"] = ready[-1]
    else:
        status.pop("latestReadyRevisionName", None)
    traffic = []
    for target in obj["traffic"]:
        if target.get("latestRevision"):
            if not ready:
                continue
            target = {**target, "revisionName": ready[-1]}
        traffic.append(target)
    status["traffic"] = traffic


# -- kubectl ---------------------------------------------------------------------------------------
# flag -> takes a value. Bool flags take none (or =true/=false); OPTIONAL_VALUE flags take one
# only after "=" (pflag's NoOptDefVal: `--dry-run client` would make "client" an argument).
KUBECTL_FLAGS = {
    "context": True,
    "namespace": True,
    "filename": True,
    "output": True,
    "for": True,
    "timeout": True,
    "type": True,
    "patch-file": True,
    "field-selector": True,
    "selector": True,
    "from-file": True,
    "tail": True,
    "all": False,
    "ignore-not-found": False,
    "wait": False,
}
OPTIONAL_VALUE = {"dry-run": "client"}
SHORTHANDS = {"n": "namespace", "f": "filename", "o": "output", "l": "selector"}


class Args(fake_kn.Parsed):
    """A kubectl, kind or docker call parsed: flags (values) and words (args), as kn's are."""

    @property
    def words(self) -> list[str]:
        return self.args

    def true(self, name: str) -> bool:
        return self.get(name, "false") in ("true", "1", "t", "True")

    @property
    def namespace(self) -> str:
        return self.get("namespace") or "default"


def parse_kubectl(argv: list[str]) -> Args:
    args = Args()
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            args.words.extend(rest)
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
        elif arg.startswith("-") and len(arg) > 1:
            name = SHORTHANDS.get(arg[1], "")
            if not name:
                raise Unsupported(f"flag {arg[:2]}")
            value = arg[2:].removeprefix("=")
            eq = "=" if len(arg) > 2 else ""
        else:
            args.words.append(arg)
            continue
        if name in OPTIONAL_VALUE:
            value = value if eq else OPTIONAL_VALUE[name]
        elif name not in KUBECTL_FLAGS:
            raise Unsupported(f"flag --{name}")
        elif not KUBECTL_FLAGS[name]:
            value = value if eq else "true"
        elif not eq:
            if not rest:
                raise Fail(f"error: flag needs an argument: --{name}")
            value = rest.pop(0)
        args.values.setdefault(name, []).append(value)
    return args


def check_context(cluster: Cluster, context: str) -> None:
    """kubectl's kubeconfig has a context kind-NAME for each Kind cluster, and no other."""
    if not context:
        raise Unsupported("a call without --context (the scripts always name the Kind cluster's)")
    if context.removeprefix("kind-") not in clusters(cluster) or not context.startswith("kind-"):
        raise Fail(
            f"Error in configuration: context was not found for specified context: {context}"
        )


def run_kubectl(cluster: Cluster, argv: list[str], io: IO) -> None:
    args = parse_kubectl(argv)
    check_context(cluster, args.get("context"))
    verb = args.words[0] if args.words else ""
    commands: dict[str, Callable[[Cluster, Args, IO], None]] = {
        "apply": k_apply,
        "wait": k_wait,
        "get": k_get,
        "create": k_create,
        "patch": k_patch,
        "delete": k_delete,
        "rollout": k_rollout,
        "logs": k_logs,
    }
    if verb not in commands:
        raise Unsupported(" ".join(argv))
    commands[verb](cluster, args, io)


def _not_found(kind: Kind, name: str) -> Fail:
    return Fail(f'Error from server (NotFound): {kind.resource} "{name}" not found')


def _known(cluster: Cluster, word: str) -> Kind:
    kind = kind_of(word)
    if not crd_installed(cluster, kind):
        raise Fail(f'error: the server doesn\'t have a resource type "{word}"')
    return kind


# apply --------------------------------------------------------------------------------------------
def k_apply(cluster: Cluster, args: Args, io: IO) -> None:
    import yaml

    sources = args.all("filename")
    if len(sources) != 1 or len(args.words) != 1:
        raise Unsupported("apply takes exactly one -f here")
    source = sources[0]
    if re.match(r"https?://", source):
        apply_release(cluster, source, io)
        return
    if source == "-":
        text, where = io.stdin(), "STDIN"
    else:
        path = Path(source)
        if path.is_dir():
            raise Unsupported(f"apply -f of a directory ({source})")
        if not path.is_file():
            raise Fail(f'error: the path "{source}" does not exist')
        text, where = path.read_text(encoding="utf-8"), source
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    if not docs:
        raise Fail("error: no objects passed to apply")
    errors = []
    for doc in docs:  # kubectl applies the others and reports the failures at the end
        try:
            io.out(apply_object(cluster, doc, args.namespace, where))
        except Fail as exc:
            errors.append(exc.text)
    if errors:
        raise Fail("\n".join(errors))


def apply_release(cluster: Cluster, url: str, io: IO) -> None:
    name = url.rsplit("/", 1)[-1]
    release = RELEASES.get(name)
    if release is None:
        raise Unsupported(f"apply -f {url} (a release manifest this fake does not know)")
    if not re.fullmatch(release.url, url):
        raise Fail(
            f'error: unable to read URL "{url}", server reported 404 Not Found, status code=404'
        )
    crd = KIND_BY_NAME["crd"]
    for needed, needed_kind, api, where in release.needs_crds:
        if needed not in objects(cluster, crd, ""):
            namespace, _, obj = where.partition("/")
            raise Fail(
                f'error: resource mapping not found for name: "{obj}" namespace: "{namespace}" '
                f'from "{url}": no matches for kind "{needed_kind}" in version "{api}"\n'
                "ensure CRDs are installed first"
            )
    for namespace in release.needs_namespaces:
        if not namespace_exists(cluster, namespace):
            raise Fail(
                f'Error from server (NotFound): error when creating "{url}": namespaces '
                f'"{namespace}" not found'
            )
    made: list[tuple[Kind, str, str, Obj]] = [
        *((KIND_BY_NAME["namespace"], "", n, {}) for n in release.namespaces),
        *((crd, "", n, {}) for n in release.crds),
    ]
    for word, items in (("deployment", release.deployments), ("configmap", release.configmaps)):
        for item in items:
            namespace, _, obj = item.partition("/")
            body: Obj = {"data": {}} if word == "configmap" else {}
            made.append((KIND_BY_NAME[word], namespace, obj, body))
    for kind, namespace, obj, initial in made:
        created = _create_object(cluster, kind, namespace, obj, initial)
        io.out(f"{kind.shown(obj)} {'created' if created else 'unchanged'}")
    section(cluster, "releases")[name] = url


def apply_object(cluster: Cluster, doc: Obj, default_namespace: str, where: str) -> str:
    api, kind_name = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    meta = doc.get("metadata") or {}
    name = str(meta.get("name", ""))
    kind = kind_for(api, kind_name)
    if kind is None:
        raise Unsupported(f"apply of a {kind_name} ({api}) from {where}")
    namespace = str(meta.get("namespace") or default_namespace) if kind.namespaced else ""
    if api != kind.api or not crd_installed(cluster, kind):
        raise Fail(
            f'error: resource mapping not found for name: "{name}" namespace: "{namespace}" '
            f'from "{where}": no matches for kind "{kind_name}" in version "{api}"\n'
            "ensure CRDs are installed first"
        )
    if not name:
        raise Fail(
            f'error: error when retrieving current configuration from "{where}": name is required'
        )
    if kind.namespaced and not namespace_exists(cluster, namespace):
        raise Fail(
            f'Error from server (NotFound): error when creating "{where}": namespaces '
            f'"{namespace}" not found'
        )
    if kind.store == "services":
        try:
            _, result = fake_kn.apply_service_manifest(cluster, namespace, doc)
        except fake_kn.KnError as exc:
            raise Fail(_refused(kind, where, name, str(exc), create=True)) from None
        action = {"created": "created", "unchanged": "unchanged"}.get(result, "configured")
        return f"{kind.shown(name)} {action}"
    store = objects(cluster, kind, namespace)
    old = store.get(name)
    if kind.store in fake_kn.KINDS:
        new = _kn_form(kind, doc, namespace)
        admitted_old = None if old is None else {"name": name, "namespace": namespace, **old}
        # A Trigger as the Kubernetes object (its annotations are checked); a Broker as fake_kn
        # keeps one, defaults applied, so that it compares with one kn made.
        body = (
            {**doc, "metadata": {**meta, "namespace": namespace}}
            if kind.kind == "Trigger"
            else {"name": name, "namespace": namespace, **new}
        )
    else:
        new = _stored_body(kind, doc, namespace)
        admitted_old, body = old, new
        _check_immutable(kind, name, old, new, where)
    if kind.kind in ADMITTED:
        refusal = fake_kn.admit(kind.kind, admitted_old, body)
        if refusal:
            raise Fail(_refused(kind, where, name, refusal, create=old is None))
    if old == new:
        return f"{kind.shown(name)} unchanged"
    store[name] = new
    return f"{kind.shown(name)} {'created' if old is None else 'configured'}"


def _refused(kind: Kind, where: str, name: str, refusal: str, *, create: bool) -> str:
    doing = f'error when creating "{where}"' if create else "error when applying patch"
    return (
        f"Error from server (BadRequest): {doing}: admission webhook denied the request: "
        f"{kind.kind} {name}: {refusal}"
    )


def _stored_body(kind: Kind, doc: Obj, namespace: str) -> Obj:
    body: Obj = json.loads(json.dumps(doc))
    body.pop("status", None)
    meta = body.setdefault("metadata", {})
    meta.pop("creationTimestamp", None)
    if kind.namespaced:
        meta["namespace"] = namespace
    return body


def _check_immutable(kind: Kind, name: str, old: Obj | None, new: Obj, where: str) -> None:
    if old is None:
        return
    before, after = old.get("spec", {}), new.get("spec", {})
    if kind.kind == "Job" and before != after:
        raise Fail(
            f'The Job "{name}" is invalid: spec.template: Invalid value: (from "{where}"): '
            "field is immutable"
        )
    if kind.kind == "StatefulSet":
        fixed = {k for k in set(before) | set(after) if k not in STATEFULSET_MUTABLE}
        if any(before.get(k) != after.get(k) for k in fixed):
            raise Fail(
                f'The StatefulSet "{name}" is invalid: spec: Forbidden: updates to statefulset '
                "spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                "are forbidden"
            )


def _with_namespace(destination: Obj | None, namespace: str) -> Obj | None:
    """Eventing's defaulting webhook: a ref without a namespace is in the object's."""
    if not destination:
        return destination
    found: Obj = json.loads(json.dumps(destination))
    if "ref" in found:
        found["ref"].setdefault("namespace", namespace)
    return found


def _kn_form(kind: Kind, doc: Obj, namespace: str) -> Obj:
    """A Broker, Trigger or PingSource manifest as fake_kn stores one."""
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    annotations = dict(meta.get("annotations") or {})
    if kind.kind == "Broker":
        config = dict(spec["config"]) if spec.get("config") else None
        if config is not None:
            config.setdefault("namespace", namespace)
        delivery = json.loads(json.dumps(spec.get("delivery") or {}))
        if delivery.get("deadLetterSink"):
            delivery["deadLetterSink"] = _with_namespace(delivery["deadLetterSink"], namespace)
        broker_class = annotations.get(BROKER_CLASS, "MTChannelBasedBroker")
        return {"class": broker_class, "config": config, "delivery": delivery}
    if kind.kind == "Trigger":
        stored: Obj = {
            "broker": str(spec.get("broker", "default")),
            "filter": dict((spec.get("filter") or {}).get("attributes") or {}),
            "sink": _with_namespace(spec.get("subscriber"), namespace),
        }
        if annotations:
            stored["annotations"] = annotations
        if spec.get("delivery"):
            stored["delivery"] = _with_namespace(spec["delivery"], namespace)
        return stored
    stored = json.loads(json.dumps(spec))  # PingSource: its spec, as fake_kn renders it
    stored["sink"] = _with_namespace(spec.get("sink"), namespace)
    return stored


# wait / rollout -----------------------------------------------------------------------------------
def _targets(cluster: Cluster, args: Args, words: list[str]) -> list[tuple[Kind, str]]:
    if args.true("all"):
        if len(words) != 1:
            raise Unsupported("wait/get --all with names")
        kind = _known(cluster, words[0])
        names = sorted(objects(cluster, kind, args.namespace))
        if not names:
            raise Fail("error: no matching resources found")
        return [(kind, n) for n in names]
    found = []
    for word in words:
        resource, slash, name = word.partition("/")
        if not slash:
            raise Unsupported(f"wait for {word!r} without a name or --all")
        found.append((_known(cluster, resource), name))
    return found


def k_wait(cluster: Cluster, args: Args, io: IO) -> None:
    wanted = args.get("for")
    if not wanted.startswith("condition="):
        raise Unsupported(f"wait --for={wanted}")
    condition = wanted.removeprefix("condition=").split("=")[0]
    failures = []
    for kind, name in _targets(cluster, args, args.words[1:]):
        namespace = args.namespace
        if name not in objects(cluster, kind, namespace):
            raise _not_found(kind, name)
        reason = problem(cluster, kind, namespace, name)
        if kind.conditions and condition not in kind.conditions:
            reason = (
                f"a {kind.kind} never has the condition {condition} ({', '.join(kind.conditions)})"
            )
        if reason:
            failures.append(
                f"error: timed out waiting for the condition on {kind.resource.split('.')[0]}/"
                f"{name} (fake: {reason})"
            )
        else:
            io.out(f"{kind.shown(name)} condition met")
    if failures:
        raise Fail("\n".join(failures))


def k_rollout(cluster: Cluster, args: Args, io: IO) -> None:
    if args.words[1:2] == ["restart"] and len(args.words) == 3:
        _rollout_restart(cluster, args, io)
        return
    if args.words[1:2] != ["status"] or len(args.words) != 3:
        raise Unsupported("rollout " + " ".join(args.words[1:]))
    resource, _, name = args.words[2].partition("/")
    kind = _known(cluster, resource)
    if kind.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
        raise Fail(f"error: no status viewer has been implemented for {kind.kind}")
    if name not in objects(cluster, kind, args.namespace):
        raise _not_found(kind, name)
    reason = problem(cluster, kind, args.namespace, name)
    if reason:
        raise Fail(f"error: timed out waiting for the condition (fake: {reason})")
    io.out(
        {
            "StatefulSet": f"partitioned roll out complete: 1 new pods have been updated...\n"
            f"statefulset rolling update complete 1 pods at revision {name}-1...",
            "DaemonSet": f'daemon set "{name}" successfully rolled out',
            "Deployment": f'deployment "{name}" successfully rolled out',
        }[kind.kind]
    )


def _rollout_restart(cluster: Cluster, args: Args, io: IO) -> None:
    """New pods for a Deployment. Serving's controller, when it starts, turns on its cert-manager
    integration if config-network says external-domain-tls Enabled, and then exits ("Please
    install cert-manager") unless cert-manager's CRDs are there (cmd/controller/main.go)."""
    resource, _, name = args.words[2].partition("/")
    kind = _known(cluster, resource)
    if kind.kind != "Deployment":
        raise Unsupported(f"rollout restart of a {kind.kind}")
    found = objects(cluster, kind, args.namespace)
    if name not in found:
        raise _not_found(kind, name)
    fake: Obj = {}
    if (args.namespace, name) == ("knative-serving", "controller"):
        configmaps = objects(cluster, KIND_BY_NAME["configmap"], "knative-serving")
        network = (configmaps.get("config-network") or {}).get("data") or {}
        if network.get("external-domain-tls") == "Enabled":
            crds = objects(cluster, KIND_BY_NAME["crd"], "")
            wanted = ("certificates.cert-manager.io", "challenges.acme.cert-manager.io")
            missing = [c for c in wanted if c not in crds]
            fake = (
                {"crash": f"Please install cert-manager: the CRDs are missing: {missing}"}
                if missing
                else {"net_certmanager": True}
            )
    found[name] = {**{k: v for k, v in found[name].items() if k != "fake"}, "fake": fake}
    io.out(f"{kind.shown(name)} restarted")


# get ----------------------------------------------------------------------------------------------
def k_get(cluster: Cluster, args: Args, io: IO) -> None:
    words = args.words[1:]
    if not words:
        raise Fail("error: Required resource not specified.")
    output = args.get("output")
    if "," in words[0]:
        if len(words) != 1 or output:
            raise Unsupported("get of several kinds with names or -o")
        for word in words[0].split(","):
            _table(cluster, _known(cluster, word), args, io)
        return
    kind = _known(cluster, words[0])
    if args.has("field-selector") and (
        kind.kind != "Pod" or args.get("field-selector") != "status.phase=Pending"
    ):
        raise Unsupported(f"--field-selector={args.get('field-selector')} on {words[0]}")
    namespace = args.namespace if kind.namespaced else ""
    if len(words) > 2:
        raise Unsupported("get of several names")
    if len(words) == 2:
        obj = objects(cluster, kind, namespace).get(words[1])
        if obj is None:
            raise _not_found(kind, words[1])
        body = view(cluster, kind, namespace, words[1], obj)
        if output:
            _print(io, output, [body], single=True, kind=kind)
        else:
            _table(cluster, kind, args, io, [body])
        return
    items = [
        view(cluster, kind, namespace, name, obj)
        for name, obj in sorted(objects(cluster, kind, namespace).items())
    ]
    items = [i for i in items if _selected(i, args.get("selector"))]
    if not output:
        _table(cluster, kind, args, io, items)
        return
    _print(io, output, items, single=False, kind=kind)


def _selected(body: Obj, selector: str) -> bool:
    labels = body.get("metadata", {}).get("labels", {}) or {}
    for term in filter(None, selector.split(",")):
        key, eq, value = term.partition("=")
        if not eq or "!" in key:
            raise Unsupported(f"label selector {selector!r}")
        if labels.get(key) != value.removeprefix("="):
            return False
    return True


def _print(io: IO, output: str, items: list[Obj], *, single: bool, kind: Kind) -> None:
    import yaml

    body: Obj = (
        items[0]
        if single
        else {
            "apiVersion": "v1",
            "items": items,
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }
    )
    if output == "json":
        io.out(json.dumps(body, indent=4))
    elif output in ("yaml", "yml"):
        io.out(yaml.safe_dump(body, sort_keys=True).rstrip())
    elif output == "name":
        for item in items:
            io.out(kind.shown(item["metadata"]["name"]))
    elif output.startswith("jsonpath="):
        io.write(" ".join(_jsonpath(item, output.removeprefix("jsonpath=")) for item in items))
    else:
        raise Unsupported(f"-o {output}")


def _table(
    cluster: Cluster, kind: Kind, args: Args, io: IO, items: list[Obj] | None = None
) -> None:
    namespace = args.namespace if kind.namespaced else ""
    if items is None:
        items = [
            view(cluster, kind, namespace, name, obj)
            for name, obj in sorted(objects(cluster, kind, namespace).items())
        ]
    if not items:
        io.err(
            f"No resources found in {namespace} namespace." if namespace else "No resources found"
        )
        return
    if kind.kind == "Pod":
        io.out("NAME  READY  STATUS  RESTARTS  AGE")
        for item in items:
            io.out(f"{item['metadata']['name']}  0/1  Pending  0  1m")
        return
    io.out("NAME  READY  REASON")
    for item in items:
        conditions = item.get("status", {}).get("conditions") or [{}]
        ready = conditions[0].get("status", "")
        io.out(f"{item['metadata']['name']}  {ready}  {conditions[0].get('message', '')}".rstrip())


JSONPATH_STEP = re.compile(
    r"\.(?P<key>(?:\\.|[^.\[\\])+)|\[\?\(@\.(?P<fkey>[\w-]+)==[\"'](?P<fval>[^\"']*)[\"']\)\]"
    r"|\[(?P<index>\d+|\*)\]"
)


def _jsonpath(body: Obj, template: str) -> str:
    """kubectl's jsonpath for one {...} expression of keys, [N], [*] and [?(@.k=="v")];
    a missing key prints nothing (kubectl get allows missing keys)."""
    if not (template.startswith("{") and template.endswith("}")) or template.count("{") != 1:
        raise Unsupported(f"jsonpath {template!r}")
    path, found, position = template[1:-1], [body], 0
    while position < len(path):
        step = JSONPATH_STEP.match(path, position)
        if step is None:
            raise Unsupported(f"jsonpath {template!r}")
        position = step.end()
        following: list[Any] = []
        for value in found:
            if step["key"] is not None and isinstance(value, dict):
                key = step["key"].replace("\\.", ".")
                if key in value:
                    following.append(value[key])
            elif step["fkey"] is not None and isinstance(value, list):
                following += [
                    v
                    for v in value
                    if isinstance(v, dict) and str(v.get(step["fkey"])) == step["fval"]
                ]
            elif step["index"] is not None and isinstance(value, list):
                following += value if step["index"] == "*" else value[int(step["index"]) :][:1]
        found = following
    return " ".join(v if isinstance(v, str) else json.dumps(v) for v in found)


# create / patch / delete / logs -------------------------------------------------------------------
def k_create(cluster: Cluster, args: Args, io: IO) -> None:
    import base64

    import yaml

    what = args.words[1:]
    if what[:1] == ["namespace"] and len(what) == 2 and not args.has("dry-run"):
        kind = KIND_BY_NAME["namespace"]
        if not _create_object(cluster, kind, "", what[1], {}):
            raise Fail(f'Error from server (AlreadyExists): namespaces "{what[1]}" already exists')
        io.out(f"namespace/{what[1]} created")
        return
    if what[:2] == ["secret", "generic"] and len(what) == 3:
        if args.get("dry-run") != "client" or args.get("output") != "yaml":
            raise Unsupported(
                "create secret without --dry-run=client -o yaml (the scripts pipe it to apply)"
            )
        data: Obj = {}
        for item in args.all("from-file"):
            key, eq, source = item.partition("=")
            if not eq:
                key, source = Path(item).name, item
            path = Path(source)
            if not path.is_file():
                raise Fail(f"error: error reading {source}: no such file or directory")
            if key in data:
                raise Fail(f"error: cannot add key {key}, another key by that name already exists")
            data[key] = base64.b64encode(path.read_bytes()).decode("ascii")
        body: Obj = {"apiVersion": "v1", "kind": "Secret"}
        if data:
            body["data"] = data
        body["metadata"] = {"creationTimestamp": None, "name": what[2], "namespace": args.namespace}
        io.out(yaml.safe_dump(body, sort_keys=True).rstrip())
        return
    raise Unsupported("create " + " ".join(what))


def k_patch(cluster: Cluster, args: Args, io: IO) -> None:
    import yaml

    what = args.words[1:]
    if len(what) != 2 or args.get("type") != "merge" or not args.has("patch-file"):
        raise Unsupported("patch " + " ".join(what) + " (only --type merge --patch-file)")
    kind = _known(cluster, what[0])
    obj = objects(cluster, kind, args.namespace).get(what[1])
    if obj is None:
        raise _not_found(kind, what[1])
    source = Path(args.get("patch-file"))
    if not source.is_file():
        raise Fail(f"error: unable to read patch file: open {source}: no such file or directory")
    patch = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    merged = _merge(
        obj, {k: v for k, v in patch.items() if k not in ("apiVersion", "kind", "metadata")}
    )
    changed = merged != obj
    objects(cluster, kind, args.namespace)[what[1]] = merged
    io.out(f"{kind.shown(what[1])} patched{'' if changed else ' (no change)'}")


def _merge(base: Any, patch: Any) -> Any:
    """A JSON merge patch (RFC 7386)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def k_delete(cluster: Cluster, args: Args, io: IO) -> None:
    what = args.words[1:]
    if len(what) != 2:
        raise Unsupported("delete " + " ".join(what))
    kind = _known(cluster, what[0])
    if kind.store != "objects" or kind.kind == "Namespace":
        raise Unsupported(f"delete {what[0]}")
    store = objects(cluster, kind, args.namespace)
    if what[1] not in store:
        if args.true("ignore-not-found"):
            return
        raise _not_found(kind, what[1])
    del store[what[1]]
    io.out(f'{kind.singular} "{what[1]}" deleted')


def k_logs(cluster: Cluster, args: Args, io: IO) -> None:
    what = args.words[1:]
    resource, _, name = (what[0] if what else "").partition("/")
    if len(what) != 1 or resource not in ("job", "jobs"):
        raise Unsupported("logs " + " ".join(what))
    kind = KIND_BY_NAME["job"]
    if name not in objects(cluster, kind, args.namespace):
        raise Fail(f'error: error from server (NotFound): jobs.batch "{name}" not found')
    reason = problem(cluster, kind, args.namespace, name)
    if reason:
        raise Fail(
            f'Error from server (BadRequest): container in pod "{name}-fake0" is waiting to '
            f"start: {reason}"
        )
    io.out(f"(fake log of job/{name}: the container ran and exited 0)")


# -- kind ------------------------------------------------------------------------------------------
def parse_simple(argv: list[str], flags: dict[str, bool], tool: str) -> Args:
    """--flag value / --flag=value / bool --flag, for kind and docker (no bundling)."""
    args = Args()
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-") or arg == "-":
            args.words.append(arg)
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if name not in flags:
            raise Unsupported(f"{tool} flag {arg}")
        if flags[name] and not eq:
            if not rest:
                raise Fail(f"{tool}: flag needs an argument: {arg}")
            value = rest.pop(0)
        args.values.setdefault(name, []).append(value if flags[name] or eq else "true")
    return args


def run_kind(cluster: Cluster, argv: list[str], io: IO) -> None:
    words = argv[:2]
    if argv == ["version"]:
        io.out(KIND_VERSION)
    elif argv == ["get", "clusters"]:
        names = sorted(clusters(cluster))
        if names:
            io.out("\n".join(names))
        else:
            io.err("No kind clusters found.")
    elif words == ["create", "cluster"]:
        args = parse_simple(
            argv[2:], {"name": True, "image": True, "config": True, "wait": True}, "kind"
        )
        _kind_create(cluster, args, io)
    elif words == ["load", "image-archive"]:
        args = parse_simple(argv[2:], {"name": True}, "kind")
        _kind_load(cluster, args, io)
    elif words == ["delete", "cluster"]:
        args = parse_simple(argv[2:], {"name": True}, "kind")
        name = args.get("name", "kind")
        io.err(f'Deleting cluster "{name}" ...')
        if name in clusters(cluster):
            for key in CLUSTER_KEYS:
                cluster.state[key] = {}
            clusters(cluster).pop(name)
            io.err(f'Deleted nodes: ["{name}-control-plane"]')
    else:
        raise Unsupported(" ".join(argv))


def _kind_create(cluster: Cluster, args: Args, io: IO) -> None:
    import yaml

    name = args.get("name", "kind")
    if args.words:
        raise Unsupported("kind create cluster " + " ".join(args.words))
    config = args.get("config")
    if config:
        path = Path(config)
        if not path.is_file():
            raise Fail(
                f"ERROR: failed to create cluster: error reading file: open {config}: "
                "no such file or directory"
            )
        body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if (body.get("kind"), body.get("apiVersion")) != ("Cluster", "kind.x-k8s.io/v1alpha4"):
            raise Fail(f"ERROR: failed to create cluster: {config} is not a kind Cluster config")
    if name in clusters(cluster):
        raise Fail(
            "ERROR: failed to create cluster: node(s) already exist for a cluster with the name "
            f'"{name}"'
        )
    if clusters(cluster):
        raise Unsupported("a second Kind cluster (the state holds one cluster's objects)")
    image = args.get("image", "kindest/node:v1.34.0")
    if not re.match(r"kindest/node:v\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$", image):
        raise Fail(f"ERROR: failed to create cluster: failed to pull image {image!r}")
    io.err(f'Creating cluster "{name}" ...\n ✓ Ensuring node image ({image})\n ✓ Ready after 0s')
    clusters(cluster)[name] = {"node_image": image, "images": []}
    for namespace in KIND_NAMESPACES:
        _create_object(cluster, KIND_BY_NAME["namespace"], "", namespace, {})
    for item in KIND_DEPLOYMENTS:
        namespace, _, obj = item.partition("/")
        _create_object(cluster, KIND_BY_NAME["deployment"], namespace, obj, {})
    io.err(f'Set kubectl context to "kind-{name}"')


def _kind_load(cluster: Cluster, args: Args, io: IO) -> None:
    name = args.get("name", "kind")
    if len(args.words) != 1:
        raise Unsupported("kind load image-archive with " + " ".join(args.words or ["no file"]))
    if name not in clusters(cluster):
        raise Fail(f'ERROR: no nodes found for cluster "{name}"')
    archive = Path(args.words[0])
    if not archive.is_file():
        raise Fail(f"ERROR: failed to load image: stat {archive}: no such file or directory")
    try:
        body = json.loads(archive.read_text(encoding="utf-8"))
        images = body["fake-docker-archive"]
    except (ValueError, KeyError):
        raise Fail(f"ERROR: failed to load image: {archive} is not an image archive") from None
    if not isinstance(body.get("platforms"), list):  # saved with no --platform (see docker save)
        digest = next(iter(images.values()), "sha256:0")
        raise Fail(
            "ERROR: failed to load image: command "
            f'"docker exec --privileged -i {name}-control-plane '
            "ctr --namespace=k8s.io images import --all-platforms --digests "
            '--snapshotter=overlayfs -" failed with error: exit status 1\n'
            f"Command Output: ctr: content digest {digest}: not found"
        )
    node = clusters(cluster)[name]
    node["images"] = sorted({*node["images"], *images})
    for image in images:
        node_name = f"{name}-control-plane"
        io.err(f'Image: "{image}" with ID "{images[image]}" not yet present on node "{node_name}"')


# -- docker ----------------------------------------------------------------------------------------
def docker_images(cluster: Cluster) -> Obj:
    found: Obj = section(cluster, "docker", "images")
    return found


def docker_arch() -> str:
    """The daemon's architecture, as `docker version` names it."""
    import platform

    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


DOCKER_SAVE_HELP = """
Usage:  docker image save [OPTIONS] IMAGE [IMAGE...]

Save one or more images to a tar archive (streamed to STDOUT by default)

Aliases:
  docker image save, docker save

Options:
  -o, --output string          Write to a file, instead of STDOUT
      --platform stringArray   Save only the given platform(s). Formatted as
                               "os[/arch[/variant]]" (e.g., "linux/amd64")"""
DOCKER_VERSION: dict[str, Callable[[], str]] = {
    "{{.Server.Arch}}": docker_arch,
    "{{.Server.Version}}": lambda: "28.5.1",
}


def run_docker(cluster: Cluster, argv: list[str], io: IO) -> None:
    """Docker 28 with the containerd image store (the default of a new install)."""
    verb, rest = (argv[0], argv[1:]) if argv else ("", [])
    if verb == "image" and rest[:1] == ["save"]:  # the same command
        verb, rest = "save", rest[1:]
    if verb == "info" and not rest:
        io.out("Client: Docker Engine - Community (fake)\nServer:\n Server Version: 28.5.1 (fake)")
        io.out(" Storage Driver: overlayfs\n  driver-type: io.containerd.snapshotter.v1")
    elif (
        verb == "version" and len(rest) == 2 and rest[0] == "--format" and rest[1] in DOCKER_VERSION
    ):
        io.out(DOCKER_VERSION[rest[1]]())
    elif verb == "build":
        _docker_build(
            cluster, parse_simple(rest, {"build-arg": True, "tag": True, "t": True}, "docker"), io
        )
    elif verb == "save" and rest == ["--help"]:
        io.out(DOCKER_SAVE_HELP)
    elif verb == "save":
        _docker_save(
            cluster, parse_simple(rest, {"output": True, "o": True, "platform": True}, "docker")
        )
    elif verb == "run":
        _docker_run(cluster, rest, io)
    else:
        raise Unsupported(" ".join(argv))


def _docker_save(cluster: Cluster, args: Args) -> None:
    """The archive kind loads. Under the containerd image store an image is an index whose other
    platforms' content is absent (its base image was pulled for this platform only): an archive
    saved without --platform names that content, and kind's import (--all-platforms) fails on
    it (kubernetes-sigs/kind#3795)."""
    output = args.get("output") or args.get("o")
    if not output or not args.words:
        raise Unsupported("docker save without --output FILE IMAGE...")
    for image in args.words:
        if image not in docker_images(cluster):
            raise Fail(f"Error response from daemon: No such image: {image}")
    platforms = args.all("platform")
    for platform in platforms:
        if platform != f"linux/{docker_arch()}":
            raise Fail(
                f"Error response from daemon: image {args.words[0]} was found but does not "
                f"provide the specified platform ({platform})"
            )
    target = Path(output)
    if not target.parent.is_dir():
        raise Fail(f"failed to save image: open {output}: no such file or directory")
    archive = {image: docker_images(cluster)[image]["id"] for image in args.words}
    body = {"fake-docker-archive": archive, "platforms": platforms or "all (index, content absent)"}
    target.write_text(json.dumps(body), encoding="utf-8")


def _docker_build(cluster: Cluster, args: Args, io: IO) -> None:
    import hashlib

    if len(args.words) != 1:
        raise Unsupported("docker build with " + (" ".join(args.words) or "no context"))
    context = Path(args.words[0])
    if not context.is_dir():
        raise Fail(f'ERROR: failed to build: unable to prepare context: path "{context}" not found')
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        raise Fail(
            "ERROR: failed to build: failed to solve: failed to read dockerfile: open Dockerfile: "
            "no such file or directory"
        )
    text = dockerfile.read_text(encoding="utf-8")
    declared = set(re.findall(r"^ARG\s+([A-Za-z_][A-Za-z0-9_]*)", text, flags=re.MULTILINE))
    build_args = dict(item.partition("=")[::2] for item in args.all("build-arg"))
    unused = sorted(set(build_args) - declared)
    if unused:
        io.err(f"[Warning] One or more build-args {unused} were not consumed")
    domain = build_args.get("DOMAIN", "")
    known = domain == "all" or bool(domain and (context / "functions" / domain).is_dir())
    if "DOMAIN" in declared and not known:  # the Dockerfile's own check
        raise Fail(
            "ERROR: failed to build: failed to solve: process did not complete successfully: "
            f"exit code: 1 (no functions/{domain} for DOMAIN={domain!r})"
        )
    digest = hashlib.sha256(
        json.dumps([str(context), build_args], sort_keys=True).encode()
    ).hexdigest()
    for tag in [*args.all("tag"), *args.all("t")]:
        docker_images(cluster)[tag] = {
            "id": f"sha256:{digest}",
            "context": str(context),
            "build_args": build_args,
        }
        io.err(f"#1 naming to {tag} done")


def _docker_run(cluster: Cluster, argv: list[str], io: IO) -> None:
    import base64

    flags = {"rm": False, "entrypoint": True}
    options: list[str] = []
    rest = list(argv)
    while rest and rest[0].startswith("-"):  # docker's options end at the image
        options.append(rest.pop(0))
        if options[-1] == "--entrypoint" and rest:
            options.append(rest.pop(0))
    args = parse_simple(options, flags, "docker")
    if not rest:
        raise Fail('docker: "docker run" requires at least 1 argument.')
    image, command = rest[0], rest[1:]
    if args.get("entrypoint") != "python" or command[:1] != ["-c"] or len(command) != 2:
        raise Unsupported(
            "docker run " + " ".join(argv) + " (only --entrypoint python IMAGE -c CODE)"
        )
    if image not in docker_images(cluster):
        raise Fail(
            f"Unable to find image '{image}' locally\ndocker: Error response from daemon: pull "
            f"access denied for {image.rsplit(':', 1)[0]}, repository does not exist",
            125,
        )
    context = Path(docker_images(cluster)[image]["context"])
    _check_imports(command[1], context)
    key = base64.b64encode(os.urandom(48)).decode("ascii")
    pem = f"-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----\n"
    io.write(pem)


def _check_imports(code: str, context: Path) -> None:
    """The code must be Python, and what it imports from the project (a package in the image's
    build context) must exist there: the placeholder key stands for code that would run."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise Fail(f'  File "<string>", line 1\nSyntaxError: {exc.msg}') from None
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if not (context / node.module.split(".")[0]).is_dir():
            continue  # not the project's: the image's own libraries
        module = (context / Path(*node.module.split("."))).with_suffix(".py")
        if not module.is_file():
            raise Fail(f"ModuleNotFoundError: No module named '{node.module}'")
        defined = _top_level_names(module)
        for alias in node.names:
            if alias.name not in defined:
                raise Fail(f"ImportError: cannot import name '{alias.name}' from '{node.module}'")


def _top_level_names(module: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for top in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(top.name)
        elif isinstance(top, ast.Assign | ast.AnnAssign):
            targets = top.targets if isinstance(top, ast.Assign) else [top.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(top, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in top.names}
    return names


# -- kn: fake_kn's, on this cluster ----------------------------------------------------------------
KN_KINDS = {
    "service": "ksvc",
    "revision": "revision",
    "broker": "broker",
    "trigger": "trigger",
    "source": "pingsource",
}


def kn(argv: list[str]) -> int:
    """fake_kn's kn, with this cluster's admission default, controllers and kubeconfig: a
    --context must be an existing Kind cluster's, the API group must be installed, and a write
    goes to a namespace that exists."""
    state = os.environ.get(STATE_ENV)
    try:
        inv = fake_kn.resolve(fake_kn.SPEC, argv)
    except (fake_kn.KnError, fake_kn.NotModelled):
        return fake_kn.main(argv)
    if inv.help or inv.path == "version" or not state:
        return fake_kn.main(argv)
    cluster = Cluster(Path(state))
    context = inv.parsed.get("context")
    namespace = inv.parsed.get("namespace") or "default"
    kind = kind_of(KN_KINDS[inv.path.split()[0]])
    reason = None
    if context and (not context.startswith("kind-") or context[5:] not in clusters(cluster)):
        reason = f"invalid configuration: context was not found for specified context: {context}"
    elif not clusters(cluster):
        reason = "invalid configuration: no configuration has been provided"
    elif not crd_installed(cluster, kind):
        api = "Serving" if "serving" in kind.api else "Eventing"
        reason = (
            f"no or newer Knative {api} API found on the backend, please verify the "
            "installation or update the 'kn' client"
        )
    elif inv.path.split()[-1] in ("create", "apply", "update") and not namespace_exists(
        cluster, namespace
    ):
        reason = f'namespaces "{namespace}" not found'
    if reason is None:
        return fake_kn.main(argv)
    if os.environ.get(LOG_ENV):
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            log.write(json.dumps(argv) + "\n")
    print(f"Error: {reason}\nRun 'kn --help' for usage", file=sys.stderr)
    return 1


# -- entry points ----------------------------------------------------------------------------------
Tool = Callable[[Cluster, list[str], IO], None]
RUNNERS: dict[str, Tool] = {"kubectl": run_kubectl, "kind": run_kind, "docker": run_docker}


def run(tool: str, argv: list[str], state: Path, io: IO | None = None) -> int:
    """Run one call against the state file; the state is written only when it changed."""
    io = io or IO()
    cluster = Cluster(state)
    before = json.dumps(cluster.state, sort_keys=True)
    code = 0
    try:
        RUNNERS[tool](cluster, argv, io)
    except Fail as exc:
        io.err(exc.text)
        code = exc.code
    except Unsupported as exc:
        io.err(f"fake {tool}: unsupported: {exc}")
        return 1
    if json.dumps(cluster.state, sort_keys=True) != before:
        cluster.save()
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in TOOLS:
        print(f"usage: fake_cluster.py {'|'.join(TOOLS)} ARGS...", file=sys.stderr)
        return 2
    tool, rest = args[0], args[1:]
    os.environ.setdefault(ADMISSION_ENV, DEFAULT_ADMISSION)  # this process's own environment
    attach()
    if tool == "kn":
        return kn(rest)
    state = os.environ.get(STATE_ENV)
    if not state:
        print(f"fake {tool}: {STATE_ENV} is not set: there is no cluster state", file=sys.stderr)
        return 2
    return run(tool, rest, Path(state))


def install(bin_dir: Path) -> list[Path]:
    """Write bin_dir/{kubectl,kind,docker,kn}: shell shims that run this module with this Python.

    The module is imported, not run as a file: Python caches an imported module's bytecode but
    compiles a script anew on every start, which would cost each of a deploy's calls as much as
    the rest of the call."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    entry = "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    entry += "from tests.k8s.fake_cluster import main; sys.exit(main())"
    python, repo = shlex.quote(sys.executable), shlex.quote(str(REPO))
    shims = []
    for tool in TOOLS:
        shim = bin_dir / tool
        shim.write_text(
            f'#!/bin/sh\nexec {python} -c {shlex.quote(entry)} {repo} {tool} "$@"\n',
            encoding="utf-8",
        )
        shim.chmod(0o755)
        shims.append(shim)
    return shims


# -- helpers for tests -----------------------------------------------------------------------------
def mark_not_ready(state: Path, resource: str, namespace: str, name: str, reason: str) -> None:
    """Make an object never Ready (e.g. a revision whose pods crash): kubectl wait fails on it,
    a revision is reported Ready=False."""
    cluster = Cluster(state)
    kind = kind_of(resource)
    section(cluster, "not_ready")[mark_key(kind, namespace, name)] = reason
    cluster.save()


def bootstrap(state: Path, *, cluster_name: str = "acougue", tags: tuple[str, ...] = ()) -> None:
    """The cluster as kind-setup.sh leaves it before it deploys, made without running it: the
    Kind cluster, every release, the namespace and RabbitmqCluster, the Secrets the Knative
    Services read (placeholder values), and each Service's image at each tag, loaded."""
    import base64

    import yaml

    from tests.k8s.support import versions  # the tests' reading of deploy/versions.env

    quiet = IO(out=lambda _: None, write=lambda _: None, err=lambda _: None, stdin=lambda: "")
    cluster = Cluster(state)

    def call(tool: str, *argv: str) -> None:
        try:
            RUNNERS[tool](cluster, list(argv), quiet)
        except Fail as exc:
            raise RuntimeError(f"bootstrap: {tool} {' '.join(argv)}: {exc.text}") from None

    call("kind", "create", "cluster", "--name", cluster_name)
    context = f"--context=kind-{cluster_name}"
    pinned = versions()
    for release in RELEASES.values():  # in kind-setup.sh's order
        call("kubectl", context, "apply", "-f", release.url_at(pinned[release.version_key]))
    for manifest in ("deploy/cluster/namespace.yaml", "eventing/rabbitmqcluster.yaml"):
        call("kubectl", context, "apply", "-f", str(REPO / manifest))
    images: set[str] = set()
    secrets: dict[tuple[str, str], set[str]] = {}
    for path in sorted((REPO / "knative" / "services").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        namespace = str(doc["metadata"]["namespace"])
        template = fake_kn.service_from_manifest(doc)["template"]
        images.add(str(template["image"]).rsplit(":", 1)[0])
        for source in template["env"].values():
            ref = source.get("secretKeyRef") if isinstance(source, dict) else None
            if ref and not ref.get("optional"):
                secrets.setdefault((namespace, str(ref["name"])), set()).add(str(ref["key"]))
    for (namespace, name), keys in sorted(secrets.items()):
        data = {k: base64.b64encode(b"placeholder").decode() for k in sorted(keys)}
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data}
        apply_object(cluster, body, namespace, "bootstrap")
    archive = state.with_name(f".{state.name}.images.tar")
    for repo in sorted(images):
        refs = [f"{repo}:{tag}" for tag in tags]
        if refs:
            domain = f"--build-arg=DOMAIN={repo.rsplit('/', 1)[-1]}"
            call("docker", "build", domain, *(f"--tag={r}" for r in refs), str(REPO))
            platform = f"--platform=linux/{docker_arch()}"
            call("docker", "save", platform, f"--output={archive}", *refs)
            call("kind", "load", "image-archive", f"--name={cluster_name}", str(archive))
    archive.unlink(missing_ok=True)
    cluster.save()


def load(state: Path) -> Obj:
    """The state file's JSON (for assertions)."""
    loaded: Obj = json.loads(state.read_text(encoding="utf-8"))
    return loaded


if __name__ == "__main__":
    sys.exit(main())
