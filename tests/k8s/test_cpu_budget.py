"""The cluster fits the laptop docs/cluster.md asks for.

Every pod that runs in steady state after `kind-setup.sh up` (the platform's, from
tests/k8s/upstream/requests.json, and this repository's, from its manifests), plus room for
a few functions starting from zero at once, must request no more CPU than the documented
minimum: a Kind node offers the Docker VM's CPUs and nothing more, and a pod whose request
does not fit stays Pending. `python -m tests.k8s.cpu_budget` prints the breakdown.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.k8s import cpu_budget
from tests.k8s.cpu_budget import Requests, parse_quantity

HEX40 = re.compile(r"[0-9a-f]{40}")
SOURCE = re.compile(
    r"(?P<repo>[\w.-]+/[\w.-]+)@(?P<tag>[\w.-]+):(?P<path>[^#\s]+)(?:#L\d+(-L\d+)?)?"
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("1", Decimal(1)),
        ("1000m", Decimal(1)),
        ("0.5", Decimal("0.5")),
        ("4000m", Decimal(4)),
        ("64Mi", Decimal(64 * 2**20)),
        ("2Gi", Decimal(2 * 2**30)),
        ("512Ki", Decimal(512 * 2**10)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("1E", Decimal(10) ** 18),
        (None, Decimal(0)),
        (2, Decimal(2)),
    ],
)
def test_parse_quantity(text: str | int | None, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "m", "1 Mi", "1mi", "abc", "1.2.3"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity(text)


def test_requests_json_has_provenance_for_every_component() -> None:
    upstream = cpu_budget.load_upstream()
    provenance = upstream["provenance"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", provenance["extracted_on"])
    repos = {k: v for k, v in provenance.items() if k != "extracted_on"}
    for repo, entry in repos.items():
        assert entry.get("tag"), f"{repo}: no tag"
        pinned = isinstance(entry.get("commit"), str) and HEX40.fullmatch(entry["commit"])
        assert pinned or entry.get("unverified") is True, f"{repo}: no commit, not unverified"
    sources = [(c["workload"], c) for c in upstream["components"]]
    sources += list(upstream["per_object"].items())
    assert sources
    for name, entry in sources:
        match = SOURCE.match(entry["source"])
        assert match, f"{name}: source {entry['source']!r} is not repo@tag:path#L.."
        repo = match["repo"]
        assert repo in repos, f"{name}: {repo} has no provenance"
        assert match["tag"] == repos[repo]["tag"], f"{name}: tag differs from the provenance"
        if repos[repo].get("unverified"):
            assert entry.get("unverified") is True, f"{name}: unverified source, not marked so"
    for component in upstream["components"]:
        assert component["containers"], f"{component['workload']}: no containers"
        assert isinstance(component["replicas"], int)
        for values in component["containers"].values():
            parse_quantity(values["cpu"])
            parse_quantity(values["memory"])


def test_versions_match_the_pins() -> None:
    """requests.json describes the versions deploy/versions.env installs."""
    from tests.k8s.support import versions

    pins = versions()
    provenance = cpu_budget.load_upstream()["provenance"]
    tags = {k: v["tag"] for k, v in provenance.items() if k != "extracted_on"}
    assert tags["knative/serving"] == f"knative-v{pins['KNATIVE_SERVING_VERSION']}"
    assert tags["knative-extensions/net-kourier"] == (
        f"knative-v{pins['KNATIVE_NET_KOURIER_VERSION']}"
    )
    assert tags["knative/eventing"] == f"knative-v{pins['KNATIVE_EVENTING_VERSION']}"
    assert tags["knative-extensions/eventing-rabbitmq"] == (
        f"knative-v{pins['EVENTING_RABBITMQ_VERSION']}"
    )
    assert tags["cert-manager/cert-manager"] == f"v{pins['CERT_MANAGER_VERSION']}"
    assert tags["rabbitmq/cluster-operator"] == f"v{pins['RABBITMQ_CLUSTER_OPERATOR_VERSION']}"
    assert tags["rabbitmq/messaging-topology-operator"] == (
        f"v{pins['RABBITMQ_TOPOLOGY_OPERATOR_VERSION']}"
    )
    assert tags["kubernetes-sigs/kind"] == f"v{pins['KIND_MIN_VERSION']}"
    assert pins["KIND_NODE_IMAGE"].startswith(f"kindest/node:{tags['kubernetes/kubernetes']}@")


def test_rabbitmq_annotations_replace_the_defaults_whole() -> None:
    default = Requests(parse_quantity("50m"), parse_quantity("64Mi"))
    keys = cpu_budget.RABBITMQ_ANNOTATIONS
    assert cpu_budget.rabbitmq_requests({}, default) == default
    only_cpu = cpu_budget.rabbitmq_requests({keys["cpu-request"]: "10m"}, default)
    assert only_cpu == Requests(parse_quantity("10m"), Decimal(0))
    only_limit = cpu_budget.rabbitmq_requests({keys["memory-limit"]: "128Mi"}, default)
    assert only_limit == Requests(Decimal(0), parse_quantity("128Mi"))


def test_steady_state_cpu_fits_the_documented_laptop() -> None:
    """Steady-state requests + COLD_STARTS scale-from-zero pods <= the documented CPUs."""
    budget = cpu_budget.budget()
    assert budget.fits, (
        f"the cluster requests {budget.needed.millicores}m CPU, the documented laptop has "
        f"{int(budget.min_cpu * 1000)}m:\n{budget.table()}"
    )
