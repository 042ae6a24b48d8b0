"""What kn 1.22 accepts (tests/k8s/upstream/kn-1.22.json), the scripts' kn calls, and the fake kn.

The data file was read from knative/client at the pinned tag; these tests check that it says so,
that every `kn` call the cluster scripts make uses a command and flags kn has at that tag, and
that tests/k8s/fake_kn.py refuses what kn refuses and keeps kn's client-side rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.k8s import fake_cluster, fake_kn
from tests.k8s.support import REPO, versions
from tests.k8s.test_scripts import _bare_path, commands, run_script

DATA_FILE = REPO / "tests" / "k8s" / "upstream" / "kn-1.22.json"
DATA: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
COMMANDS = {
    *(f"service {v}" for v in ("create", "apply", "update", "describe", "list", "delete")),
    *(f"revision {v}" for v in ("list", "describe", "delete")),
    *(f"broker {v}" for v in ("create", "update", "describe", "list", "delete")),
    *(f"trigger {v}" for v in ("create", "update", "describe", "list", "delete")),
    *(f"source ping {v}" for v in ("create", "update", "describe", "list", "delete")),
    "version",
}
# The scripts' dry runs: every kn command they print.
DRY_RUNS = (
    ("kind-setup.sh", "--dry-run", "up"),
    ("kind-setup.sh", "--dry-run", "status"),
    ("deploy/kn-deploy.sh", "--dry-run", "--tag", "t", "all"),
    ("deploy/kn-deploy.sh", "--dry-run", "--tag", "t", "create-product"),
    ("deploy/rollback.sh", "--dry-run", "create-product"),
    ("deploy/rollback.sh", "--dry-run", "create-product", "--latest"),
)


# -- an independent reading of the data (not the fake's parser) --------------------------------
def _flag_table(flags: list[dict[str, Any]]) -> tuple[dict[str, bool], dict[str, str]]:
    longs = {str(f["name"]): bool(f["takes_value"]) for f in flags}
    shorts = {str(f["shorthand"]): str(f["name"]) for f in flags if f["shorthand"]}
    return longs, shorts


GLOBAL_LONG, GLOBAL_SHORT = _flag_table(DATA["global_flags"])
PREFIXES = {" ".join(c.split()[:n]) for c in DATA["commands"] for n in range(1, len(c.split()) + 1)}


def problems(argv: list[str]) -> list[str]:
    """What kn 1.22 would refuse in `kn ARGV`: an unknown command or flag, a missing value."""
    words: list[str] = []
    i = 0
    while i < len(argv) and " ".join(words) not in DATA["commands"]:
        arg = argv[i]
        i += 1
        if arg.startswith("--"):
            name, eq, _ = arg[2:].partition("=")
            if name not in GLOBAL_LONG:
                return [f"--{name} before the command: not a global flag"]
            i += 1 if GLOBAL_LONG[name] and not eq else 0
        elif arg.startswith("-"):
            return [f"{arg} before the command"]
        else:
            words.append(arg)
            if " ".join(words) not in PREFIXES:
                break
    path = " ".join(words)
    if path not in DATA["commands"]:
        return [f"no command 'kn {path}' at {DATA['provenance']['tag']}"]
    longs, shorts = _flag_table(DATA["commands"][path]["flags"] + DATA["global_flags"])
    found = []
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue
        if arg.startswith("--"):
            name, eq, _ = arg[2:].partition("=")
        else:
            name, eq = shorts.get(arg[1], ""), "=" if len(arg) > 2 else ""
            if not name:
                found.append(f"'kn {path}' has no flag {arg[:2]}")
                continue
        if name not in longs:
            found.append(f"'kn {path}' has no flag --{name}")
        elif longs[name] and not eq:
            if i >= len(argv):
                found.append(f"--{name} needs a value")
            i += 1
    return found


def kn_calls(output: str) -> list[list[str]]:
    return [cmd[1:] for cmd in commands(output) if cmd and cmd[0] == "kn"]


def report(calls: list[list[str]]) -> str:
    bad = {" ".join(["kn", *c]): problems(c) for c in calls}
    return "\n".join(f"{cmd}\n    -> {'; '.join(why)}" for cmd, why in bad.items() if why)


# -- (a) the data and where it came from -----------------------------------------------------------
def test_the_data_names_the_upstream_tag_and_commit_it_was_read_from() -> None:
    prov = DATA["provenance"]
    assert prov["repository"] == "knative/client"
    assert re.fullmatch(r"knative-v1\.22\.\d+", prov["tag"]), prov["tag"]
    assert re.fullmatch(r"[0-9a-f]{40}", prov["commit"]), prov["commit"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prov["extracted_on"])
    assert prov["method"]
    assert prov["docs_cross_check"] == "all commands equal"
    assert prov["files"], "no source file named"
    assert all(f.startswith(("pkg/", "cmd/", "docs/")) for f in prov["files"])
    # The client's minor version is the one the cluster runs.
    minor = prov["tag"].removeprefix("knative-v").rsplit(".", 1)[0]
    assert versions()["KNATIVE_SERVING_VERSION"].startswith(minor + ".")
    assert versions()["KNATIVE_EVENTING_VERSION"].startswith(minor + ".")


def test_the_data_covers_the_commands_and_says_where_each_flag_is_registered() -> None:
    assert set(DATA["commands"]) == COMMANDS
    files = set(DATA["provenance"]["files"])
    for name, command in DATA["commands"].items():
        assert command["args"], name
        assert command["flags"], name
        for flag in command["flags"]:
            assert re.fullmatch(r"[a-z][a-z0-9-]*", flag["name"]), (name, flag)
            assert flag["shorthand"] is None or re.fullmatch(r"[a-zA-Z]", flag["shorthand"])
            assert isinstance(flag["takes_value"], bool)
            assert flag["takes_value"] == (flag["type"] != "bool"), (name, flag)
            assert flag["source"] in files or flag["source"].startswith("k8s.io/cli-runtime@")
    for needed in ("context", "cluster", "kubeconfig", "config", "log-http", "as", "as-group"):
        assert needed in GLOBAL_LONG, needed
    assert DATA["errors"]["unknown_flag"] == "unknown flag: --%s"
    assert DATA["errors"]["unknown_shorthand"] == "unknown shorthand flag: %q in -%s"
    assert DATA["errors"]["unknown_command"] == "unknown command %q for %q"


def test_the_flags_the_deploy_depends_on_are_where_kn_has_them() -> None:
    """The facts the scripts' design rests on, so a re-extraction that loses them fails here."""
    names = {c: {f["name"] for f in DATA["commands"][c]["flags"]} for c in DATA["commands"]}
    assert {"broker", "filter", "sink"} <= names["trigger create"]
    assert "broker" not in names["trigger update"], "kn cannot change a trigger's broker"
    delivery = {"dl-sink", "retry", "timeout", "backoff-policy", "backoff-delay", "retry-after-max"}
    assert delivery <= names["broker create"]
    assert delivery <= names["broker update"]
    assert {"class", "broker-config"} <= names["broker create"] - names["broker update"]
    assert {"filename", "image", "env", "label", "wait-timeout"} <= names["service apply"]
    assert {"traffic", "tag", "untag"} <= names["service update"] - names["service apply"]
    assert DATA["commands"]["trigger create"]["required_flags"] == ["sink"]


# -- (b) every kn call of the scripts is one kn 1.22 accepts -------------------------------------
@pytest.mark.parametrize("argv", DRY_RUNS, ids=" ".join)
def test_every_kn_call_a_dry_run_prints_exists_in_kn_1_22(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    done = run_script([str(REPO / argv[0]), *argv[1:]], tmp_path)
    calls = kn_calls(done.stdout)
    assert calls, f"the dry run printed no kn call:\n{done.stderr[-2000:]}"
    bad = report(calls)
    assert not bad, f"kn calls that kn {DATA['provenance']['tag']} refuses:\n{bad}"
    # Checked after the calls: a dry run that stops early has left some of them unchecked.
    assert done.returncode == 0, f"the dry run stopped early:\n{done.stderr[-2000:]}"


def _cluster_path(tmp: Path) -> tuple[dict[str, str], Path]:
    """A PATH with the fake kn, kubectl, kind and docker (tests/k8s/fake_cluster.py) and the
    scripts' utilities, on a cluster as kind-setup.sh leaves it before it deploys (images at
    the tags t1 and t2 loaded)."""
    bin_dir = tmp / "fake-bin"
    fake_cluster.install(bin_dir)
    state = tmp / "cluster.json"
    fake_cluster.bootstrap(state, tags=("t1", "t2"))
    log = tmp / "kn-calls.jsonl"
    env = {
        "PATH": f"{bin_dir}:{_bare_path(tmp / 'bin')}",
        fake_kn.STATE_ENV: str(state),
        fake_kn.LOG_ENV: str(log),
    }
    return env, log


def test_deploying_twice_against_the_fake_uses_only_kn_1_22_calls(tmp_path: Path) -> None:
    """A real run (no --dry-run) against the fake: the first run creates everything, the second
    finds it all and takes the 'exists' branches (kn trigger update, ...)."""
    env, log = _cluster_path(tmp_path)
    runs = [
        ("deploy/kn-deploy.sh", "--no-build", "--tag", "t1", "all"),
        ("deploy/kn-deploy.sh", "--no-build", "--tag", "t2", "all"),
    ]
    failed = []
    for argv in runs:
        done = run_script([str(REPO / argv[0]), *argv[1:]], tmp_path, env=env)
        if done.returncode != 0:
            failed.append(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-1500:]}")
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    verbs = {" ".join(c[2:4]) for c in calls}
    assert "service apply" in verbs, (verbs, failed)
    bad = report(calls)
    assert not bad, f"kn calls that kn {DATA['provenance']['tag']} refuses:\n{bad}"
    assert not failed, "\n".join(failed)


def test_the_independent_check_does_find_bad_calls() -> None:
    assert problems(["--context", "c", "trigger", "update", "x", "--broker", "default"]) == [
        "'kn trigger update' has no flag --broker"
    ]
    assert problems(["broker", "update", "default", "--class", "X"]) == [
        "'kn broker update' has no flag --class"
    ]
    assert problems(["service", "apply", "x", "-q"]) == ["'kn service apply' has no flag -q"]
    assert problems(["service", "apply", "x", "--image"]) == ["--image needs a value"]
    assert problems(["trigger", "move", "x"]) == [
        f"no command 'kn trigger move' at {DATA['provenance']['tag']}"
    ]
    assert problems(["--context", "c", "service", "apply", "x", "--image=i", "-n", "ns"]) == []


# -- (c) and (d): the fake -----------------------------------------------------------------------
Kn = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kn(tmp_path: Path) -> Kn:
    """`kn(*args)` through the installed shim, with a fresh cluster state."""
    shim = fake_kn.install(tmp_path / "bin")
    env = {
        **os.environ,
        fake_kn.STATE_ENV: str(tmp_path / "state.json"),
        fake_kn.LOG_ENV: str(tmp_path / "log.jsonl"),
    }
    env.pop(fake_kn.ADMISSION_ENV, None)

    def run(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(shim), *args],
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


def kn_error(message: str, hint: str = "kn") -> str:
    return f"Error: {message}\nRun '{hint} --help' for usage\n"


def test_the_fake_refuses_trigger_update_broker_as_kn_does(kn: Kn) -> None:
    done = kn("trigger", "update", "x", "--broker", "default")
    assert done.returncode == 1
    message = DATA["errors"]["unknown_flag"] % "broker" + " for 'kn trigger update'"
    assert done.stderr == kn_error(message, "kn trigger update")
    assert done.stdout == ""
    short = kn("--context", "c", "trigger", "update", "x", "-b", "default")
    assert short.returncode == 1
    assert short.stderr.startswith(
        "Error: unknown shorthand flag: 'b' in -b for 'kn trigger update'"
    )


def test_the_fake_creates_a_trigger_once_its_sink_service_exists(kn: Kn, tmp_path: Path) -> None:
    create = ("trigger", "create", "x", "--broker", "default", "--filter", "type=a")
    sink = ("--sink", "ksvc:y")
    missing = kn(*create, *sink)
    assert missing.returncode == 1
    assert missing.stderr == kn_error(
        "cannot create trigger 'x' in namespace 'default' because: "
        'services.serving.knative.dev "y" not found'
    )
    assert kn(*create).stderr == kn_error('required flag(s) "sink" not set')
    assert kn("service", "create", "y", "--image", "img").returncode == 0
    done = kn(*create, *sink)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Trigger 'x' successfully created in namespace 'default'.\n"
    state = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    trigger = state["triggers"]["default"]["x"]
    assert trigger["broker"] == "default"
    assert trigger["filter"] == {"type": "a"}
    assert trigger["sink"]["ref"]["name"] == "y"
    # update merges filters, `key-` removes one, and a value is split at commas (a string slice)
    assert (
        kn("trigger", "update", "x", "--filter", "type-", "--filter", "source=s,b=c").returncode
        == 0
    )
    state = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    assert state["triggers"]["default"]["x"]["filter"] == {"source": "s", "b": "c"}


@pytest.mark.parametrize(
    ("create", "resource"),
    [
        (("broker", "create", "b1", "-n", "ns"), "brokers.eventing.knative.dev"),
        (
            ("trigger", "create", "b1", "-n", "ns", "--sink", "https://x.example"),
            "triggers.eventing.knative.dev",
        ),
        (("service", "create", "b1", "-n", "ns", "--image", "i"), "services.serving.knative.dev"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else "",
)
def test_the_fake_refuses_a_second_create_and_a_describe_of_nothing(
    kn: Any, create: tuple[str, ...], resource: str
) -> None:
    kind = create[0]
    absent = kn(kind, "describe", "b1", "--namespace", "ns")
    assert absent.returncode == 1
    assert absent.stderr == kn_error(f'{resource} "b1" not found')
    assert kn(*create).returncode == 0
    assert kn(kind, "describe", "b1", "--namespace", "ns").returncode == 0
    again = kn(*create)
    assert again.returncode == 1
    exists = f'{resource} "b1" already exists'
    assert {
        "broker": kn_error(f"cannot create broker 'b1' in namespace 'ns' because: {exists}"),
        "trigger": kn_error(f"cannot create trigger 'b1' in namespace 'ns' because: {exists}"),
        "service": kn_error(
            "cannot create service 'b1' in namespace 'ns' because the service already exists "
            "and no --force option was given"
        ),
    }[kind] == again.stderr
    assert (
        kn(
            kind,
            "update",
            "nope",
            "-n",
            "ns",
            "--sink" if kind == "trigger" else "--wait-timeout",
            "1",
        ).returncode
        == 1
    )


def test_the_fake_parses_flags_as_pflag_does(kn: Kn) -> None:
    assert kn("service", "list", "--namespace").stderr == kn_error(
        "flag needs an argument: --namespace for 'kn service list'", "kn service list"
    )
    assert kn("service", "list", "-n").stderr == kn_error(
        "flag needs an argument: 'n' in -n for 'kn service list'", "kn service list"
    )
    assert kn("nosuch").stderr == kn_error('unknown command "nosuch" for "kn"')
    assert kn("service", "nosuch").stderr == kn_error(
        "unknown sub-command 'nosuch' for 'kn service'. Available sub-commands: apply, create, "
        "delete, describe, export, import, list, update, wait",
        "kn service",
    )
    assert kn("broker", "update", "b", "--retry", "five").stderr.startswith(
        'Error: invalid argument "five" for "--retry" flag: strconv.ParseInt'
    )
    assert kn("broker", "update", "b").stderr == kn_error("flag(s) not set\nUsage: update NAME")
    assert kn("service", "create", "s", "--image", "i", "--wait=false").stderr == kn_error(
        'use --no-wait instead of providing "false" to --wait'
    )
    # --flag=value, -fvalue, global flags before and after the command, ls alias
    for args in (
        ("--context=c", "service", "create", "s", "--image=i", "-nns", "--no-wait"),
        ("service", "ls", "--namespace", "ns", "--context", "c", "-o", "json"),
        ("--cluster", "k", "broker", "create", "b", "-n=ns", "--log-http"),
    ):
        done = kn(*args)
        assert done.returncode == 0, (args, done.stderr)
    assert "s" in kn("service", "list", "-n", "ns").stdout


def test_every_flag_in_the_data_is_accepted_by_the_fake() -> None:
    for path, command in DATA["commands"].items():
        for flag in command["flags"] + DATA["global_flags"]:
            if flag["name"] == "help":
                continue
            value = ["1"] if flag["takes_value"] else []
            inv = fake_kn.resolve(
                fake_kn.SPEC,
                [*path.split(), "x", f"--{flag['name']}", *value, "--sink", "s"]
                if "sink" in {f["name"] for f in command["flags"]}
                else [*path.split(), "x", f"--{flag['name']}", *value],
            )
            assert inv.path == path
            assert inv.parsed.has(flag["name"]) or flag["name"].startswith("no-")
        with pytest.raises(fake_kn.KnError, match="unknown flag: --no-such-flag"):
            fake_kn.resolve(fake_kn.SPEC, [*path.split(), "--no-such-flag"])


def test_the_fake_logs_every_call_and_asks_the_admission_hook(kn: Kn, tmp_path: Path) -> None:
    hook = tmp_path / "admission.py"
    hook.write_text(
        "def admit(kind, old, new):\n"
        "    if kind == 'Broker' and old is not None and old['config'] != new['config']:\n"
        "        return 'spec.config is immutable'\n"
        "    if kind == 'Broker' and old is not None and new['delivery'].get('retry') == 99:\n"
        "        return 'admission webhook denied the request: retry 99'\n"
        "    return None\n",
        encoding="utf-8",
    )
    extra = {fake_kn.ADMISSION_ENV: str(hook)}
    assert (
        kn(
            "broker", "create", "b", "--class", "C", "--broker-config", "cm:c", extra=extra
        ).returncode
        == 0
    )
    assert kn("broker", "update", "b", "--retry", "3", extra=extra).returncode == 0
    refused = kn("broker", "update", "b", "--retry", "99", extra=extra)
    assert refused.returncode == 1
    assert refused.stderr == kn_error("admission webhook denied the request: retry 99")
    logged = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text("utf-8").splitlines()]
    assert logged[-1] == ["broker", "update", "b", "--retry", "99"]
    assert len(logged) == 3


def test_the_shim_runs_the_fake_with_this_python(tmp_path: Path) -> None:
    shim = fake_kn.install(tmp_path / "bin")
    assert os.access(shim, os.X_OK)
    assert shutil.which("kn", path=str(shim.parent)) == str(shim)
    text = shim.read_text(encoding="utf-8")
    assert sys.executable in text
    assert "fake_kn.py" in text
    done = subprocess.run([str(shim), "version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert DATA["provenance"]["tag"].removeprefix("knative-") in done.stdout
