"""Every YAML document under knative/, eventing/ and deploy/ against the real schemas.

Custom resources (Knative, eventing-rabbitmq, RabbitMQ operators, Datadog, cert-manager):
the JSON schemas in ../shared/k8s-schemas, one per apiVersion/kind. Kubernetes' own kinds:
kubernetes-validate, strict (unknown fields rejected), for Kubernetes 1.34. Tool
configuration (the Kind cluster, kustomizations) is checked for what the tools need.
"""

from __future__ import annotations

import copy
import importlib
import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from jsonschema.protocols import Validator

from tests.k8s.support import REPO, SCHEMAS, Doc, documents, of_kind, yaml_files

KUBERNETES_VERSION = "1.34"
kubernetes_validate: Any = importlib.import_module("kubernetes_validate")

CUSTOM = [d for d in documents() if not d.is_core and not d.is_tool]
CORE = [d for d in documents() if d.is_core]


@pytest.fixture(scope="module", autouse=True)
def _schemas_present() -> None:
    if not SCHEMAS.is_dir():
        pytest.fail(f"the schemas are missing: {SCHEMAS} (../shared beside the checkout)")


@cache
def _validator(doc_group: str, kind: str, version: str) -> Validator:
    path = SCHEMAS / doc_group / f"{kind.lower()}_{version}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


def _custom_errors(doc: Doc) -> list[str]:
    validator = _validator(doc.group, doc.kind, doc.version)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(doc.body), key=lambda e: list(e.absolute_path))
    ]


def _core_check(body: dict[str, Any]) -> str:
    version: str = kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
    return version


def test_every_document_has_a_validator() -> None:
    """No document escapes: each is core, a custom resource with a schema, or tool config."""
    docs = documents()
    assert len(docs) == len(CUSTOM) + len(CORE) + sum(d.is_tool for d in docs)
    no_schema = [d.id for d in CUSTOM if not d.schema_path().is_file()]
    assert not no_schema, f"no schema in {SCHEMAS} for: {no_schema}"
    assert len(CUSTOM) >= 10
    assert len(CORE) >= 10
    # The kinds the issue asks for are all there.
    kinds = {(d.group, d.kind) for d in docs}
    for wanted in [
        ("serving.knative.dev", "Service"),
        ("eventing.knative.dev", "Broker"),
        ("eventing.knative.dev", "Trigger"),
        ("eventing.knative.dev", "RabbitmqBrokerConfig"),
        ("sources.knative.dev", "SinkBinding"),
        ("sources.knative.dev", "PingSource"),
        ("rabbitmq.com", "RabbitmqCluster"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("", "Namespace"),
    ]:
        assert wanted in kinds, f"no {wanted[1]} ({wanted[0] or 'core'}) in the manifests"


def test_the_bundled_schemas_include_kubernetes_1_34() -> None:
    versions = kubernetes_validate.utils.all_versions()
    assert any(v.startswith(f"{KUBERNETES_VERSION}.") for v in versions), versions


@pytest.mark.parametrize("doc", CUSTOM, ids=lambda d: d.id)
def test_custom_resource_matches_its_schema(doc: Doc) -> None:
    assert doc.schema_path().is_file(), f"no schema {doc.schema_path()}"
    errors = _custom_errors(doc)
    assert not errors, f"{doc.id} does not match {doc.schema_path().name}:\n" + "\n".join(errors)


@pytest.mark.parametrize("doc", CORE, ids=lambda d: d.id)
def test_core_object_is_valid_for_kubernetes_1_34_strict(doc: Doc) -> None:
    try:
        checked = _core_check(doc.body)
    except Exception as exc:  # ValidationError or SchemaNotFoundError, with the reason
        pytest.fail(f"{doc.id}: {getattr(exc, 'message', exc)}")
    assert checked == KUBERNETES_VERSION


def test_the_validators_reject_what_the_cluster_would() -> None:
    """The checks above can fail: a misspelt field is refused by both kinds of validator."""
    ksvc = copy.deepcopy(of_kind("Service", "serving.knative.dev")[0])
    ksvc.body["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Never"
    assert any("imagePullPolcy" in e for e in _custom_errors(ksvc))
    trigger = copy.deepcopy(of_kind("Trigger", "eventing.knative.dev")[0])
    trigger.body["spec"]["subscriber"]["ref"]["nmae"] = "event-log"
    assert any("nmae" in e for e in _custom_errors(trigger))

    statefulset = copy.deepcopy(of_kind("StatefulSet", "apps")[0].body)
    statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    with pytest.raises(kubernetes_validate.utils.ValidationError):
        _core_check(statefulset)
    job = copy.deepcopy(of_kind("Job", "batch")[0].body)
    del job["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(kubernetes_validate.utils.ValidationError):
        _core_check(job)


def test_kind_cluster_maps_host_port_80_to_kouriers_node_port() -> None:
    (cluster,) = of_kind("Cluster", "kind.x-k8s.io")
    assert cluster.version == "v1alpha4"
    assert set(cluster.body) <= {"kind", "apiVersion", "name", "nodes", "networking"}
    (node,) = cluster.body["nodes"]
    assert node["role"] == "control-plane"
    assert "image" not in node, "the node image comes from deploy/versions.env (--image)"
    mappings = {m["hostPort"]: m for m in node["extraPortMappings"]}
    assert 80 in mappings
    (kourier,) = [s for s in of_kind("Service", "") if s.namespace == "kourier-system"]
    assert kourier.body["spec"]["type"] == "NodePort"
    node_ports = {p["nodePort"] for p in kourier.body["spec"]["ports"]}
    assert mappings[80]["containerPort"] in node_ports
    assert kourier.body["spec"]["selector"] == {"app": "3scale-kourier-gateway"}


@pytest.mark.parametrize(
    "kustomization", of_kind("Kustomization", "kustomize.config.k8s.io"), ids=lambda d: d.rel
)
def test_kustomization_lists_every_manifest_of_its_folder(kustomization: Doc) -> None:
    folder = kustomization.path.parent
    listed = [folder / r for r in kustomization.body["resources"]]
    assert all(p.is_file() for p in listed), f"{kustomization.rel} lists a missing file"
    present = [
        p
        for p in yaml_files((folder.relative_to(REPO).as_posix(),))
        if p.name != "kustomization.yaml"
    ]
    missing = sorted(p.relative_to(folder).as_posix() for p in set(present) - set(listed))
    assert not missing, f"add to {kustomization.rel} resources: {missing}"
    assert len(listed) == len(set(listed)), "a resource is listed twice"


def test_config_map_patches_name_knatives_config_maps() -> None:
    patches = {d.name: d for d in of_kind("ConfigMap", "") if d.rel.startswith("deploy/knative/")}
    assert set(patches) == {
        "config-network",
        "config-domain",
        "config-deployment",
        "config-certmanager",
        "config-kourier",
    }
    assert all(p.namespace == "knative-serving" for p in patches.values())
    network = patches["config-network"].body["data"]
    assert network == {
        "ingress-class": "kourier.ingress.networking.knative.dev",
        "external-domain-tls": "Enabled",  # HTTPS for the gateway: tests/k8s/test_tls.py
        "http-protocol": "Redirected",
    }
    # Each patch's keys are ones the ConfigMap documents (its _example block upstream).
    assert set(patches["config-kourier"].body["data"]) == {"trusted-hops-count"}
    assert set(patches["config-certmanager"].body["data"]) == {"issuerRef"}
    assert patches["config-domain"].body["data"] == {"127.0.0.1.sslip.io": ""}
    skipping = patches["config-deployment"].body["data"]["registries-skipping-tag-resolving"]
    assert "kind.local" in skipping.split(",")
