"""deploy.plan: how the manifests become kn arguments (the scripts only run what it says)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from deploy.plan import Plan, PlanError, main
from tests.k8s.support import REPO

SERVICE = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
  namespace: acougue-system
  labels: {{acougue.dev/domain: {domain}}}
spec:
  template:
    spec:
      containers:
        - image: {image}
          env:
            - {{name: FUNCTION_TARGET, value: {target}}}
            - {{name: FUNCTION_SOURCE, value: functions/{domain}/main.py}}
"""
BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: acougue-system
  annotations: {eventing.knative.dev/broker.class: RabbitMQBroker}
spec:
  delivery:
    retry: 3
    deadLetterSink:
      uri: http://sink.example/
"""
TRIGGER = """
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: {name}
  namespace: acougue-system
{extra}spec:
  broker: default
  filter: {{attributes: {{type: com.acougue.sale.paid, source: /acougue/x}}}}
  subscriber: {{ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: stock}}}}
"""


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
    assert plan.trigger_args("plain") == [
        "plain",
        "--namespace",
        "acougue-system",
        "--broker",
        "default",
        "--filter",
        "source=/acougue/x",
        "--filter",
        "type=com.acougue.sale.paid",
        "--sink",
        "ksvc:stock",
    ]
    with pytest.raises(PlanError, match="kn has no flag"):
        plan.trigger_args("parallel")
    assert yaml.safe_load(plan.document_yaml("Trigger", "parallel"))["metadata"]["annotations"]


def test_broker_flags_follow_its_delivery_spec(repo: Path) -> None:
    plan = Plan(repo)
    created = plan.broker_args("default")
    assert created == ["default", "--namespace", "acougue-system", "--class", "RabbitMQBroker"]
    updated = plan.broker_args("default", create=False)
    assert updated == [
        "default",
        "--namespace",
        "acougue-system",
        "--retry",
        "3",
        "--dl-sink",
        "http://sink.example/",
    ]


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
