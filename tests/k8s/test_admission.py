"""The manifests against what the cluster's admission webhooks would refuse.

The rules are data read from the upstream sources at the pinned tags (`upstream/`, with
provenance); `tests.k8s.admission` applies them. Each rule here was broken by main before
this model existed: every Knative Service set a `fieldRef` that Serving 1.22 refuses by
default, and the deploy updated a RabbitMQBroker's spec, which eventing-rabbitmq refuses.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.k8s.admission import (
    RESOURCE_ANNOTATIONS,
    admit,
    data,
    effective_features,
    serving_refusals,
    trigger_refusals,
)
from tests.k8s.support import REPO, Doc, knative_services, of_kind

COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _ids(docs: list[Doc]) -> list[str]:
    return [d.name for d in docs]


def test_every_rule_names_its_upstream_source_at_a_pinned_commit() -> None:
    provenance = data()["provenance"]
    for repo in ("knative/serving", "knative/eventing", "knative-extensions/eventing-rabbitmq"):
        assert COMMIT.match(provenance[repo]["commit"]), repo
        assert provenance[repo]["tag"].startswith("knative-v1.22"), repo
    for gated in data()["serving"]["feature_gated_fields"]:
        assert "@knative-v1.22.1:" in gated["source"], gated["path"]


@pytest.mark.parametrize("doc", knative_services(), ids=_ids(knative_services()))
def test_serving_admits_every_knative_service(doc: Doc) -> None:
    refusals = serving_refusals(doc.body, effective_features())
    assert not refusals, f"{doc.rel}: Knative Serving 1.22.1 would refuse:\n" + "\n".join(refusals)


def _service() -> dict[str, Any]:
    body = copy.deepcopy(knative_services()[0].body)
    assert isinstance(body, dict)
    return body


def test_the_model_refuses_a_field_ref_unless_the_feature_is_enabled() -> None:
    body = _service()
    box = body["spec"]["template"]["spec"]["containers"][0]
    box["env"].append(
        {"name": "DD_AGENT_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}
    )
    features = effective_features()
    assert features["kubernetes.podspec-fieldref"] == "disabled", "the setup enables no feature"
    (refusal,) = serving_refusals(body, features)
    assert "valueFrom.fieldRef" in refusal
    assert "kubernetes.podspec-fieldref" in refusal
    assert serving_refusals(body, {**features, "kubernetes.podspec-fieldref": "enabled"}) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda pod, box: pod.update(securityContext={"runAsNonRoot": True}), "securityContext"),
        (lambda pod, box: pod.update(automountServiceAccountToken=True), "only false"),
        (lambda pod, box: pod.update(nodeSelector={"a": "b"}), "nodeSelector"),
        (lambda pod, box: pod.update(hostNetwork=True), "hostNetwork"),
        (lambda pod, box: box["ports"][0].update(hostPort=8126), "hostPort"),
        (lambda pod, box: box["securityContext"].update(privileged=True), "privileged"),
        (lambda pod, box: box["securityContext"]["capabilities"].update(add=["NET_ADMIN"]), "add"),
        (lambda pod, box: box.update(lifecycle={}), "lifecycle"),
        (lambda pod, box: pod.update(timeoutSeconds=900), "timeoutSeconds"),
        (lambda pod, box: pod["volumes"].append({"name": "x", "emptyDir": {}}), "mounted"),
        (lambda pod, box: pod["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "h"),
    ],
)
def test_the_model_sees_what_serving_refuses(change: Any, words: str) -> None:
    body = _service()
    pod = body["spec"]["template"]["spec"]
    change(pod, pod["containers"][0])
    refusals = serving_refusals(body, effective_features())
    assert any(words in r for r in refusals), refusals


@pytest.mark.parametrize(
    "doc", of_kind("Trigger", "eventing.knative.dev"), ids=_ids(of_kind("Trigger"))
)
def test_eventing_rabbitmq_admits_every_trigger_with_sized_dispatchers(doc: Doc) -> None:
    assert trigger_refusals(doc.body) == []
    annotations = doc.body["metadata"].get("annotations", {})
    # Setting one resource annotation drops all of eventing-rabbitmq's defaults (limits
    # included): all four, so that no dispatcher runs unbounded.
    assert set(annotations) >= RESOURCE_ANNOTATIONS, f"{doc.name}: dispatcher resources"


def test_the_model_sees_what_eventing_rabbitmq_refuses_in_a_trigger() -> None:
    body = copy.deepcopy(of_kind("Trigger", "eventing.knative.dev")[0].body)
    body["metadata"]["annotations"]["rabbitmq.eventing.knative.dev/parallelism"] = "0"
    body["metadata"]["annotations"]["rabbitmq.eventing.knative.dev/cpu-request"] = "2"
    assert len(trigger_refusals(body)) == 2


def _broker() -> dict[str, Any]:
    (doc,) = of_kind("Broker", "eventing.knative.dev")
    return copy.deepcopy(doc.body)


def test_a_rabbitmq_brokers_spec_cannot_change_after_it_is_created() -> None:
    broker = _broker()
    assert admit("Broker", None, broker) is None
    assert admit("Broker", broker, copy.deepcopy(broker)) is None
    without_delivery = copy.deepcopy(broker)
    del without_delivery["spec"]["delivery"]
    # What main did: create the Broker bare, then add its delivery with `kn broker update`.
    refusal = admit("Broker", without_delivery, broker)
    assert refusal is not None
    assert "Immutable fields changed" in refusal
    # The same rule on the fake kn's stored form.
    stored = {"class": "RabbitMQBroker", "config": {"name": "c"}, "delivery": {}}
    assert admit("Broker", stored, {**stored, "delivery": {"retry": 5}}) is not None


def test_a_triggers_broker_and_filter_cannot_change() -> None:
    trigger = copy.deepcopy(of_kind("Trigger", "eventing.knative.dev")[1].body)
    assert admit("Trigger", trigger, copy.deepcopy(trigger)) is None
    moved = copy.deepcopy(trigger)
    moved["spec"]["broker"] = "other"
    assert "spec.broker" in str(admit("Trigger", trigger, moved))
    refiltered = copy.deepcopy(trigger)
    refiltered["spec"]["filter"]["attributes"]["type"] = "com.acougue.other"
    assert "spec.filter" in str(admit("Trigger", trigger, refiltered))


def test_a_rabbitmq_broker_config_cannot_change() -> None:
    (config,) = of_kind("RabbitmqBrokerConfig")
    changed = copy.deepcopy(config.body)
    changed["spec"]["queueType"] = "classic"
    assert admit("RabbitmqBrokerConfig", config.body, changed) is not None


def test_the_setup_enables_no_serving_feature_the_manifests_do_not_need() -> None:
    """If kind-setup.sh ever patches config-features, it does so from one file the model reads."""
    setup = (REPO / "kind-setup.sh").read_text(encoding="utf-8")
    if "config-features" in setup:
        patch = yaml.safe_load((REPO / "deploy/knative/config-features.yaml").read_text())
        assert patch["data"], "an empty feature patch"
    defaults = {
        k: v
        for k, v in data()["serving"]["features_defaults"].items()
        if k not in ("source", "notes")
    }
    assert effective_features() == {k: str(v).lower() for k, v in defaults.items()}
