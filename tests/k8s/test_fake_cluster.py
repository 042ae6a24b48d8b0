"""kind-setup.sh and deploy/*.sh for real, against fake docker, kind, kubectl and kn.

The issue's acceptance check: `kind-setup.sh up` run twice in a row is clean, the second run
taking every "exists" branch and changing nothing. Then the failures the deploy path is written
to avoid, each of which must stop a script with a clear message: (a) a Broker whose spec
drifted, (b) a Pending pod or an object never Ready, (c) a Knative Service the webhook refuses,
(d) a rollback to a broken revision, (e) an image never loaded into Kind; and the fakes' own
rules (tests/k8s/fake_cluster.py), one call each.

The first `up` runs once per module (a module fixture); each test starts from a copy of the
state it left. No network, no sleeps: the fakes answer every wait at once. The two `up` runs
take most of this file's time (each calls `python -m deploy.plan` some 30 times and the fakes
some 140 times), so the other checks run the one script, or the one step, that they are about.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.plan import Plan
from tests.k8s import fake_cluster
from tests.k8s.support import NAMESPACE, REPO, versions
from tests.k8s.test_fake_kn import report
from tests.k8s.test_scripts import _bare_path, commands, run_script

VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))
SETUP = ("kind-setup.sh", "--tag", "t1", "up")
# Besides test_scripts' dry-run utilities, what a real run uses (images.sh reads docker's help).
REAL_RUN_UTILITIES = ("grep",)
Done = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Run:
    """A state file, the kn call log, and the environment that points the fakes at them."""

    tmp: Path
    state: Path
    log: Path
    env: dict[str, str]

    def script(self, *argv: str, repo: Path = REPO) -> Done:
        return run_script([str(repo / argv[0]), *argv[1:]], self.tmp, env=self.env)

    def tool(self, *argv: str, stdin: str = "") -> Done:
        """One call of a fake (kubectl, kind, docker or kn) through its shim."""
        return subprocess.run(
            [str(self.tmp / "fake-bin" / argv[0]), *argv[1:]],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def kn_calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text("utf-8").splitlines()]

    def data(self) -> dict[str, Any]:
        return fake_cluster.load(self.state)


def new_run(tmp: Path, state: Path | None = None) -> Run:
    """Fakes installed in tmp/fake-bin, first on PATH; the cluster state copied from `state`."""
    fake_cluster.install(tmp / "fake-bin")
    target = tmp / "cluster.json"
    if state is not None:
        shutil.copyfile(state, target)
    log = tmp / "kn-calls.jsonl"
    utilities = _bare_path(tmp / "bin")
    for tool in REAL_RUN_UTILITIES:
        found = shutil.which(tool)
        assert found, f"{tool} is not on this machine"
        if not (tmp / "bin" / tool).exists():
            (tmp / "bin" / tool).symlink_to(found)
    env = {
        "PATH": f"{tmp / 'fake-bin'}:{utilities}",
        "ACOUGUE_PYTHON": PYTHON,
        fake_cluster.STATE_ENV: str(target),
        fake_cluster.LOG_ENV: str(log),
    }
    return Run(tmp, target, log, env)


def failure(done: Done) -> str:
    return f"exit {done.returncode}\nstdout:\n{done.stdout[-2500:]}\nstderr:\n{done.stderr[-2500:]}"


@pytest.fixture(scope="module")
def first_up(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Done]:
    """`kind-setup.sh --tag t1 up` on no cluster at all: run 1 of the acceptance check."""
    run = new_run(tmp_path_factory.mktemp("first-up"))
    done = run.script(*SETUP)
    assert done.returncode == 0, failure(done)
    return run, done


@pytest.fixture
def after_up(first_up: tuple[Run, Done], tmp_path: Path) -> Run:
    """A cluster as run 1 left it (a copy: each test changes its own)."""
    return new_run(tmp_path, first_up[0].state)


# -- the acceptance check ------------------------------------------------------------------------
def test_kind_setup_up_twice_in_a_row_is_clean(first_up: tuple[Run, Done], after_up: Run) -> None:
    first, one = first_up
    before = after_up.data()
    two = after_up.script(*SETUP)
    assert two.returncode == 0, failure(two)
    out = two.stdout

    # Run 1 made everything; run 2 found it all and took the "exists" branches.
    assert "==> Kind cluster acougue (kindest/node" in one.stdout
    assert "Kind cluster acougue exists: reusing it" in out
    assert not [c for c in commands(out) if c[:3] == ["kind", "create", "cluster"]]
    plan = Plan()
    for domain in plan.db_domains():
        assert f"acougue-db-{domain}: exists" in out
    assert "acougue-postgres: exists" in out
    assert "acougue-auth-keys: exists" in out
    assert "Broker default exists and matches eventing/broker.yaml" in out
    for name, mode in plan.triggers():
        if mode == "yaml":
            assert f"trigger.eventing.knative.dev/{name} unchanged" in out, name
        else:
            assert f"Trigger {name} exists: kn trigger update" in out, name
    assert out.count("No changes to apply to service") == len(plan.services())
    assert "Everything deployed is Ready; no pod is unschedulable" in out

    # ...and changed nothing: the same Secrets (values kept), revisions, objects.
    after = after_up.data()
    secrets = after["objects"]["secrets"][NAMESPACE]
    assert secrets == before["objects"]["secrets"][NAMESPACE]
    assert {f"acougue-db-{d}" for d in plan.db_domains()} <= set(secrets)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"run 2 changed the cluster: {changed}"

    # Every kn call of both runs is one kn 1.22 accepts (tests/k8s/test_fake_kn.py's check).
    calls = first.kn_calls() + after_up.kn_calls()
    verbs = {" ".join(c[2:4]) for c in calls}
    assert {"service apply", "broker create"} <= verbs, verbs
    saves = [c for c in commands(one.stdout) if c[:2] == ["docker", "save"]]
    assert saves, "run 1 saved no image"
    assert all("--platform" in c for c in saves), saves
    bad = report(calls)
    assert not bad, f"kn calls kn 1.22 refuses:\n{bad}"
    second = {" ".join(c[2:4]) for c in after_up.kn_calls()}
    assert "broker create" not in second
    assert "trigger create" not in second


def test_the_first_run_leaves_a_cluster_that_works(first_up: tuple[Run, Done]) -> None:
    """What run 1 made is what the functions need: each revision's image is in the node, its
    Secrets exist, and a publishing function's revision has K_SINK (made after the Broker and
    the SinkBinding), except dead-letter's, which kn-deploy.sh deploys before the Broker."""
    run, _ = first_up
    data = run.data()
    revisions = data["revisions"][NAMESPACE]
    for name, service in data["services"][NAMESPACE].items():
        latest = service["revisions"][-1]
        assert revisions[latest]["image"] in data["kind"]["clusters"]["acougue"]["images"]
        publishes = service["labels"].get("acougue.dev/publishes") == "true"
        has_sink = "K_SINK" in revisions[latest]["env"]
        assert has_sink == (publishes and name != "dead-letter"), name
    job = run.tool(
        "kubectl", "--context", "kind-acougue", "get", "job", "acougue-migrate", "-n", NAMESPACE,
        "-o", 'jsonpath={.status.conditions[?(@.type=="Complete")].status}',
    )  # fmt: skip
    assert job.stdout == "True", failure(job)


# -- HTTPS (docs/cluster.md, TLS) -------------------------------------------------------------
GATEWAY_URL = f"https://gateway.{NAMESPACE}.127.0.0.1.sslip.io"


def _ksvc_url(run: Run, name: str) -> str:
    done = run.tool(
        "kubectl", "--context", "kind-acougue", "get", "ksvc", name, "-n", NAMESPACE,
        "-o", "jsonpath={.status.url}",
    )  # fmt: skip
    assert done.returncode == 0, failure(done)
    return done.stdout


def test_the_gateway_is_served_over_https_after_the_first_run(first_up: tuple[Run, Done]) -> None:
    """The fake Serving gives an external Service an https:// URL only when its cert-manager
    integration is really on: external-domain-tls Enabled, the controller restarted after
    that with cert-manager's CRDs present, and config-certmanager's issuer Ready. So this
    holds only if kind-setup.sh did all of it, in that order, before deploying the gateway."""
    run, done = first_up
    assert _ksvc_url(run, "gateway") == GATEWAY_URL
    assert f"Done. The shop: {GATEWAY_URL}/" in done.stdout
    # The functions keep their plain cluster-local addresses (no certificate, no redirect).
    assert _ksvc_url(run, "auth") == f"http://auth.{NAMESPACE}.svc.cluster.local"
    controller = run.data()["objects"]["deployments.apps"]["knative-serving"]["controller"]
    assert controller["fake"] == {"net_certmanager": True}


def test_external_domain_tls_without_cert_manager_crashes_servings_controller(
    tmp_path: Path,
) -> None:
    """Why cert-manager comes first: Serving 1.22.1's controller, restarted with
    external-domain-tls Enabled and no cert-manager CRDs, exits ("Please install
    cert-manager"); and patched without a restart it never turns the integration on."""
    run = new_run(tmp_path)
    ctx = ("--context", "kind-acougue")
    assert run.tool("kind", "create", "cluster", "--name", "acougue").returncode == 0
    tag = f"knative-v{versions()['KNATIVE_SERVING_VERSION']}"
    serving = f"https://github.com/knative/serving/releases/download/{tag}"
    for url in (f"{serving}/serving-crds.yaml", f"{serving}/serving-core.yaml"):
        assert run.tool("kubectl", *ctx, "apply", "-f", url).returncode == 0
    patch = (
        "patch", "configmap", "config-network", "--namespace", "knative-serving", "--type",
        "merge", "--patch-file", str(REPO / "deploy" / "knative" / "config-network.yaml"),
    )  # fmt: skip
    assert run.tool("kubectl", *ctx, *patch).returncode == 0
    controller = ("deployment/controller", "--namespace", "knative-serving")
    assert run.tool("kubectl", *ctx, "rollout", "status", *controller).returncode == 0
    assert not fake_cluster.tls_effective(fake_cluster.Cluster(run.state)), "not restarted"
    assert run.tool("kubectl", *ctx, "rollout", "restart", *controller).returncode == 0
    crashed = run.tool("kubectl", *ctx, "rollout", "status", *controller)
    assert crashed.returncode == 1
    assert "Please install cert-manager" in crashed.stderr


# -- what the fakes must see ------------------------------------------------------------------
def test_a_broker_whose_spec_drifted_stops_the_deploy(after_up: Run) -> None:
    """(a) A RabbitMQBroker's spec cannot change in place: a re-run that finds it different
    must stop and say how to recreate it, not try to update it."""
    data = after_up.data()
    data["brokers"][NAMESPACE]["default"]["delivery"]["retry"] = 3
    after_up.state.write_text(json.dumps(data), encoding="utf-8")
    done = after_up.script("deploy/kn-deploy.sh", "--no-build", "--tag", "t1", "all")
    assert done.returncode == 1, failure(done)
    assert "delivery.retry: 3 in the cluster, 5 in the manifest" in done.stderr, done.stderr
    assert "Broker default differs from eventing/broker.yaml" in done.stderr
    assert "Delete and recreate it" in done.stderr
    assert after_up.data()["brokers"][NAMESPACE]["default"]["delivery"]["retry"] == 3
    assert not [c for c in after_up.kn_calls() if c[2:3] == ["broker"]]


# The readiness check as `kn-deploy.sh all` ends: deploy/lib.sh's verify_ready. Run alone, as
# the last step of a deploy whose every other step test_kind_setup_up_twice... has run: the whole
# `all` again would add some 15 s to this file for the same lines of the same function.
READINESS_CHECK = 'set -euo pipefail; . "$1/deploy/lib.sh"; verify_ready'


def test_b_a_pending_pod_fails_the_readiness_check_by_name(after_up: Run) -> None:
    """(b) A pod the scheduler cannot place (too little CPU) fails the deploy, naming it; so
    does an object that never becomes Ready (here a Trigger), naming its kind."""
    fake_cluster.mark_not_ready(after_up.state, "trigger", NAMESPACE, "event-log", "no queue")
    done = run_script(
        ["-c", READINESS_CHECK, "verify_ready", str(REPO)],
        after_up.tmp,
        env={**after_up.env, fake_cluster.PENDING_ENV: f"{NAMESPACE}/x {NAMESPACE}/y:starting"},
    )
    assert done.returncode == 1, failure(done)
    pending = "pods the scheduler cannot place (too little CPU or memory for their requests):"
    # y is Pending but scheduled (pulling its image): only starting, not a failure.
    assert f"{pending} {NAMESPACE}:pod/x" in done.stderr, done.stderr
    assert "pod/y" not in done.stderr
    assert "warning: not Ready: trigger" in done.stderr
    assert "timed out waiting for the condition on triggers/event-log" in done.stderr
    assert "error: the deployment is not healthy" in done.stderr
    assert "Everything deployed is Ready" not in done.stdout


def _repo_copy(tmp: Path) -> Path:
    """What the scripts read, copied: they find the repository from their own path."""
    copy = tmp / "repo"
    copy.mkdir()
    for name in ("kind-setup.sh", "Dockerfile"):
        shutil.copy2(REPO / name, copy / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    for folder in ("deploy", "knative", "eventing", "shared", "tooling", "functions"):
        shutil.copytree(REPO / folder, copy / folder, ignore=ignore)
    return copy


PLAIN_AGENT_HOST = """            - name: DD_AGENT_HOST
              value: datadog-agent.datadog.svc.cluster.local
"""
FIELD_REF = """            - name: DD_AGENT_HOST
              valueFrom:
                fieldRef:
                  fieldPath: status.hostIP
"""


def test_c_a_service_with_a_field_ref_is_refused_by_kn_and_kubectl(after_up: Run) -> None:
    """(c) Knative Serving refuses env valueFrom.fieldRef unless config-features enables it
    (the setup does not): the deploy must fail at the webhook, whether kn or kubectl sends it."""
    copy = _repo_copy(after_up.tmp)
    manifest = copy / "knative" / "services" / "create-product.yaml"
    text = manifest.read_text(encoding="utf-8")
    plain = PLAIN_AGENT_HOST
    assert plain in text
    manifest.write_text(text.replace(plain, FIELD_REF), encoding="utf-8")
    revisions = after_up.data()["services"][NAMESPACE]["create-product"]["revisions"]

    done = after_up.script(
        "deploy/kn-deploy.sh", "--no-build", "--tag", "t1", "create-product", repo=copy
    )
    assert done.returncode == 1, failure(done)
    refusal = "env[DD_AGENT_HOST].valueFrom.fieldRef: must not set the field(s)"
    assert refusal in done.stderr, done.stderr
    assert "kubernetes.podspec-fieldref" in done.stderr
    assert after_up.data()["services"][NAMESPACE]["create-product"]["revisions"] == revisions

    context = ("kubectl", "--context", "kind-acougue")
    applied = after_up.tool(*context, "apply", "-f", str(manifest))
    assert applied.returncode == 1, failure(applied)
    assert refusal in applied.stderr
    assert "admission webhook denied the request" in applied.stderr
    # The manifest as the repository has it is admitted (the refusal is about the fieldRef).
    original = after_up.tool(*context, "apply", "-f", str(REPO / manifest.relative_to(copy)))
    assert original.returncode == 0, failure(original)


def test_d_rollback_goes_to_the_first_revision_and_refuses_one_not_ready(after_up: Run) -> None:
    """(d) After deploys at t1 (run 1) and t2, rollback.sh goes back to the t1 revision; to a
    third revision that is not Ready it refuses to go, by name."""
    deployed = after_up.script("deploy/kn-deploy.sh", "--tag", "t2", "create-product")
    assert deployed.returncode == 0, failure(deployed)
    back = after_up.script("deploy/rollback.sh", "create-product")
    assert back.returncode == 0, failure(back)
    assert "create-product: rolling back to create-product-00001" in back.stdout
    service = after_up.data()["services"][NAMESPACE]["create-product"]
    assert service["revisions"] == ["create-product-00001", "create-product-00002"]
    assert service["traffic"] == [{"revisionName": "create-product-00001", "percent": 100}]
    revisions = after_up.data()["revisions"][NAMESPACE]
    assert revisions["create-product-00001"]["image"].endswith(":t1")
    assert revisions["create-product-00002"]["image"].endswith(":t2")

    third = after_up.script("deploy/kn-deploy.sh", "--tag", "t3", "create-product")
    assert third.returncode == 0, failure(third)
    fake_cluster.mark_not_ready(
        after_up.state, "revision", NAMESPACE, "create-product-00003", "CrashLoopBackOff"
    )
    refused = after_up.script("deploy/rollback.sh", "create-product", "create-product-00003")
    assert refused.returncode == 1, failure(refused)
    assert "refused: create-product-00003 is not Ready" in refused.stderr
    assert "no rollback of create-product" in refused.stderr
    traffic = after_up.data()["services"][NAMESPACE]["create-product"]["traffic"]
    assert traffic == [{"latestRevision": True, "percent": 100}]
    # After a failed deploy Knative keeps serving the latest Ready revision (00002), and the
    # Service is not Ready while its newest revision has failed. Rolling that deploy back
    # pins 00002, which serves; the script must not wait for the Service, but for its routing.
    rescued = after_up.script("deploy/rollback.sh", "create-product")
    assert rescued.returncode == 0, failure(rescued)
    assert "create-product-00003 failed: pinning create-product-00002" in rescued.stderr
    assert "create-product serves create-product-00002" in rescued.stdout
    traffic = after_up.data()["services"][NAMESPACE]["create-product"]["traffic"]
    assert traffic == [{"revisionName": "create-product-00002", "percent": 100}]
    bad = report(after_up.kn_calls())
    assert not bad, bad


def test_e_an_image_never_loaded_into_kind_fails_the_deploy(after_up: Run) -> None:
    """Kind has no registry for kind.local/: a deploy whose image was never loaded (here
    --no-build with a new tag) must fail at kn's wait, not report success."""
    done = after_up.script("deploy/kn-deploy.sh", "--no-build", "--tag", "never", "create-product")
    assert done.returncode == 1, failure(done)
    assert 'Back-off pulling image "kind.local/acougue/catalog:never"' in done.stderr
    assert "RevisionFailed" in done.stderr


# -- the fakes' own rules, one call each ---------------------------------------------------------
def test_the_fakes_refuse_what_the_tools_refuse(after_up: Run) -> None:
    kc = ("kubectl", "--context", "kind-acougue")
    cases: list[tuple[tuple[str, ...], str]] = [
        (
            ("kind", "create", "cluster", "--name", "acougue"),
            'node(s) already exist for a cluster with the name "acougue"',
        ),
        (
            ("kubectl", "--context", "kind-other", "get", "namespace", NAMESPACE),
            "context was not found for specified context: kind-other",
        ),
        ((*kc, "version"), "fake kubectl: unsupported: "),
        ((*kc, "get", "secret", "nope", "-n", NAMESPACE), 'secrets "nope" not found'),
        ((*kc, "create", "namespace", NAMESPACE), "AlreadyExists"),
        (("docker", "save", "--output", "/dev/null", "never:built"), "No such image: never:built"),
        (("docker", "image", "ls"), "fake docker: unsupported: "),
        (("kind", "load", "image-archive", "--name", "acougue", "/nope.tar"), "no such file"),
        (("kind", "load", "image-archive", "--name", "other", "/nope.tar"), "no nodes found"),
        (
            ("kn", "--context", "kind-other", "service", "list", "-n", NAMESPACE),
            "context was not found",
        ),
    ]
    for argv, message in cases:
        done = after_up.tool(*argv)
        assert done.returncode != 0, (argv, done.stdout)
        assert message in done.stderr, (argv, done.stderr)
    # Under the containerd image store, an archive saved without --platform cannot be loaded.
    archive, image = str(after_up.tmp / "catalog.tar"), "kind.local/acougue/catalog:t1"
    assert after_up.tool("docker", "save", "--output", archive, image).returncode == 0
    load = ("kind", "load", "image-archive", "--name", "acougue", archive)
    whole = after_up.tool(*load)
    assert whole.returncode == 1
    assert "images import --all-platforms" in whole.stderr
    assert ": not found" in whole.stderr
    arch = after_up.tool("docker", "version", "--format", "{{.Server.Arch}}").stdout.strip()
    saved = after_up.tool("docker", "save", "--platform", f"linux/{arch}", "-o", archive, image)
    assert saved.returncode == 0, failure(saved)
    assert after_up.tool(*load).returncode == 0


TRIGGER = f"""apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: probe
  namespace: {NAMESPACE}
  annotations:
    rabbitmq.eventing.knative.dev/parallelism: "PARALLELISM"
spec:
  broker: default
  filter:
    attributes:
      type: TYPE
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-log
"""


def test_a_trigger_is_one_object_for_kubectl_and_kn(after_up: Run) -> None:
    """A Trigger kubectl applied is the one kn describes and updates, and the reverse; both
    ask the same admission (eventing-rabbitmq: a filter cannot change, parallelism 1..1000)."""
    kc, kn = ("kubectl", "--context", "kind-acougue"), ("kn", "--context", "kind-acougue")
    yaml_trigger = TRIGGER.replace("TYPE", "a").replace("PARALLELISM", "1")
    assert after_up.tool(*kc, "apply", "-f", "-", stdin=yaml_trigger).returncode == 0
    described = after_up.tool(*kn, "trigger", "describe", "probe", "-n", NAMESPACE)
    assert described.returncode == 0, failure(described)
    assert '"type": "a"' in described.stdout
    sink = ("--sink", "ksvc:event-log")
    assert after_up.tool(*kn, "trigger", "update", "probe", "-n", NAMESPACE, *sink).returncode == 0
    again = after_up.tool(*kc, "apply", "-f", "-", stdin=yaml_trigger)
    assert again.stdout.strip() == "trigger.eventing.knative.dev/probe unchanged", failure(again)
    for changed, refusal in (
        (TRIGGER.replace("TYPE", "b").replace("PARALLELISM", "1"), "spec.filter"),
        (TRIGGER.replace("TYPE", "a").replace("PARALLELISM", "0"), "from 1 to 1000"),
    ):
        refused = after_up.tool(*kc, "apply", "-f", "-", stdin=changed)
        assert refused.returncode == 1
        assert refusal in refused.stderr, refused.stderr
    create = ("trigger", "create", "probe2", "-n", NAMESPACE, "--filter", "type=c", *sink)
    assert after_up.tool(*kn, *create).returncode == 0
    shown = after_up.tool(*kc, "get", "trigger", "probe2", "-n", NAMESPACE, "-o", "json")
    assert shown.returncode == 0, failure(shown)
    body = json.loads(shown.stdout)
    assert body["spec"]["filter"] == {"attributes": {"type": "c"}}
    assert body["status"]["conditions"][0]["status"] == "True"


def test_the_fakes_keep_the_order_a_cluster_imposes(tmp_path: Path) -> None:
    """Nothing before its Kind cluster, CRD or namespace; a Job's template cannot change."""
    run = new_run(tmp_path)
    kc = ("kubectl", "--context", "kind-acougue")
    rabbit = str(REPO / "eventing" / "rabbitmqcluster.yaml")
    before = run.tool(*kc, "apply", "-f", rabbit)
    assert "context was not found" in before.stderr, before.stderr
    assert run.tool("kind", "create", "cluster", "--name", "acougue").returncode == 0
    assert run.tool("kind", "get", "clusters").stdout == "acougue\n"
    no_crd = run.tool(*kc, "apply", "-f", rabbit)
    assert no_crd.returncode == 1
    assert 'no matches for kind "RabbitmqCluster" in version "rabbitmq.com/v1beta1"' in (
        no_crd.stderr
    )
    operator = "https://github.com/rabbitmq/cluster-operator/releases/download/v2.22.3/"
    assert run.tool(*kc, "apply", "-f", operator + "cluster-operator.yml").returncode == 0
    no_namespace = run.tool(*kc, "apply", "-f", rabbit)
    assert 'namespaces "acougue-system" not found' in no_namespace.stderr
    namespace = str(REPO / "deploy" / "cluster" / "namespace.yaml")
    assert run.tool(*kc, "apply", "-f", namespace).returncode == 0
    assert run.tool(*kc, "apply", "-f", rabbit).stdout.endswith("created\n")
    job = (REPO / "deploy" / "cluster" / "migrate-job.yaml").read_text(encoding="utf-8")
    assert run.tool(*kc, "apply", "-f", "-", stdin=job).returncode == 0
    changed = run.tool(*kc, "apply", "-f", "-", stdin=job.replace(":dev", ":t9"))
    assert changed.returncode == 1
    assert "field is immutable" in changed.stderr
    # The Job's image was never loaded into the node: it fails (no wait loop spins on it).
    status = run.tool(
        *kc, "get", "job", "acougue-migrate", "-n", NAMESPACE,
        "-o", 'jsonpath={.status.conditions[?(@.type=="Failed")].status}',
    )  # fmt: skip
    assert status.stdout == "True", failure(status)
    assert run.tool("kind", "delete", "cluster", "--name", "acougue").returncode == 0
    assert "No kind clusters found." in run.tool("kind", "get", "clusters").stderr
    assert "context was not found" in run.tool(*kc, "get", "namespace", "default").stderr


def test_status_then_teardown_then_nothing_answers(after_up: Run) -> None:
    """`status` lists what runs; `teardown` deletes the Kind cluster and everything in it (the
    images stay in Docker); after it, kubectl and kn have no context to talk to."""
    status = after_up.script("kind-setup.sh", "status")
    assert status.returncode == 0, failure(status)
    assert "create-product" in status.stdout
    teardown = after_up.script("kind-setup.sh", "teardown")
    assert teardown.returncode == 0, failure(teardown)
    data = after_up.data()
    assert data["kind"]["clusters"] == {}
    assert [k for k in ("services", "brokers", "triggers", "objects", "revisions") if data[k]] == []
    assert "kind.local/acougue/catalog:t1" in data["docker"]["images"]
    gone = after_up.script("kind-setup.sh", "status")
    assert gone.returncode == 1
    assert "context was not found for specified context: kind-acougue" in gone.stderr
