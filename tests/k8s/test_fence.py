"""The fence around acougue-system: NetworkPolicies that select what really runs there.

Pod labels come from this repository's manifests where it makes the pods (PostgreSQL, the
migration Job) and from the upstream sources at the pinned tags where Knative or
eventing-rabbitmq makes them (`upstream/admission.json`): a policy that selects a label no
pod carries fences nothing, or fences out what must talk.
"""

from __future__ import annotations

from typing import Any

from tests.k8s.admission import data
from tests.k8s.support import NAMESPACE, Doc, of_kind

FUNCTION_POD = {"key": "serving.knative.dev/service", "operator": "Exists"}


def _policies() -> list[Doc]:
    return of_kind("NetworkPolicy", "networking.k8s.io")


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "Exists" and key not in labels:
            return False
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
    return True


def _pods() -> dict[str, dict[str, str]]:
    """Every kind of pod in acougue-system, with the labels it really carries."""
    upstream = data()
    rabbit = upstream["eventing_rabbitmq"]
    pods = {
        "a function (Knative revision)": {
            "serving.knative.dev/service": "complete-sale",
            "serving.knative.dev/revision": "complete-sale-00001",
            "app": "complete-sale-00001",
        },
        "the Broker's ingress": {
            k: v.replace("<broker name>", "default") for k, v in rabbit["ingress"]["labels"].items()
        },
        "a Trigger's dispatcher": {
            k: v.replace("<broker name>", "default")
            for k, v in rabbit["dispatcher"]["labels"].items()
        },
        # The RabbitMQ cluster operator's pod labels: the cluster's name and component.
        "RabbitMQ": {
            "app.kubernetes.io/name": "rabbitmq",
            "app.kubernetes.io/component": "rabbitmq",
        },
    }
    for doc in [*of_kind("StatefulSet", "apps"), *of_kind("Job", "batch")]:
        if doc.namespace == NAMESPACE:
            pods[f"{doc.kind}/{doc.name}"] = doc.body["spec"]["template"]["metadata"]["labels"]
    return pods


def _allowed_from(target: dict[str, str]) -> list[dict[str, Any]]:
    peers: list[dict[str, Any]] = []
    for doc in _policies():
        if _matches(doc.body["spec"]["podSelector"], target):
            for rule in doc.body["spec"].get("ingress", []):
                peers += rule.get("from", [])
    return peers


def _admits(target: dict[str, str], namespace: str, source: dict[str, str]) -> bool:
    for peer in _allowed_from(target):
        ns_selector = peer.get("namespaceSelector")
        if ns_selector is None and namespace != NAMESPACE:
            continue
        if ns_selector is not None and not _matches(
            ns_selector, {"kubernetes.io/metadata.name": namespace}
        ):
            continue
        if _matches(peer.get("podSelector", {}), source):
            return True
    return False


def test_every_pod_in_the_namespace_is_denied_by_default() -> None:
    deny = [
        d
        for d in _policies()
        if d.body["spec"]["podSelector"] == {} and not d.body["spec"].get("ingress")
    ]
    assert deny, "no default-deny ingress policy"
    assert all(d.namespace == NAMESPACE for d in _policies())
    assert "Ingress" in deny[0].body["spec"]["policyTypes"]


def test_what_must_talk_is_let_through_and_nothing_else() -> None:
    pods = _pods()
    planes = data()["serving"]["control_plane_pod_labels"]
    kourier = planes["kourier-system/3scale-kourier-gateway"]
    activator = planes["knative-serving/activator"]
    adapter = data()["eventing"]["pingsource_adapter"]["labels"]
    function, ingress = pods["a function (Knative revision)"], pods["the Broker's ingress"]
    dispatcher, rabbitmq = pods["a Trigger's dispatcher"], pods["RabbitMQ"]
    postgres = pods["StatefulSet/postgres"]
    migrate = pods["Job/acougue-migrate"]
    # Calls to a function come through Kourier or the activator, whoever made them.
    assert _admits(function, "kourier-system", kourier)
    assert _admits(function, "knative-serving", activator)
    assert not _admits(function, NAMESPACE, dispatcher), "dispatchers call through Kourier"
    assert not _admits(function, "knative-eventing", adapter), "the adapter calls through Kourier"
    assert not _admits(function, "default", {"app": "anything"})
    # Publishing, AMQP, the database.
    assert _admits(ingress, NAMESPACE, function)
    assert not _admits(ingress, "default", function)
    assert _admits(rabbitmq, NAMESPACE, ingress)
    assert _admits(rabbitmq, NAMESPACE, dispatcher)
    assert not _admits(rabbitmq, NAMESPACE, function), "functions publish over HTTP, not AMQP"
    assert _admits(postgres, NAMESPACE, function)
    assert _admits(postgres, NAMESPACE, migrate)
    assert not _admits(postgres, NAMESPACE, dispatcher)
    assert not _admits(postgres, "kourier-system", kourier)
    # Nothing may call a dispatcher or the migration Job.
    assert not _allowed_from(dispatcher)
    assert not _allowed_from(migrate)


def test_the_policies_select_labels_the_pods_carry() -> None:
    pods = _pods()
    for doc in _policies():
        selector = doc.body["spec"]["podSelector"]
        if selector == {}:
            continue
        assert any(_matches(selector, labels) for labels in pods.values()), (
            f"{doc.name} selects no pod that runs in {NAMESPACE}"
        )
