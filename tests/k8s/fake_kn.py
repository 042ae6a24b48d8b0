"""A test double of the Knative CLI `kn` 1.22, for running the deploy scripts without a cluster.

    python tests/k8s/fake_kn.py ARGS...      behaves as `kn ARGS...`
    install(bin_dir)                         writes bin_dir/kn, a shim that runs this file

What kn accepts comes from upstream/kn-1.22.json (read from knative/client at the pinned tag,
with its provenance): a command or flag kn does not have is refused with kn's own message
(cobra/pflag's text, kn's "Error: ... / Run '... --help' for usage", exit 1), and so are a
value flag without its value, a bad int or bool, a missing required flag. Flag parsing follows
pflag: --flag=value, --flag value, -fvalue, -f value, -f=value, bundled bool shorthands, "--";
global flags anywhere; string-slice flags (--filter, --traffic, ...) split at commas.

The cluster is a JSON file named by FAKE_CLUSTER_STATE (created when absent), kinds by
namespace then name: services {image, env, labels, template, revisions, traffic, ...}, brokers
{class, config, delivery}, triggers {broker, filter, sink}, pingsources. kn's client-side rules
are kept: create of an existing object fails, update/describe/delete of an absent one fails
(the API's NotFound text), `service apply` creates, patches or reports "No changes", and a
--sink/--dl-sink reference (ksvc:NAME[:NS], a bare NAME, broker:NAME, svc:NAME) must exist
because kn looks it up before it writes; http(s) URIs are not looked up. What the Knative and
eventing-rabbitmq webhooks refuse is not modelled here: FAKE_ADMISSION names a module (a file
path or a dotted name) whose `admit(kind, old, new) -> str | None` is asked before every write
(kind: Service, Broker, Trigger or PingSource; old is None on create; objects as stored, with
"name" and "namespace"); a string is the refusal, printed as kn prints an API error, exit 1.
FAKE_KN_LOG, when set, gets every call's argv as one JSON list per line. Deterministic and offline;
revisions are NAME-00001, NAME-00002...; waiting always succeeds at once, unless a hook says why
the new revision can never become Ready.

The state file may hold more than kn's kinds (tests/k8s/fake_cluster.py keeps kubectl's, kind's
and docker's there too): those keys are kept as they are. A Service is kept with its manifest's
pod spec and template annotations, and the admission hook gets it also as the Kubernetes object
kn sends (apiVersion, kind, metadata, spec), which is what Serving's webhook validates.
ON_NEW_REVISION and REVISION_FAILURE are hooks for a wrapper that models the cluster's controllers
(fake_cluster.py: the SinkBinding's K_SINK, images the node has, Secrets a revision needs).
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "upstream" / "kn-1.22.json"
ROOT = "kn"
STATE_ENV, LOG_ENV, ADMISSION_ENV = "FAKE_CLUSTER_STATE", "FAKE_KN_LOG", "FAKE_ADMISSION"
KINDS = {  # state key -> (kind, API resource.group for NotFound/AlreadyExists texts)
    "services": ("Service", "services.serving.knative.dev"),
    "brokers": ("Broker", "brokers.eventing.knative.dev"),
    "triggers": ("Trigger", "triggers.eventing.knative.dev"),
    "pingsources": ("PingSource", "pingsources.sources.knative.dev"),
}
SINK_PREFIXES = {  # kn's default sink mappings (pkg/flags/sink/sink.go) -> what backs them here
    "ksvc": "services",
    "kservice": "services",
    "broker": "brokers",
    "svc": "services",  # a Kubernetes Service: each Knative Service has one of its name
    "service": "services",
    "channel": "",
}
SINK_RESOURCE = {
    "ksvc": "services.serving.knative.dev",
    "kservice": "services.serving.knative.dev",
    "broker": "brokers.eventing.knative.dev",
    "svc": "services",
    "service": "services",
    "channel": "channels.messaging.knative.dev",
}
GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True}
GO_BOOL |= {"0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
INT_BITS = {"int": 64, "int32": 32, "int64": 64}
# Flags that do not change a Service's revision template (everything else on create/update does).
NOT_TEMPLATE = {"namespace", "target", "wait", "no-wait", "wait-timeout", "wait-window", "force"}
NOT_TEMPLATE |= {"filename", "traffic", "tag", "untag", "label-service", "annotation-service"}
NOT_TEMPLATE |= {"lock-to-digest", "no-lock-to-digest", "cluster-local", "no-cluster-local"}

HELP = ("-h", "--help")  # kn's main.go filters these out before its own flag checks
Obj = dict[str, Any]


class KnError(Exception):
    """An error kn prints as "Error: MESSAGE" with the help hint, exiting 1."""


class NotModelled(Exception):
    """A real kn command this double does not implement (exit 2: fix the double, not the caller)."""


def goq(text: str) -> str:
    """Go's %q for the plain strings that occur here."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the command tree, from the data file ----------------------------------------------------
@dataclass(frozen=True)
class Flag:
    name: str
    shorthand: str | None
    takes_value: bool
    type: str

    @property
    def shown(self) -> str:
        return f"-{self.shorthand}, --{self.name}" if self.shorthand else f"--{self.name}"


def _flags(items: list[Obj]) -> list[Flag]:
    return [Flag(f["name"], f["shorthand"], f["takes_value"], f["type"]) for f in items]


@dataclass
class Spec:
    data: Obj
    global_flags: list[Flag] = field(init=False)
    help_flag: Flag = field(init=False)

    def __post_init__(self) -> None:
        flags = _flags(self.data["global_flags"])
        self.global_flags = [f for f in flags if f.name != "help"]
        self.help_flag = next(f for f in flags if f.name == "help")

    @classmethod
    def load(cls, path: Path = DATA) -> Spec:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def commands(self) -> dict[str, Obj]:
        found: dict[str, Obj] = self.data["commands"]
        return found

    def is_group(self, path: str) -> bool:
        return path == "" or path in self.data["groups"]

    def subcommands(self, path: str) -> list[str]:
        if path == "":
            return list(self.data["root_commands"])
        return list(self.data["groups"].get(path, {}).get("subcommands", []))

    def child(self, path: str, word: str) -> str | None:
        """The sub-command a word names (by name or alias), as a full path."""
        for name in self.subcommands(path):
            full = f"{path} {name}".strip()
            aliases = (self.data["groups"].get(full) or self.commands.get(full) or {}).get(
                "aliases", []
            )
            if word == name or word in aliases:
                return full
        return None

    def leaf_flags(self, path: str) -> list[Flag]:
        return [*_flags(self.commands[path]["flags"]), *self.global_flags, self.help_flag]


# -- pflag --------------------------------------------------------------------------------------
@dataclass
class Parsed:
    values: dict[str, list[str]] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: str = "") -> str:
        return self.values[name][-1] if name in self.values else default

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def is_true(self, name: str, default: bool = False) -> bool:
        return GO_BOOL[self.get(name)] if name in self.values else default


def _check_value(flag: Flag, value: str) -> None:
    cause = ""
    if flag.type == "bool" and value not in GO_BOOL:
        cause = f"strconv.ParseBool: parsing {goq(value)}: invalid syntax"
    elif flag.type in INT_BITS:
        try:
            number = int(value, 0)
        except ValueError:
            cause = f"strconv.ParseInt: parsing {goq(value)}: invalid syntax"
        else:
            bits = INT_BITS[flag.type] - 1
            if not -(2**bits) <= number < 2**bits:
                cause = f"strconv.ParseInt: parsing {goq(value)}: value out of range"
    if cause:
        raise KnError(f"invalid argument {goq(value)} for {goq(flag.shown)} flag: {cause}")


def _store(values: dict[str, list[str]], flag: Flag, value: str) -> None:
    _check_value(flag, value)
    if flag.type == "strings":  # pflag's stringSlice: csv, appended on each use
        values.setdefault(flag.name, []).extend(next(csv.reader([value])) if value else [])
    elif flag.type in ("stringArray",):
        values.setdefault(flag.name, []).append(value)
    else:
        values[flag.name] = [value]


def _strip_unknown_value(rest: list[str]) -> None:
    if rest and not rest[0].startswith("-"):
        del rest[0]


def pflag_parse(args: list[str], flags: list[Flag], *, allow_unknown: bool = False) -> Parsed:
    """pflag's FlagSet.Parse (interspersed), raising KnError with pflag's messages."""
    by_name = {f.name: f for f in flags}
    by_short = {f.shorthand: f for f in flags if f.shorthand}
    parsed = Parsed()
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if len(arg) < 2 or arg[0] != "-":
            parsed.args.append(arg)
        elif arg == "--":
            parsed.args.extend(rest)
            break
        elif arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if not name or name[0] in "-=":
                raise KnError(f"bad flag syntax: {arg}")
            flag = by_name.get(name)
            if flag is None:
                if allow_unknown and name == "help":
                    return parsed  # pflag stops at ErrHelp
                if allow_unknown:
                    if not eq:
                        _strip_unknown_value(rest)
                    continue
                raise KnError(f"unknown flag: --{name}")
            if not eq:
                if not flag.takes_value:
                    value = "true"
                elif rest:
                    value = rest.pop(0)
                else:
                    raise KnError(f"flag needs an argument: --{name}")
            _store(parsed.values, flag, value)
        else:
            shorts = arg[1:]
            while shorts:
                letter = shorts[0]
                flag = by_short.get(letter)
                if flag is None:
                    if allow_unknown and letter == "h":
                        return parsed
                    if allow_unknown:
                        if len(shorts) > 2 and shorts[1] == "=":
                            break
                        _strip_unknown_value(rest)
                        shorts = shorts[1:]
                        continue
                    raise KnError(f"unknown shorthand flag: '{letter}' in -{shorts}")
                if len(shorts) > 2 and shorts[1] == "=":
                    value, shorts = shorts[2:], ""
                elif not flag.takes_value:
                    value, shorts = "true", shorts[1:]
                elif len(shorts) > 1:
                    value, shorts = shorts[1:], ""
                elif rest:
                    value, shorts = rest.pop(0), ""
                else:
                    raise KnError(f"flag needs an argument: '{letter}' in -{shorts}")
                _store(parsed.values, flag, value)
    return parsed


# -- cobra: finding the command ----------------------------------------------------------------
def _no_value(word: str, flags: list[Flag], short: bool) -> bool:
    for flag in flags:
        if (flag.shorthand == word[:1]) if short else (flag.name == word):
            return not flag.takes_value
    return False  # an unknown flag is taken to have a value


def _skips_next(arg: str, flags: list[Flag]) -> bool:
    if arg.startswith("--") and "=" not in arg and not _no_value(arg[2:], flags, False):
        return True
    return (
        arg.startswith("-")
        and "=" not in arg
        and len(arg) == 2
        and not _no_value(arg[1:], flags, True)
    )


def strip_flags(args: list[str], flags: list[Flag]) -> list[str]:
    """cobra's stripFlags: the words that are not flags or (as far as it can tell) flag values."""
    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if _skips_next(arg, flags):
            if len(args) - i <= 1:
                break
            i += 1
        elif arg and not arg.startswith("-"):
            words.append(arg)
    return words


def args_minus_first(args: list[str], word: str, flags: list[Flag]) -> list[str]:
    """cobra's argsMinusFirstX."""
    pos = 0
    while pos < len(args):
        arg = args[pos]
        if arg == "--":
            break
        if _skips_next(arg, flags):
            pos += 2
            continue
        if not arg.startswith("-") and arg == word:
            return args[:pos] + args[pos + 1 :]
        pos += 1
    return args


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


@dataclass
class Invocation:
    path: str
    parsed: Parsed
    help: bool = False


def resolve(spec: Spec, argv: list[str]) -> Invocation:
    """What kn does with argv before it runs a command (raising KnError where kn fails)."""
    # config.BootstrapConfig, then main.stripFlags (root flags, unknown flags allowed)
    boot = [f for f in spec.global_flags if f.name in ("config", "plugins-dir")]
    pflag_parse(argv, boot, allow_unknown=True)
    without_help = [a for a in argv if a not in HELP]
    try:
        pflag_parse(without_help, spec.global_flags, allow_unknown=True)
    except KnError as exc:
        shown = "[" + " ".join(argv) + "]"
        raise KnError(f"error while parsing flags from args {shown}: {exc}") from None
    node, rest = "", list(argv)
    while True:
        words = strip_flags(rest, spec.global_flags)
        child = spec.child(node, words[0]) if words else None
        if child is None:
            break
        rest, node = args_minus_first(rest, words[0], spec.global_flags), child
    words = strip_flags(rest, spec.global_flags)
    if node == "" and words:
        names = [n for n in spec.subcommands("") if n != "completion"] + ["completion"]
        near = [n for n in names if _levenshtein(n, words[0]) <= 2 or n.startswith(words[0])]
        hint = "\n\nDid you mean this?\n" + "".join(f"\t{n}\n" for n in near) if near else ""
        raise KnError(f"unknown command {goq(words[0])} for {goq(ROOT)}{hint}")
    if spec.is_group(node):
        subs = ", ".join(sorted(spec.subcommands(node)))
        if node and rest:
            try:
                stray = pflag_parse([a for a in rest if a not in HELP], spec.global_flags).args
            except KnError:
                stray = rest
            if stray:
                raise KnError(
                    f"unknown sub-command '{rest[0]}' for '{ROOT} {node}'. "
                    f"Available sub-commands: {subs}"
                )
        parsed = pflag_parse(rest, [*spec.global_flags, spec.help_flag])
        if not node or parsed.is_true("help"):
            return Invocation(node, parsed, help=True)
        raise KnError(
            f"no sub-command given for '{ROOT} {node.split()[-1]}'. Available sub-commands: {subs}"
        )
    if node not in spec.commands:
        raise NotModelled(f"'{ROOT} {node}' is a real kn command that this fake does not model")
    try:
        parsed = pflag_parse(rest, spec.leaf_flags(node))
    except KnError as exc:
        raise KnError(f"{exc} for '{ROOT} {node}'") from None
    if parsed.is_true("help"):
        return Invocation(node, parsed, help=True)
    command = spec.commands[node]
    _reconcile_bool_flags(parsed, spec.leaf_flags(node))
    if command.get("requires_a_flag") and not parsed.values:
        raise KnError(f"flag(s) not set\nUsage: {command['use']}")
    missing = [name for name in command.get("required_flags", []) if not parsed.has(name)]
    if missing:
        raise KnError('required flag(s) "' + '", "'.join(missing) + '" not set')
    return Invocation(node, parsed)


def _reconcile_bool_flags(parsed: Parsed, flags: list[Flag]) -> None:
    """kn's flags.ReconcileBoolFlags: --foo / --no-foo pairs."""
    names = {f.name: f for f in flags}
    for name in sorted(names):
        positive = name.removeprefix("no-")
        if name == positive or positive not in names or names[positive].type != "bool":
            continue
        if parsed.has(name):
            if parsed.has(positive):
                raise KnError(f"only one of --{name} and --{positive} may be specified")
            if not parsed.is_true(name):
                raise KnError(f'use --{positive} instead of providing "false" to --{name}')
            parsed.values[positive] = ["false"]
        elif parsed.has(positive) and not parsed.is_true(positive):
            raise KnError(f'use --{name} instead of providing "false" to --{positive}')


# -- the cluster ---------------------------------------------------------------------------------
class Cluster:
    def __init__(self, path: Path) -> None:
        self.path = path
        loaded: Obj = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        # Keys that are not kn's (fake_cluster.py's kubectl, kind and docker state) are kept.
        self.state: Obj = {**loaded, **{kind: loaded.get(kind, {}) for kind in KINDS}}

    def save(self) -> None:
        """Write the state at once (a reader in a pipeline never sees half of it)."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.state, indent=1, sort_keys=True) + "\n", "utf-8")
        os.replace(temporary, self.path)

    def objects(self, kind: str, namespace: str) -> dict[str, Obj]:
        found: dict[str, Obj] = self.state[kind].setdefault(namespace, {})
        return found

    def get(self, kind: str, namespace: str, name: str) -> Obj:
        obj = self.objects(kind, namespace).get(name)
        if obj is None:
            raise KnError(f"{KINDS[kind][1]} {goq(name)} not found")
        return obj

    def put(self, kind: str, namespace: str, name: str, obj: Obj, *, create: bool) -> None:
        existing = self.objects(kind, namespace).get(name)
        old = None if create else _admitted_form(kind, existing, name, namespace)
        refusal = admit(KINDS[kind][0], old, _admitted_form(kind, obj, name, namespace))
        if refusal:
            raise KnError(refusal)
        if create and existing is not None:
            raise KnError(f"{KINDS[kind][1]} {goq(name)} already exists")
        self.objects(kind, namespace)[name] = obj


def _named(obj: Obj | None, name: str, namespace: str) -> Obj | None:
    return None if obj is None else {"name": name, "namespace": namespace, **obj}


def _admitted_form(kind: str, obj: Obj | None, name: str, namespace: str) -> Obj | None:
    """What the admission hook gets: the stored form, with name and namespace; for a Service
    also the Kubernetes object kn sends (its spec is what Serving's webhook validates)."""
    named = _named(obj, name, namespace)
    if named is None or kind != "services" or not obj or "revisions" not in obj:
        return named
    body = render(kind, namespace, name, obj)
    return {**named, **{k: v for k, v in body.items() if k != "status"}}


def admit(kind: str, old: Obj | None, new: Obj | None) -> str | None:
    """Ask the FAKE_ADMISSION module, if any (None: allowed)."""
    where = os.environ.get(ADMISSION_ENV)
    if not where or new is None:
        return None
    repo = str(Path(__file__).resolve().parents[2])  # a hook like tests.k8s.admission
    if repo not in sys.path:
        sys.path.append(repo)
    if where.endswith(".py") or os.sep in where:
        loader = importlib.util.spec_from_file_location("fake_kn_admission", where)
        if loader is None or loader.loader is None:
            raise NotModelled(f"{ADMISSION_ENV}={where}: cannot load it")
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    hook: Callable[[str, Obj | None, Obj], str | None] = module.admit
    return hook(kind, old, new)


def resolve_sink(cluster: Cluster, text: str, namespace: str) -> Obj:
    """kn's sink.Parse + Reference.Resolve: a reference must exist (kn GETs it); a URI is not."""
    parts = text.split(":", 2)
    if len(parts) == 1:
        prefix, name, ns = "ksvc", parts[0], ""
    elif parts[0] in ("http", "https"):
        return {"uri": text}
    else:
        prefix, name, ns = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    ns = ns or namespace
    kind = SINK_PREFIXES.get(prefix)
    if kind is None:  # [GROUP/]VERSION/KIND: nothing of another kind exists here
        version, _, resource = prefix.rpartition("/")
        resource = (resource if resource.endswith("s") else resource + "s").lower()
        group = version.split("/")[0] if "/" in version else ""
        raise KnError(f"{resource}{'.' + group if group else ''} {goq(name)} not found")
    if not kind or name not in cluster.objects(kind, ns):
        raise KnError(f"{SINK_RESOURCE[prefix]} {goq(name)} not found")
    api = {"ksvc": "serving.knative.dev/v1", "kservice": "serving.knative.dev/v1"}
    api |= {"broker": "eventing.knative.dev/v1", "svc": "v1", "service": "v1"}
    ref_kind = {"broker": "Broker"}.get(prefix, "Service")
    return {"ref": {"apiVersion": api[prefix], "kind": ref_kind, "name": name, "namespace": ns}}


def sink_text(sink: Obj, namespace: str) -> str:
    if "uri" in sink:
        return str(sink["uri"])
    ref = sink["ref"]
    prefix = {"Broker": "broker", "Service": "ksvc" if "knative" in ref["apiVersion"] else "svc"}
    text = f"{prefix[ref['kind']]}:{ref['name']}"
    return text if ref["namespace"] == namespace else f"{text}:{ref['namespace']}"


# -- the commands -----------------------------------------------------------------------------
Out = Callable[[str], None]


def _pairs(values: list[str], what: str, *, singles: bool = False) -> dict[str, str]:
    """kn's util.MapFromArray[AllowingSingles] for KEY=VALUE flags."""
    found: dict[str, str] = {}
    for pair in values:
        key, eq, value = pair.partition("=")
        if not eq and not singles:
            raise KnError(
                f"Invalid {what}: Argument requires a value that contains the "
                f'"=" character as delimiter; got {goq(pair)}'
            )
        if eq and not key:
            raise KnError(f"Invalid {what}: The key is empty")
        if key in found:
            raise KnError(f"Invalid {what}: The key {goq(key)} has been duplicate in {values}")
        found[key] = value
    return found


def _edit(base: dict[str, str], pairs: list[str], what: str) -> dict[str, str]:
    """KEY=VALUE sets, KEY- removes (kn's env, label and filter edits)."""
    result = dict(base)
    for key, value in _pairs(pairs, what, singles=True).items():
        if key.endswith("-") and not value:
            result.pop(key[:-1], None)
        else:
            result[key] = value
    return result


def _url(cluster: Cluster, name: str, namespace: str, service: Obj) -> str:
    """The Service's URL: a SERVICE_URL hook's (a cluster that models Serving's config), else
    the external http:// address on Kind's domain."""
    if SERVICE_URL:
        return SERVICE_URL[0](cluster, namespace, name, service)
    return f"http://{name}.{namespace}.127.0.0.1.sslip.io"


def _service_from_flags(inv: Invocation, namespace: str, current: Obj | None) -> tuple[str, Obj]:
    """The Service a create/apply/update describes: the file (if any), then the flags."""
    p = inv.parsed
    name = p.args[0] if p.args else ""
    labels: dict[str, str] = dict(current["labels"]) if current else {}
    template: Obj = json.loads(json.dumps(current["template"])) if current else {}
    template.setdefault("image", "")
    template.setdefault("env", {})
    template.setdefault("labels", {})
    template.setdefault("flags", {})
    traffic: list[Obj] = list(current["traffic"]) if current else [_LATEST]
    if p.has("filename"):
        import yaml  # here: a process that never reads YAML (most calls) starts faster

        doc = yaml.safe_load(Path(p.get("filename")).read_text(encoding="utf-8")) or {}
        meta = doc.get("metadata", {})
        if name and meta.get("name") and name != meta["name"]:
            raise KnError(
                f"provided service name '{name}' doesn't match name from file '{meta['name']}'"
            )
        name = name or str(meta.get("name", ""))
        if not name:
            raise KnError("no service name provided in command parameter or file")
        stored = service_from_manifest(doc)
        labels, template, traffic = stored["labels"], stored["template"], stored["traffic"]
    if p.has("image"):
        template["image"] = p.get("image")
    template["env"] = _edit(template["env"], p.all("env"), "--env")
    for flag in ("label", "label-service"):
        labels = _edit(labels, p.all(flag), f"--{flag}")
    for flag in ("label", "label-revision"):
        template["labels"] = _edit(template["labels"], p.all(flag), f"--{flag}")
    for flag, values in sorted(p.values.items()):
        if flag not in NOT_TEMPLATE | {
            "image",
            "env",
            "label",
            "label-revision",
            "help",
        } and not any(flag == g.name for g in SPEC.global_flags):
            template["flags"][flag] = values
    return name, {"labels": labels, "template": template, "traffic": traffic}


def service_from_manifest(doc: Obj) -> Obj:
    """A Knative Service manifest in the stored form: labels, template (the first container's
    image and env, the revision labels and annotations, the rest of the pod spec), traffic."""
    meta, spec = doc.get("metadata", {}), doc.get("spec", {})
    tmpl = spec.get("template", {})
    pod: Obj = json.loads(json.dumps(tmpl.get("spec", {})))
    boxes = pod.get("containers") or [{}]
    box = boxes[0]
    template: Obj = {
        "image": str(box.pop("image", "")),
        "env": {str(e["name"]): e.get("value", e.get("valueFrom")) for e in box.pop("env", [])},
        "labels": {
            str(k): str(v) for k, v in (tmpl.get("metadata", {}).get("labels") or {}).items()
        },
        "flags": {},
    }
    annotations = tmpl.get("metadata", {}).get("annotations") or {}
    if annotations:
        template["annotations"] = {str(k): str(v) for k, v in annotations.items()}
    if pod:
        template["pod"] = {**pod, "containers": boxes}
    return {
        "labels": {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        "template": template,
        "traffic": spec.get("traffic") or [_LATEST],
    }


def apply_service_manifest(cluster: Cluster, namespace: str, doc: Obj) -> tuple[str, str]:
    """`kubectl apply` of a Knative Service (fake_cluster.py): stored as kn stores one, through
    the same admission and revision rules; returns (name, created|changed|patched|unchanged)."""
    name = str(doc.get("metadata", {}).get("name", ""))
    current = cluster.objects("services", namespace).get(name)
    want = service_from_manifest(doc)
    applied = bool(current.get("applied", True)) if current else True
    return name, _write_service(cluster, namespace, name, want, current, applied=applied)


_LATEST: Obj = {"latestRevision": True, "percent": 100}
# Hooks for a wrapper that models the cluster's controllers (tests/k8s/fake_cluster.py), each
# called with (cluster, namespace, service name, stored service). ON_NEW_REVISION: after a write
# that made a revision (the newest in "revisions"). REVISION_FAILURE: why the newest revision can
# never become Ready (None: it can); a waiting kn then fails as kn does.
ON_NEW_REVISION: list[Callable[[Cluster, str, str, Obj], None]] = []
REVISION_FAILURE: list[Callable[[Cluster, str, str, Obj], str | None]] = []
# SERVICE_URL: the Service's URL after a write (Serving's Route: domain, visibility, TLS).
SERVICE_URL: list[Callable[[Cluster, str, str, Obj], str]] = []
APPLY_WARNING = (
    "Warning: 'kn service apply' should be used only for services created by 'kn service apply'"
)
DELETED = {
    "services": "Service '{name}' successfully deleted in namespace '{ns}'.",
    "brokers": "Broker '{name}' successfully deleted in namespace '{ns}'.",
    "triggers": "Trigger '{name}' deleted in namespace '{ns}'.",
    "pingsources": "Ping source '{name}' deleted in namespace '{ns}'.",
}


def _write_service(
    cluster: Cluster, ns: str, name: str, want: Obj, current: Obj | None, *, applied: bool
) -> str:
    """Store the Service; returns 'created', 'changed' (new revision), 'patched' or 'unchanged'."""
    if current is None:
        obj = {**want, "revisions": [f"{name}-00001"], "applied": applied}
        obj["url"] = _url(cluster, name, ns, obj)
        cluster.put("services", ns, name, obj, create=True)
        for hook in ON_NEW_REVISION:
            hook(cluster, ns, name, obj)
        return "created"
    same = {k: current[k] for k in ("labels", "template", "traffic")} == want
    if same:
        return "unchanged"
    revisions = list(current["revisions"])
    new_revision = want["template"] != current["template"]
    if new_revision:
        revisions.append(f"{name}-{len(revisions) + 1:05d}")
    obj = {**current, **want, "revisions": revisions}
    obj["url"] = _url(cluster, name, ns, obj)
    cluster.put("services", ns, name, obj, create=False)
    if new_revision:
        for hook in ON_NEW_REVISION:
            hook(cluster, ns, name, obj)
    return "changed" if new_revision else "patched"


def _latest(obj: Obj) -> str:
    return str(obj["revisions"][-1])


def _namespace(inv: Invocation) -> str:
    return inv.parsed.get("namespace") or "default"


def _one_name(inv: Invocation, error: str) -> tuple[Parsed, str, str]:
    """The call's flags, namespace and NAME, when it names exactly one (else kn's error)."""
    p = inv.parsed
    if len(p.args) != 1:
        raise KnError(error)
    return p, _namespace(inv), p.args[0]


def service_apply(cluster: Cluster, inv: Invocation, out: Out) -> None:
    if not inv.parsed.args and not inv.parsed.has("filename"):
        raise KnError("'service apply' requires the service name given as single argument")
    ns = _namespace(inv)
    name, want = _service_from_flags(inv, ns, None)
    current = cluster.objects("services", ns).get(name)
    if current is not None and not current.get("applied"):
        out(APPLY_WARNING)
    result = _write_service(cluster, ns, name, want, current, applied=True)
    obj = cluster.get("services", ns, name)
    if result == "unchanged":
        out(f"No changes to apply to service '{name}'.")
        revision = _latest(obj)
        out(f"Service '{name}' with latest revision '{revision}' (unchanged) is available at URL:")
        out(obj["url"])
        return
    verb = "created" if result == "created" else "applied"
    _done(cluster, inv, out, ("Creating" if verb == "created" else "Applying", verb), name, result)


def _done(
    cluster: Cluster, inv: Invocation, out: Out, verbs: tuple[str, str], name: str, result: str
) -> None:
    """kn's closing lines; with --wait (the default) the new revision must become Ready."""
    doing, done = verbs
    ns = _namespace(inv)
    obj = cluster.get("services", ns, name)
    if not inv.parsed.is_true("wait", default=True):
        out(f"Service '{name}' {done} in namespace '{ns}'.")
        return
    # kn waits for the Service's Ready condition, which stays False while its newest
    # revision has failed: a patch of the traffic alone (a rollback) fails the wait too.
    reasons = [
        reason
        for hook in REVISION_FAILURE
        if result in ("created", "changed", "patched") and (reason := hook(cluster, ns, name, obj))
    ]
    if reasons:  # kn waits for the new revision, which fails: the write stays, kn exits 1
        cluster.save()
        out(f"{doing} service '{name}' in namespace '{ns}':\n")
        raise KnError(
            f"RevisionFailed: Revision {goq(_latest(obj))} failed with message: {reasons[0]}."
        )
    out(f"{doing} service '{name}' in namespace '{ns}':\n\n  0.000s Ready to serve.\n")
    out(f"Service '{name}' {done} to latest revision '{_latest(obj)}' is available at URL:")
    out(obj["url"])


def service_create(cluster: Cluster, inv: Invocation, out: Out) -> None:
    p = inv.parsed
    if len(p.args) != 1 and not p.has("filename"):
        raise KnError("'service create' requires the service name given as single argument")
    if not p.has("image") and not p.has("filename"):
        raise KnError(
            "'service create' requires the image name to run provided with the --image option"
        )
    ns = _namespace(inv)
    name, want = _service_from_flags(inv, ns, None)
    current = cluster.objects("services", ns).get(name)
    if current is not None and not p.is_true("force"):
        raise KnError(
            f"cannot create service '{name}' in namespace '{ns}' because the service already "
            "exists and no --force option was given"
        )
    result = _write_service(cluster, ns, name, want, current, applied=False)
    verb = "created" if current is None else "replaced"
    doing = "Creating" if current is None else "Replacing"
    _done(cluster, inv, out, (doing, verb), name, result)


def service_update(cluster: Cluster, inv: Invocation, out: Out) -> None:
    p, ns, name = _one_name(
        inv, "'service update' requires the service name given as single argument"
    )
    current = cluster.get("services", ns, name)
    _, want = _service_from_flags(inv, ns, current)
    if p.has("traffic"):
        want["traffic"] = _traffic(p.all("traffic"))
    result = _write_service(cluster, ns, name, want, current, applied=bool(current.get("applied")))
    obj = cluster.get("services", ns, name)
    missing = [
        t["revisionName"]
        for t in obj["traffic"]
        if t.get("revisionName") not in (None, *obj["revisions"])
    ]
    if result == "unchanged":
        out(f"Service '{name}' updated in namespace '{ns}'.\nNo new revision has been created.")
    elif missing and p.is_true("wait", default=True):  # the Route never becomes ready
        raise KnError(
            f"RevisionMissing: Revision {goq(missing[0])} referenced in traffic not found."
        )
    else:
        _done(cluster, inv, out, ("Updating", "updated"), name, result)


def _traffic(values: list[str]) -> list[Obj]:
    targets: list[Obj] = []
    for pair in values:
        ref, eq, percent = pair.partition("=")
        if not eq:
            raise KnError(f"expecting the value format in value1=value2, given {pair}")
        if not percent.isdigit() or int(percent) > 100:
            raise KnError(
                f"error converting given {percent} to integer value for traffic distribution"
            )
        target: Obj = {"latestRevision": True} if ref == "@latest" else {"revisionName": ref}
        targets.append({**target, "percent": int(percent)})
    total = sum(int(t["percent"]) for t in targets)
    if total > 100:
        raise KnError(f"given traffic percents sum to {total}, want <=100")
    if total < 100:
        targets.append({"latestRevision": True, "percent": 100 - total})
    return targets


def _describe(cluster: Cluster, inv: Invocation, kind: str, message: str, out: Out) -> None:
    if len(inv.parsed.args) != 1:
        raise KnError(message)
    ns, name = _namespace(inv), inv.parsed.args[0]
    obj = cluster.get(kind, ns, name)
    output = inv.parsed.get("output")
    if output == "url" and "url" in obj:
        out(obj["url"])
    elif output in ("yaml", "yml"):
        import yaml

        out(yaml.safe_dump(render(kind, ns, name, obj), sort_keys=False).rstrip())
    elif output:
        out(json.dumps(render(kind, ns, name, obj), indent=2))
    else:
        out(f"Name:       {name}\nNamespace:  {ns}")
        for key, value in sorted(obj.items()):
            out(f"{key.capitalize() + ':':<11} {json.dumps(value, sort_keys=True)}")


API_VERSION = {
    "services": "serving.knative.dev/v1",
    "brokers": "eventing.knative.dev/v1",
    "triggers": "eventing.knative.dev/v1",
    "pingsources": "sources.knative.dev/v1",
}


def render(kind: str, ns: str, name: str, obj: Obj) -> Obj:
    """The object as the API server would return it (`-o json`), in the fields modelled here."""
    meta: Obj = {"name": name, "namespace": ns}
    spec: Obj = {}
    status: Obj = {"conditions": [{"type": "Ready", "status": "True"}]}
    if kind == "services":
        meta["labels"] = obj["labels"]
        template = obj["template"]
        env = [
            {"name": k, "value": v} if isinstance(v, str) else {"name": k, "valueFrom": v}
            for k, v in template["env"].items()
        ]
        pod: Obj = json.loads(json.dumps(template.get("pod") or {}))
        boxes = pod.get("containers") or [{}]
        pod["containers"] = [{**boxes[0], "image": template["image"], "env": env}, *boxes[1:]]
        tmeta: Obj = {"labels": template["labels"]}
        if template.get("annotations"):
            tmeta["annotations"] = template["annotations"]
        spec = {"template": {"metadata": tmeta, "spec": pod}, "traffic": obj["traffic"]}
        latest = _latest(obj)
        status |= {"url": obj["url"], "latestReadyRevisionName": latest}
        status["latestCreatedRevisionName"] = latest
        status["traffic"] = [
            {"revisionName": t.get("revisionName", latest), **t} for t in obj["traffic"]
        ]
    elif kind == "brokers":
        meta["annotations"] = {"eventing.knative.dev/broker.class": obj["class"]}
        spec = {k: v for k, v in (("config", obj["config"]), ("delivery", obj["delivery"])) if v}
        status["address"] = {"url": f"http://broker-ingress.{ns}.svc.cluster.local/{ns}/{name}"}
    elif kind == "triggers":
        spec = {"broker": obj["broker"], "subscriber": obj["sink"]}
        if obj["filter"]:
            spec["filter"] = {"attributes": obj["filter"]}
    else:
        spec = {k: v for k, v in obj.items() if k != "ceOverrides"}
    return {
        "apiVersion": API_VERSION[kind],
        "kind": KINDS[kind][0],
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def _list(cluster: Cluster, inv: Invocation, kind: str, label: str, out: Out) -> None:
    ns = _namespace(inv)
    spaces = sorted(cluster.state[kind]) if inv.parsed.is_true("all-namespaces") else [ns]
    rows = [(s, n) for s in spaces for n in sorted(cluster.objects(kind, s))]
    if inv.parsed.args[:1] and kind == "services":
        rows = [r for r in rows if r[1] == inv.parsed.args[0]]
    if not rows and not inv.parsed.has("output"):
        out(f"No {label} found.")
        return
    out("NAMESPACE  NAME" if inv.parsed.is_true("all-namespaces") else "NAME")
    for space, name in rows:
        out(f"{space}  {name}" if inv.parsed.is_true("all-namespaces") else name)


def _delete(cluster: Cluster, inv: Invocation, kind: str, message: str, out: Out) -> None:
    args = inv.parsed.args
    ns = _namespace(inv)
    everything = inv.parsed.is_true("all")
    if (not args and not everything) or (kind != "services" and len(args) != 1):
        raise KnError(message)
    names = sorted(cluster.objects(kind, ns)) if everything else args
    errors = []
    for name in names:
        try:
            cluster.get(kind, ns, name)
        except KnError as exc:
            errors.append(str(exc))
            continue
        del cluster.objects(kind, ns)[name]
        out(DELETED[kind].format(name=name, ns=ns))
    if errors and kind == "services":
        raise KnError("Error: " + "\nError: ".join(errors))
    if errors and kind == "brokers":
        raise KnError(f"cannot delete broker '{names[0]}' in namespace '{ns}' because: {errors[0]}")
    if errors:
        raise KnError(errors[0])


def revision_cmd(cluster: Cluster, inv: Invocation, out: Out) -> None:
    ns = _namespace(inv)
    owners = {r: n for n, s in cluster.objects("services", ns).items() for r in s["revisions"]}
    verb = inv.path.split()[-1]
    if verb == "list":
        wanted = inv.parsed.get("service")
        rows = [r for r, n in sorted(owners.items()) if not wanted or n == wanted]
        if inv.parsed.args:
            rows = [r for r in rows if r == inv.parsed.args[0]]
        out(
            "\n".join(["NAME  SERVICE", *(f"{r}  {owners[r]}" for r in rows)])
            if rows
            else "No revisions found."
        )
        return
    if not inv.parsed.args:
        raise KnError(
            f"'kn revision {verb}' requires "
            + (
                "name of the revision as single argument"
                if verb == "describe"
                else "one or more revision name"
            )
        )
    errors = []
    for name in inv.parsed.args if verb == "delete" else inv.parsed.args[:1]:
        if name not in owners:
            errors.append(f"revisions.serving.knative.dev {goq(name)} not found")
        elif verb == "describe":
            out(f"Name:       {name}\nNamespace:  {ns}\nService:    {owners[name]}")
        else:
            cluster.objects("services", ns)[owners[name]]["revisions"].remove(name)
            out(f"Revision '{name}' deleted in namespace '{ns}'.")
    if errors:
        raise KnError(errors[0] if verb == "describe" else "Error: " + "\nError: ".join(errors))


def broker_create(cluster: Cluster, inv: Invocation, out: Out) -> None:
    p, ns, name = _one_name(
        inv, "'broker create' requires the broker name given as single argument"
    )
    delivery = _delivery(cluster, p, ns, {})
    config = None
    if p.has("broker-config"):
        if not p.has("class"):
            raise KnError("cannot set broker-config without setting class")
        config = _broker_config(p.get("broker-config"))
    obj = {"class": p.get("class"), "config": config, "delivery": delivery}
    try:
        cluster.put("brokers", ns, name, obj, create=True)
    except KnError as exc:
        raise KnError(f"cannot create broker '{name}' in namespace '{ns}' because: {exc}") from None
    out(f"Broker '{name}' successfully created in namespace '{ns}'.")


def _broker_config(text: str) -> Obj:
    """kn's ConfigFlags.GetBrokerConfigReference."""
    known = {"cm": ("v1", "ConfigMap"), "configmap": ("v1", "ConfigMap"), "sc": ("v1", "Secret")}
    known |= {"secret": ("v1", "Secret")}
    known |= {
        k: ("rabbitmq.com/v1beta1", "RabbitmqCluster")
        for k in ("rabbitmqcluster", "rabbitmq", "rmq")
    }
    parts = text.split(":", 3)
    if len(parts) == 1:
        return {"apiVersion": "v1", "kind": "ConfigMap", "name": parts[0]}
    api, kind = known.get(parts[0].lower(), ("", parts[0]))
    if len(parts) == 2:
        if not api:
            raise KnError(
                f"APIVersion could not be determined for kind {goq(parts[0])}. Provide config in "
                'format: "<apiVersion>:<kind>:<name>:<namespace>"'
            )
        return {"apiVersion": api, "kind": kind, "name": parts[1]}
    if len(parts) == 3:
        if not api:
            return {"apiVersion": parts[0], "kind": parts[1], "name": parts[2]}
        return {"apiVersion": api, "kind": kind, "name": parts[1], "namespace": parts[2]}
    return {"apiVersion": parts[0], "kind": parts[1], "name": parts[2], "namespace": parts[3]}


def _delivery(cluster: Cluster, p: Parsed, ns: str, current: Obj) -> Obj:
    delivery = dict(current)
    if p.get("dl-sink"):
        delivery["deadLetterSink"] = resolve_sink(cluster, p.get("dl-sink"), ns)
    keys = {"retry": "retry", "timeout": "timeout", "backoff-policy": "backoffPolicy"}
    keys |= {"backoff-delay": "backoffDelay", "retry-after-max": "retryAfterMax"}
    for flag, key in keys.items():
        if p.has(flag):
            delivery[key] = int(p.get(flag), 0) if flag == "retry" else p.get(flag)
    return delivery


def broker_update(cluster: Cluster, inv: Invocation, out: Out) -> None:
    p, ns, name = _one_name(
        inv, "'broker update' requires the broker name given as single argument"
    )
    current = cluster.get("brokers", ns, name)
    obj = {**current, "delivery": _delivery(cluster, p, ns, current.get("delivery") or {})}
    cluster.put("brokers", ns, name, obj, create=False)
    out(f"Broker '{name}' updated in namespace '{ns}'.")


def trigger_create(cluster: Cluster, inv: Invocation, out: Out) -> None:
    p, ns, name = _one_name(inv, "'trigger create' requires the name of the trigger")
    try:
        sink = resolve_sink(cluster, p.get("sink"), ns)
    except KnError as exc:
        raise KnError(
            f"cannot create trigger '{name}' in namespace '{ns}' because: {exc}"
        ) from None
    try:
        filters = _pairs(p.all("filter"), "--filter")
    except KnError as exc:
        raise KnError(f"cannot create trigger '{name}' because {exc}") from None
    obj = {"broker": p.get("broker", "default"), "filter": filters, "sink": sink}
    try:
        cluster.put("triggers", ns, name, obj, create=True)
    except KnError as exc:
        raise KnError(
            f"cannot create trigger '{name}' in namespace '{ns}' because: {exc}"
        ) from None
    out(f"Trigger '{name}' successfully created in namespace '{ns}'.")


def trigger_update(cluster: Cluster, inv: Invocation, out: Out) -> None:
    p, ns, name = _one_name(inv, "name of trigger required")
    current = cluster.get("triggers", ns, name)
    obj = dict(current)
    if p.has("filter"):
        try:
            obj["filter"] = _edit(current.get("filter") or {}, p.all("filter"), "--filter")
        except KnError as exc:
            raise KnError(f"cannot update trigger '{name}' because {exc}") from None
    if p.has("sink"):
        obj["sink"] = resolve_sink(cluster, p.get("sink"), ns)
    cluster.put("triggers", ns, name, obj, create=False)
    out(f"Trigger '{name}' updated in namespace '{ns}'.")


def ping_write(cluster: Cluster, inv: Invocation, out: Out) -> None:
    create = inv.path.endswith("create")
    p, ns, name = _one_name(
        inv,
        "requires the name of the Ping source to create as single argument"
        if create
        else "name of Ping source required",
    )
    current = {} if create else cluster.get("pingsources", ns, name)
    obj = dict(current)
    if create or p.has("sink"):
        obj["sink"] = resolve_sink(cluster, p.get("sink"), ns)
    for flag in ("schedule", "data", "encoding"):
        if p.has(flag) or create:
            obj[flag] = p.get(flag)
    if p.has("ce-override"):
        obj["ceOverrides"] = _edit(
            current.get("ceOverrides") or {}, p.all("ce-override"), "--ce-override"
        )
    try:
        cluster.put("pingsources", ns, name, obj, create=create)
    except KnError as exc:
        if not create:
            raise
        raise KnError(
            f"cannot create PingSource {goq(name)} in namespace {goq(ns)} because: {exc}"
        ) from None
    out(f"Ping source '{name}' {'created' if create else 'updated'} in namespace '{ns}'.")


def version(cluster: Cluster | None, inv: Invocation, out: Out) -> None:
    tag = str(SPEC.data["provenance"]["tag"]).removeprefix("knative-")
    commit = str(SPEC.data["provenance"]["commit"])[:8]
    out(f"Version:      {tag} (fake)\nBuild Date:   \nGit Revision: {commit}")


Runner = Callable[[Cluster, Invocation, Out], None]


def _kind_cmd(kind: str, label: str, describe_msg: str, delete_msg: str) -> dict[str, Runner]:
    return {
        "describe": lambda c, i, o: _describe(c, i, kind, describe_msg, o),
        "list": lambda c, i, o: _list(c, i, kind, label, o),
        "delete": lambda c, i, o: _delete(c, i, kind, delete_msg, o),
    }


def _runners() -> dict[str, Runner]:
    runners: dict[str, Runner] = {
        "service apply": service_apply,
        "service create": service_create,
        "service update": service_update,
        "broker create": broker_create,
        "broker update": broker_update,
        "trigger create": trigger_create,
        "trigger update": trigger_update,
        "source ping create": ping_write,
        "source ping update": ping_write,
        "revision list": revision_cmd,
        "revision describe": revision_cmd,
        "revision delete": revision_cmd,
    }
    for group, kind, label in (
        ("service", "services", "services"),
        ("broker", "brokers", "brokers"),
        ("trigger", "triggers", "triggers"),
        ("source ping", "pingsources", "Ping sources"),
    ):
        for verb, run in _kind_cmd(
            kind,
            label,
            SPEC.commands[f"{group} describe"].get("args_error", ""),
            SPEC.commands[f"{group} delete"].get("args_error", ""),
        ).items():
            runners[f"{group} {verb}"] = run
    return runners


SPEC = Spec.load()


# -- entry points ------------------------------------------------------------------------------
def _help(path: str) -> str:
    """A short usage text (kn's own help is longer; only the flag list is kept)."""
    if SPEC.is_group(path):
        subs = ", ".join(SPEC.subcommands(path))
        return f"Usage:\n  {' '.join([ROOT, *path.split()])} [command]\n\nCommands: {subs}"
    usage = " ".join([ROOT, *path.split(), *SPEC.commands[path]["use"].split()[1:]])
    lines = [f"Usage:\n  {usage} [flags]", "", "Flags:"]
    flags = SPEC.leaf_flags(path)
    for flag in sorted(flags, key=lambda f: f.name):
        short = f"-{flag.shorthand}, " if flag.shorthand else "    "
        lines.append(f"  {short}--{flag.name}" + (f" {flag.type}" if flag.takes_value else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get(LOG_ENV):
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            log.write(json.dumps(args) + "\n")
    try:
        inv = resolve(SPEC, args)
        if inv.help:
            print(_help(inv.path))
            return 0
        if inv.path == "version":
            version(None, inv, print)
            return 0
        state = os.environ.get(STATE_ENV)
        if not state:
            raise NotModelled(f"{STATE_ENV} is not set: the fake has no cluster to talk to")
        cluster = Cluster(Path(state))
        _runners()[inv.path](cluster, inv, print)
        cluster.save()
        return 0
    except KnError as exc:
        message = re.sub(r"(?i)^error:\s*", "", str(exc), count=1)
        found = re.search(rf"'({ROOT}\s.+?)'", message)
        print(f"Error: {message}", file=sys.stderr)
        print(f"Run '{found[1] if found else ROOT} --help' for usage", file=sys.stderr)
        return 1
    except NotModelled as exc:
        print(f"fake kn: {exc}", file=sys.stderr)
        return 2


def install(bin_dir: Path) -> Path:
    """Write bin_dir/kn: a shell shim that runs this file with this Python."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "kn"
    here = shlex.quote(str(Path(__file__).resolve()))
    shim.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {here} "$@"\n', encoding="utf-8"
    )
    shim.chmod(0o755)
    return shim


if __name__ == "__main__":
    sys.exit(main())
