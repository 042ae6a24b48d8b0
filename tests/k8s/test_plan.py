"""deploy.plan: how the manifests become kn arguments (the scripts only run what it says)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.plan import Plan, PlanError, main, rollback_target, serves_only, unschedulable
from tests.k8s.support import REPO


def _manifest(api_version: str, kind: str, name: str, rest: str) -> str:
    """A manifest in acougue-system: its head, then REST (more metadata, the spec)."""
    head = f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n"
    return head + "  namespace: acougue-system\n" + rest


# Templates for str.format (hence "{name}" and the doubled braces), but BROKER.
SERVICE = _manifest(
    "serving.knative.dev/v1",
    "Service",
    "{name}",
    """\
  labels: {{acougue.dev/domain: {domain}}}
spec:
  template:
    spec:
      containers:
        - image: {image}
          env:
            - {{name: FUNCTION_TARGET, value: {target}}}
            - {{name: FUNCTION_SOURCE, value: functions/{domain}/main.py}}
""",
)
BROKER = _manifest(
    "eventing.knative.dev/v1",
    "Broker",
    "default",
    """\
  annotations: {eventing.knative.dev/broker.class: RabbitMQBroker}
spec:
  delivery:
    retry: 3
    deadLetterSink:
      uri: http://sink.example/
""",
)
TRIGGER = _manifest(
    "eventing.knative.dev/v1",
    "Trigger",
    "{name}",
    """\
{extra}spec:
  broker: default
  filter: {{attributes: {{type: com.acougue.sale.paid, source: /acougue/x}}}}
  subscriber: {{ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: stock}}}}
""",
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small repository: one function, a broker, a kn-expressible and a YAML-only Trigger."""
    (tmp_path / "knative" / "services").mkdir(parents=True)
    (tmp_path / "eventing").mkdir()
    (tmp_path / "deploy" / "cluster").mkdir(parents=True)
    shutil.copy(REPO / "deploy/cluster/migrate-job.yaml", tmp_path / "deploy/cluster/")
    (tmp_path / "knative/services/stock.yaml").write_text(
        SERVICE.format(
            name="stock",
            domain="inventory",
            image="kind.local/acougue/inventory:dev",
            target="stock",
        )
    )
    (tmp_path / "eventing/broker.yaml").write_text(BROKER)
    triggers = [
        TRIGGER.format(name="plain", extra=""),
        TRIGGER.format(
            name="parallel",
            extra="  annotations: {rabbitmq.eventing.knative.dev/parallelism: '4'}\n",
        ),
    ]
    (tmp_path / "eventing/triggers.yaml").write_text("---\n".join(triggers))
    return tmp_path


def test_triggers_kn_can_express_use_kn_and_the_others_yaml(repo: Path) -> None:
    plan = Plan(repo)
    assert plan.triggers() == [("plain", "kn"), ("parallel", "yaml")]
    named = ["plain", "--namespace", "acougue-system"]
    wiring = ["--filter", "source=/acougue/x", "--filter", "type=com.acougue.sale.paid"]
    wiring += ["--sink", "ksvc:stock"]
    assert plan.trigger_args("plain") == [*named, "--broker", "default", *wiring]
    # kn registers --broker on `trigger create` only; a Trigger's broker cannot change.
    assert plan.trigger_args("plain", update=True) == [*named, *wiring]
    with pytest.raises(PlanError, match="kn has no flag"):
        plan.trigger_args("parallel")
    assert yaml.safe_load(plan.document_yaml("Trigger", "parallel"))["metadata"]["annotations"]


def test_the_broker_is_created_once_with_its_whole_delivery_spec(repo: Path) -> None:
    """A RabbitMQBroker's spec is immutable: no `kn broker update` can add the delivery later."""
    plan = Plan(repo)
    assert plan.broker_args("default") == [
        "default",
        "--namespace",
        "acougue-system",
        "--class",
        "RabbitMQBroker",
        "--retry",
        "3",
        "--dl-sink",
        "http://sink.example/",
    ]


def test_a_broker_that_differs_from_its_manifest_is_reported(repo: Path) -> None:
    plan = Plan(repo)
    live = yaml.safe_load(BROKER)
    live["spec"]["delivery"]["backoffPolicy"] = "exponential"  # a default the cluster adds
    assert plan.broker_drift(live) == []
    live["spec"]["delivery"]["retry"] = 5
    (difference,) = plan.broker_drift(live)
    assert "delivery.retry" in difference
    live["metadata"]["annotations"]["eventing.knative.dev/broker.class"] = "MTChannelBasedBroker"
    assert len(plan.broker_drift(live)) == 2


def test_service_apply_sets_the_image_tag_and_version(repo: Path) -> None:
    args = Plan(repo).service_apply_args("stock", "abc123")
    assert args[args.index("--filename") + 1] == str(repo / "knative/services/stock.yaml")
    assert args[args.index("--image") + 1] == "kind.local/acougue/inventory:abc123"
    assert "DD_VERSION=abc123" in args
    assert [(t.repo, t.domain) for t in Plan(repo).build_targets([])] == [
        ("kind.local/acougue/inventory", "inventory"),
        ("kind.local/acougue/migrate", "all"),
    ]


def test_an_image_that_kind_cannot_be_told_about_is_refused(repo: Path) -> None:
    (repo / "knative/services/stock.yaml").write_text(
        SERVICE.format(name="stock", domain="inventory", image="acougue/inventory:dev", target="s")
    )
    with pytest.raises(PlanError, match=r"kind\.local"):
        Plan(repo).image("stock")
    (repo / "knative/services/stock.yaml").write_text(
        SERVICE.format(
            name="stock", domain="inventory", image="kind.local/acougue/sales:dev", target="s"
        )
    )
    with pytest.raises(PlanError, match=r"not the .inventory. domain.s image"):
        Plan(repo).image("stock")


def test_unknown_service_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service-apply-args", "t", "no-such-function"]) == 2
    assert "no-such-function" in capsys.readouterr().err


def test_records_end_with_an_empty_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service-apply-args", "t", "auth", "gateway"]) == 0
    out = capsys.readouterr().out
    records = out.split("\0\0")
    assert records[-1] == ""
    assert [r.split("\0")[0] for r in records[:-1]] == ["auth", "gateway"]


def _revision(name: str, n: int, *, ready: bool = True, sink: bool = True) -> dict[str, Any]:
    env = [{"name": "K_SINK", "value": "http://default-broker-ingress"}] if sink else []
    return {
        "metadata": {
            "name": f"{name}-{n:05d}",
            "creationTimestamp": f"2026-12-0{n}T10:00:00Z",
            "labels": {"serving.knative.dev/service": name},
        },
        "spec": {"containers": [{"env": [{"name": "DD_ENV", "value": "kind"}, *env]}]},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _ksvc(name: str, traffic: dict[int, int], *, publishes: bool = True) -> dict[str, Any]:
    labels = {"acougue.dev/publishes": "true"} if publishes else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {
            "traffic": [
                {"revisionName": f"{name}-{n:05d}", "percent": p} for n, p in traffic.items()
            ]
        },
    }


def test_rollback_goes_to_the_newest_older_revision_that_is_ready_and_can_publish() -> None:
    revisions = [
        _revision("sale", 1),
        _revision("sale", 2, sink=False),  # before the SinkBinding: no K_SINK
        _revision("sale", 3, ready=False),
        _revision("sale", 4),
        _revision("other", 5),
    ]
    chosen, notes = rollback_target(_ksvc("sale", {4: 100}), revisions, None)
    assert chosen == "sale-00001"
    assert len(notes) == 2
    assert "not Ready" in notes[0]
    assert "K_SINK" in notes[1]
    # A function that publishes nothing needs no K_SINK.
    quiet, _ = rollback_target(_ksvc("sale", {4: 100}, publishes=False), revisions, None)
    assert quiet == "sale-00002"


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("sale-00002", "K_SINK"),
        ("sale-00003", "not Ready"),
        ("other-00005", "no revision"),
    ],
)
def test_rollback_refuses_a_named_revision_that_would_break(wanted: str, message: str) -> None:
    revisions = [
        _revision("sale", 1),
        _revision("sale", 2, sink=False),
        _revision("sale", 3, ready=False),
        _revision("sale", 4),
        _revision("other", 5),
    ]
    with pytest.raises(PlanError, match=message):
        rollback_target(_ksvc("sale", {4: 100}), revisions, wanted)
    assert rollback_target(_ksvc("sale", {4: 100}), revisions, "sale-00001")[0] == "sale-00001"


def test_rollback_with_split_traffic_asks_which_revision() -> None:
    revisions = [_revision("sale", 1), _revision("sale", 2), _revision("sale", 3)]
    with pytest.raises(PlanError, match="split"):
        rollback_target(_ksvc("sale", {2: 50, 3: 50}), revisions, None)
    assert rollback_target(_ksvc("sale", {2: 50, 3: 50}), revisions, "sale-00001")[0] == (
        "sale-00001"
    )
    with pytest.raises(PlanError, match="no Ready revision older"):
        rollback_target(_ksvc("sale", {1: 100}), revisions, None)


def test_a_rollback_is_done_when_the_routing_serves_the_target_alone() -> None:
    service = _ksvc("sale", {1: 100})
    assert serves_only(service, "sale-00001")
    assert not serves_only(_ksvc("sale", {1: 50, 2: 50}), "sale-00001")
    assert not serves_only(_ksvc("sale", {2: 100}), "sale-00001")
    service["metadata"]["generation"], service["status"]["observedGeneration"] = 3, 2
    assert not serves_only(service, "sale-00001"), "the status is of an older spec"


def test_rolling_back_a_failed_deploy_pins_the_revision_that_serves() -> None:
    """Knative keeps serving the latest Ready revision while the newest has failed."""
    revisions = [_revision("sale", 1), _revision("sale", 2), _revision("sale", 3, ready=False)]
    chosen, notes = rollback_target(_ksvc("sale", {2: 100}), revisions, None)
    assert chosen == "sale-00002"
    assert "sale-00003 failed" in notes[0]


def test_only_pods_the_scheduler_cannot_place_fail_the_readiness_check() -> None:
    def pod(name: str, status: str, reason: str | None) -> dict[str, Any]:
        condition = {"type": "PodScheduled", "status": status, "reason": reason}
        return {
            "metadata": {"name": name},
            "status": {"phase": "Pending", "conditions": [condition]},
        }

    pods = {"items": [pod("starting", "True", None), pod("stuck", "False", "Unschedulable")]}
    assert unschedulable(pods) == ["pod/stuck"]
    assert unschedulable({"items": []}) == []
