"""`python -m deploy.plan`: what the cluster scripts deploy, read from the manifests.

The shell scripts in deploy/ never parse YAML themselves: they ask this module, which reads
knative/, eventing/ and deploy/cluster/ through the same loader as the local runner
(`tooling.manifests`), so what the scripts deploy with `kn` is what the runner tests.

Lists are printed one item a line; command arguments (for `kn ... "${ARGS[@]}"`) are printed
NUL-terminated, one argument each, so that no value is ever split or re-quoted by a shell;
several commands' arguments ("records") each end with an empty argument.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tooling.manifests import REPO_ROOT, Topology, iter_documents, load_topology

NAMESPACE = "acougue-system"
IMAGE_REPO = re.compile(
    r"^(?P<repo>kind\.local/acougue/(?P<name>[a-z][a-z0-9-]*)):(?P<tag>[\w.-]+)$"
)
MIGRATE_JOB = Path("deploy/cluster/migrate-job.yaml")
MIGRATE = "migrate"  # build-targets name of the migration Job's image
DB_SECRET = re.compile(r"^acougue-db-(?P<domain>[a-z]+)$")
# What `kn trigger create` can express; anything else in a Trigger is applied as YAML.
KN_TRIGGER_SPEC = {"broker", "filter", "subscriber"}
KN_TRIGGER_METADATA = {"name", "namespace"}
PARALLELISM = "rabbitmq.eventing.knative.dev/parallelism"
BROKER_CLASS = "eventing.knative.dev/broker.class"
PUBLISHES = "acougue.dev/publishes"


class PlanError(RuntimeError):
    """The manifests cannot be deployed as they are."""


@dataclass(frozen=True)
class Document:
    """One YAML document of a manifest (also the cluster tests' reading of one)."""

    path: Path
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def group(self) -> str:
        """The API group: "" for the core group's "v1"."""
        return self.api_version.rpartition("/")[0]

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))


@dataclass(frozen=True)
class BuildTarget:
    """One image to build: its repository (no tag) and the Dockerfile's DOMAIN."""

    repo: str
    domain: str


class Plan:
    def __init__(self, root: Path = REPO_ROOT) -> None:
        self.root = root
        self.topology: Topology = load_topology(root)
        self.documents = [
            Document(path.relative_to(root), body)
            for path, body in iter_documents(root / "knative", root / "eventing")
        ]

    # -- lookups -------------------------------------------------------------------------
    def find(self, kind: str, name: str, group: str | None = None) -> Document:
        for doc in self.documents:
            if doc.kind == kind and doc.name == name and (group is None or doc.group == group):
                return doc
        raise PlanError(f"no {kind} named {name!r} in knative/ or eventing/")

    def of_kind(self, kind: str, group: str) -> Iterator[Document]:
        return (d for d in self.documents if d.kind == kind and d.group == group)

    def services(self) -> list[str]:
        return sorted(self.topology.services)

    def service(self, name: str) -> Document:
        if name not in self.topology.services:
            known = ", ".join(self.services())
            raise PlanError(f"no Knative Service {name!r} in knative/ (known: {known})")
        return self.find("Service", name, "serving.knative.dev")

    def image(self, name: str) -> BuildTarget:
        doc = self.service(name)
        image = str(doc.body["spec"]["template"]["spec"]["containers"][0]["image"])
        match = IMAGE_REPO.match(image)
        if not match:
            raise PlanError(f"{doc.path}: image {image!r} is not kind.local/acougue/<domain>:<tag>")
        domain = self.topology.services[name].domain
        if match["name"] != domain:
            raise PlanError(f"{doc.path}: image {image!r} is not the {domain!r} domain's image")
        return BuildTarget(match["repo"], domain)

    def migrate_image(self) -> BuildTarget:
        body = yaml.safe_load((self.root / MIGRATE_JOB).read_text(encoding="utf-8"))
        image = str(body["spec"]["template"]["spec"]["containers"][0]["image"])
        match = IMAGE_REPO.match(image)
        if not match:
            raise PlanError(f"{MIGRATE_JOB}: image {image!r} is not kind.local/acougue/NAME:TAG")
        return BuildTarget(match["repo"], "all")

    def build_targets(self, names: Sequence[str]) -> list[BuildTarget]:
        """Images for these services (`migrate`: the migration Job's); none named: all."""
        wanted = list(names) or [*self.services(), MIGRATE]
        targets = {self.migrate_image() if n == MIGRATE else self.image(n) for n in wanted}
        return sorted(targets, key=lambda t: t.repo)

    def db_domains(self) -> list[str]:
        found = {
            match["domain"]
            for svc in self.topology.services.values()
            for ref in svc.secret_env.values()
            if (match := DB_SECRET.match(ref.secret))
        }
        return sorted(found)

    # -- kn arguments --------------------------------------------------------------------
    def service_apply_args(self, name: str, tag: str) -> list[str]:
        """`kn service apply` arguments: the file, with the image and version tag set."""
        doc = self.service(name)
        target = self.image(name)
        return [
            name,
            "--namespace",
            self._namespace(doc),
            "--filename",
            str(self.root / doc.path),
            "--image",
            f"{target.repo}:{tag}",
            "--env",
            f"DD_VERSION={tag}",
            "--label",
            f"tags.datadoghq.com/version={tag}",
        ]

    def broker_args(self, name: str = "default") -> list[str]:
        """`kn broker create` arguments: class, config and the whole delivery spec.

        A RabbitMQBroker's spec is immutable (eventing-rabbitmq's webhook refuses any change
        on update), so the Broker is created once, complete. kn resolves `--dl-sink
        ksvc:NAME` when it runs: the dead-letter Service must be deployed first.
        """
        doc = self.find("Broker", name, "eventing.knative.dev")
        broker = self.topology.broker(name)
        spec = doc.body.get("spec", {})
        args = [name, "--namespace", self._namespace(doc), "--class", broker.broker_class]
        config = spec.get("config")
        if config:
            namespace = config.get("namespace", self._namespace(doc))
            args += [
                "--broker-config",
                f"{config['apiVersion']}:{config['kind']}:{config['name']}:{namespace}",
            ]
        delivery = spec.get("delivery") or {}
        for key, flag in (
            ("retry", "--retry"),
            ("backoffPolicy", "--backoff-policy"),
            ("backoffDelay", "--backoff-delay"),
            ("timeout", "--timeout"),
        ):
            if key in delivery:
                args += [flag, str(delivery[key])]
        dls = delivery.get("deadLetterSink")
        if dls:
            args += ["--dl-sink", self._sink(dls, doc)]
        return args

    def broker_drift(self, live: dict[str, Any], name: str = "default") -> list[str]:
        """How the Broker in the cluster differs from the manifest (empty: it does not).

        Only what the manifest sets is compared (the cluster adds defaults). A difference
        cannot be applied in place: the Broker must be deleted and created again.
        """
        doc = self.find("Broker", name, "eventing.knative.dev")
        want_spec, live_spec = doc.body.get("spec", {}), live.get("spec", {})
        found: list[str] = []
        want_class = self.topology.broker(name).broker_class
        live_class = live.get("metadata", {}).get("annotations", {}).get(BROKER_CLASS)
        if live_class != want_class:
            found.append(f"class: {live_class!r} in the cluster, {want_class!r} in the manifest")
        for section in ("config", "delivery"):
            for key, value in _flatten(want_spec.get(section) or {}, section):
                live_value = _lookup(live_spec, key)
                if str(live_value) != str(value):
                    found.append(f"{key}: {live_value!r} in the cluster, {value!r} in the manifest")
        return found

    def broker_config_names(self, name: str = "default") -> list[str]:
        """The broker's config object (RabbitmqBrokerConfig), applied as YAML: kn has no verb."""
        config = self.find("Broker", name, "eventing.knative.dev").body["spec"].get("config")
        if not config:
            return []
        return [str(config["name"])]

    def triggers(self) -> list[tuple[str, str]]:
        """Every Trigger with how it is deployed: `kn` or `yaml` (what kn has no flag for)."""
        return [(t.name, self.trigger_mode(t.name)) for t in self.topology.triggers]

    def trigger_mode(self, name: str) -> str:
        body = self.find("Trigger", name, "eventing.knative.dev").body
        spec, meta = body.get("spec", {}), body.get("metadata", {})
        subscriber = spec.get("subscriber", {})
        simple = (
            set(spec) <= KN_TRIGGER_SPEC
            and set(meta) <= KN_TRIGGER_METADATA
            and set(spec.get("filter", {})) <= {"attributes"}
            and set(subscriber) == {"ref"}
            and subscriber["ref"].get("kind") == "Service"
        )
        return "kn" if simple else "yaml"

    def trigger_args(self, name: str, *, update: bool = False) -> list[str]:
        """`kn trigger create` arguments, or `kn trigger update` ones for an existing Trigger:
        kn registers --broker on create only, and a Trigger's broker cannot change anyway
        (Eventing's webhook; its filter neither, under eventing-rabbitmq's)."""
        if self.trigger_mode(name) != "kn":
            raise PlanError(f"Trigger {name} has settings kn has no flag for: apply its YAML")
        doc = self.find("Trigger", name, "eventing.knative.dev")
        spec = doc.body["spec"]
        args = [name, "--namespace", self._namespace(doc)]
        if not update:
            args += ["--broker", str(spec["broker"])]
        for key, value in sorted(spec.get("filter", {}).get("attributes", {}).items()):
            args += ["--filter", f"{key}={value}"]
        args += ["--sink", self._sink(spec["subscriber"], doc)]
        return args

    def document_yaml(self, kind: str, name: str) -> str:
        return yaml.safe_dump(self.find(kind, name).body, sort_keys=False)

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _namespace(doc: Document) -> str:
        namespace = str(doc.body.get("metadata", {}).get("namespace", ""))
        if namespace != NAMESPACE:
            raise PlanError(f"{doc.path}: {doc.kind} {doc.name} must be in {NAMESPACE}")
        return namespace

    def _sink(self, destination: dict[str, Any], doc: Document) -> str:
        ref = destination.get("ref")
        if ref and ref.get("kind") == "Service" and not destination.get("uri"):
            namespace = ref.get("namespace", self._namespace(doc))
            suffix = "" if namespace == NAMESPACE else f":{namespace}"
            return f"ksvc:{ref['name']}{suffix}"
        if not ref and destination.get("uri"):
            return str(destination["uri"])
        raise PlanError(f"{doc.path}: {doc.kind} {doc.name}: kn cannot express sink {destination}")


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}")
    else:
        yield prefix, value


def _lookup(body: dict[str, Any], dotted: str) -> Any:
    current: Any = body
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _has_sink(revision: dict[str, Any]) -> bool:
    containers = revision.get("spec", {}).get("containers", [])
    return any(
        v.get("name") == "K_SINK" and v.get("value") for c in containers for v in c.get("env", [])
    )


def rollback_target(
    service: dict[str, Any], revisions: list[dict[str, Any]], wanted: str | None
) -> tuple[str, list[str]]:
    """The revision to send all of a Service's traffic to, and notes on what was passed over.

    Refused: a revision that is not Ready, one of another Service, and — for a function that
    publishes — one made before the SinkBinding gave it K_SINK (it would write events it can
    never send). With traffic split between revisions there is no single "current" one to go
    back from: a target must be named.
    """
    name = str(service.get("metadata", {}).get("name", ""))
    publishes = service.get("metadata", {}).get("labels", {}).get(PUBLISHES) == "true"
    ordered = sorted(
        (
            r
            for r in revisions
            if r.get("metadata", {}).get("labels", {}).get("serving.knative.dev/service") == name
        ),
        key=lambda r: (str(r["metadata"].get("creationTimestamp", "")), r["metadata"]["name"]),
    )
    by_name = {str(r["metadata"]["name"]): r for r in ordered}

    def refusal(revision: dict[str, Any]) -> str | None:
        rev = str(revision["metadata"]["name"])
        if not _ready(revision):
            return f"{rev} is not Ready"
        if publishes and not _has_sink(revision):
            return (
                f"{rev} has no K_SINK (made before the SinkBinding): its events would stay unsent"
            )
        return None

    if wanted is not None:
        if wanted not in by_name:
            raise PlanError(f"{name} has no revision {wanted}")
        reason = refusal(by_name[wanted])
        if reason:
            raise PlanError(f"refused: {reason}")
        return wanted, []
    serving = [
        str(t["revisionName"])
        for t in service.get("status", {}).get("traffic", [])
        if t.get("percent") and t.get("revisionName")
    ]
    if len(set(serving)) != 1:
        split = ", ".join(
            f"{t.get('revisionName')}={t.get('percent')}%"
            for t in service.get("status", {}).get("traffic", [])
        )
        raise PlanError(
            f"{name}'s traffic is split ({split or 'none'}): name the revision to roll back to"
        )
    current = serving[0]
    if current not in by_name:
        raise PlanError(f"{name} serves {current}, which is not among its revisions")
    newest = ordered[-1]
    if str(newest["metadata"]["name"]) != current and refusal(newest) is not None:
        # A failed deploy: Knative keeps serving the latest Ready revision (`current`) while
        # the newest has failed. Rolling that deploy back is pinning what serves now.
        return current, [f"{newest['metadata']['name']} failed: pinning {current}, which serves"]
    notes: list[str] = []
    older = [r for r in ordered if r["metadata"]["name"] != current]
    older = older[: [str(r["metadata"]["name"]) for r in ordered].index(current)]
    for revision in reversed(older):
        reason = refusal(revision)
        if reason is None:
            return str(revision["metadata"]["name"]), notes
        notes.append(f"passed over: {reason}")
    raise PlanError(f"{name} has no Ready revision older than {current} to roll back to")


def unschedulable(pods: dict[str, Any]) -> list[str]:
    """Pods the scheduler cannot place (PodScheduled False, reason Unschedulable), as
    `pod/NAME`; a Pending pod that is scheduled is only starting."""
    found: list[str] = []
    for pod in pods.get("items", []):
        for condition in pod.get("status", {}).get("conditions", []):
            if (condition.get("type"), condition.get("status"), condition.get("reason")) == (
                "PodScheduled",
                "False",
                "Unschedulable",
            ):
                found.append(f"pod/{pod['metadata']['name']}")
    return found


def serves_only(service: dict[str, Any], revision: str) -> bool:
    """True once the Service's routing (its status, for its latest spec) sends all of its
    traffic to `revision`."""
    status, meta = service.get("status", {}), service.get("metadata", {})
    observed, generation = status.get("observedGeneration"), meta.get("generation")
    if observed is not None and generation is not None and observed != generation:
        return False
    shares: dict[str, int] = {}
    for target in status.get("traffic", []):
        if target.get("percent"):
            name = str(target.get("revisionName"))
            shares[name] = shares.get(name, 0) + int(target["percent"])
    return shares == {revision: 100}


def _emit_args(args: Sequence[str]) -> None:
    for arg in args:
        if "\0" in arg or not arg:
            raise PlanError(f"empty argument, or one with a NUL byte: {arg!r}")
        sys.stdout.write(arg + "\0")


def _emit_records(records: Sequence[Sequence[str]]) -> None:
    """Several argument lists; each ends with an empty argument (two NULs in a row)."""
    for record in records:
        _emit_args(record)
        sys.stdout.write("\0")


def _emit_lines(lines: Sequence[str]) -> None:
    for line in lines:
        sys.stdout.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.plan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("services", help="every Knative Service, one name a line")
    targets = sub.add_parser("build-targets", help="'REPO DOMAIN' per image to build")
    targets.add_argument("names", nargs="*", help="services, or migrate (default: all of them)")
    sub.add_parser("db-domains", help="domains whose services use a database Secret")
    apply = sub.add_parser(
        "service-apply-args", help="kn service apply arguments per service (records)"
    )
    apply.add_argument("tag")
    apply.add_argument("names", nargs="+")
    broker = sub.add_parser("broker-create-args", help="kn broker create arguments")
    broker.add_argument("name", nargs="?", default="default")
    drift = sub.add_parser(
        "broker-drift", help="how the live Broker (JSON on stdin) differs; exit 3 if it does"
    )
    drift.add_argument("name", nargs="?", default="default")
    update = sub.add_parser("trigger-update-args", help="kn trigger update arguments")
    update.add_argument("name")
    target = sub.add_parser(
        "rollback-target", help="the revision to roll back to (ksvc and revisions JSON files)"
    )
    target.add_argument("service_json", type=Path)
    target.add_argument("revisions_json", type=Path)
    target.add_argument("revision", nargs="?")
    sub.add_parser("unschedulable", help="pods (JSON list on stdin) the scheduler cannot place")
    serving = sub.add_parser("serves", help="exit 0 when the ksvc (JSON file) serves REVISION only")
    serving.add_argument("service_json", type=Path)
    serving.add_argument("revision")
    config = sub.add_parser("broker-config", help="names of the broker's RabbitmqBrokerConfig")
    config.add_argument("name", nargs="?", default="default")
    sub.add_parser(
        "trigger-records",
        help="per Trigger: `kn NAME ARGS...` (kn trigger arguments) or `yaml NAME` (records)",
    )
    doc = sub.add_parser("doc", help="one manifest document as YAML (for kubectl apply -f -)")
    doc.add_argument("kind")
    doc.add_argument("name")
    args = parser.parse_args(argv)

    try:
        plan = Plan()
        command: str = args.command
        if command == "services":
            _emit_lines(plan.services())
        elif command == "build-targets":
            _emit_lines([f"{t.repo} {t.domain}" for t in plan.build_targets(args.names)])
        elif command == "db-domains":
            _emit_lines(plan.db_domains())
        elif command == "service-apply-args":
            _emit_records([plan.service_apply_args(name, args.tag) for name in args.names])
        elif command == "broker-create-args":
            _emit_args(plan.broker_args(args.name))
        elif command == "broker-drift":
            differences = plan.broker_drift(json.load(sys.stdin), args.name)
            _emit_lines(differences)
            return 3 if differences else 0
        elif command == "trigger-update-args":
            _emit_args(plan.trigger_args(args.name, update=True))
        elif command == "unschedulable":
            text = sys.stdin.read()
            _emit_lines(unschedulable(json.loads(text)) if text.strip() else [])
        elif command == "serves":
            service = json.loads(args.service_json.read_text(encoding="utf-8"))
            return 0 if serves_only(service, args.revision) else 1
        elif command == "rollback-target":
            service = json.loads(args.service_json.read_text(encoding="utf-8"))
            revisions = json.loads(args.revisions_json.read_text(encoding="utf-8"))
            chosen, notes = rollback_target(service, revisions.get("items", []), args.revision)
            for line in notes:
                print(f"deploy.plan: {line}", file=sys.stderr)
            _emit_lines([chosen])
        elif command == "broker-config":
            _emit_lines(plan.broker_config_names(args.name))
        elif command == "trigger-records":
            _emit_records(
                [
                    [mode, name, *(plan.trigger_args(name) if mode == "kn" else [])]
                    for name, mode in plan.triggers()
                ]
            )
        elif command == "doc":
            sys.stdout.write(plan.document_yaml(args.kind, args.name))
    except (PlanError, ValueError) as exc:
        print(f"deploy.plan: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
