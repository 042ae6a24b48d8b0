"""What the cluster tests read: every YAML document, the schemas, the versions file."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from deploy.plan import Document

REPO = Path(__file__).resolve().parents[2]
# ../shared/k8s-schemas beside the checkout (CI has a copy of shared/ at the same place).
SCHEMAS = REPO.parent / "shared" / "k8s-schemas"
MANIFEST_FOLDERS = ("knative", "eventing", "deploy")
NAMESPACE = "acougue-system"
# API groups whose kinds are Kubernetes' own (validated by kubernetes-validate).
CORE_GROUPS = {"", "apps", "batch", "policy", "autoscaling"}
# Files that are configuration of a tool, not objects sent to the API server.
TOOL_KINDS = {
    ("kind.x-k8s.io", "Cluster"),
    ("kustomize.config.k8s.io", "Kustomization"),
}
CLUSTER_URL = re.compile(r"http://([a-z0-9-]+)\." + NAMESPACE + r"\.svc\.cluster\.local")


@dataclass(frozen=True)
class Doc(Document):
    """A document of a manifest (deploy.plan's reading: kind, apiVersion, group, name), the
    INDEXth of its file."""

    index: int

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def namespace(self) -> str | None:
        value = self.body.get("metadata", {}).get("namespace")
        return None if value is None else str(value)

    @property
    def rel(self) -> str:
        return self.path.relative_to(REPO).as_posix()

    @property
    def id(self) -> str:
        return f"{self.rel}#{self.index}:{self.kind}/{self.name}"

    @property
    def is_core(self) -> bool:
        return not self.is_tool and (self.group in CORE_GROUPS or self.group.endswith(".k8s.io"))

    @property
    def is_tool(self) -> bool:
        return (self.group, self.kind) in TOOL_KINDS

    def schema_path(self) -> Path:
        """Where ../shared/k8s-schemas keeps this custom resource's schema."""
        return SCHEMAS / self.group / f"{self.kind.lower()}_{self.version}.json"


def yaml_files(folders: tuple[str, ...] = MANIFEST_FOLDERS) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        found += [p for p in (REPO / folder).rglob("*") if p.suffix in (".yaml", ".yml")]
    return sorted(found)


@cache
def documents() -> tuple[Doc, ...]:
    """Every YAML document under knative/, eventing/ and deploy/."""
    docs: list[Doc] = []
    for path in yaml_files():
        for index, body in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if body is not None:
                assert isinstance(body, dict), f"{path}#{index}: not a mapping"
                docs.append(Doc(path, body, index))
    return tuple(docs)


def of_kind(kind: str, group: str | None = None) -> list[Doc]:
    return [d for d in documents() if d.kind == kind and (group is None or d.group == group)]


def knative_services() -> list[Doc]:
    return [
        d
        for d in of_kind("Service", "serving.knative.dev")
        if d.rel.startswith(("knative/", "eventing/"))
    ]


def container(doc: Doc) -> dict[str, Any]:
    containers = doc.body["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{doc.id}: one container per function"
    value: dict[str, Any] = containers[0]
    return value


def env_of(doc: Doc) -> dict[str, dict[str, Any]]:
    return {str(var["name"]): var for var in container(doc).get("env", [])}


@cache
def versions() -> dict[str, str]:
    """deploy/versions.env as a dict (the same KEY=value lines the scripts source)."""
    found: dict[str, str] = {}
    for raw in (REPO / "deploy" / "versions.env").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"versions.env: not KEY=value: {raw!r}"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"versions.env: bad key {raw!r}"
        assert re.fullmatch(r"[\w.:/@-]+", value), f"versions.env: {key} needs no quoting"
        found[key] = value
    return found


@dataclass(frozen=True)
class CodeFunction:
    """A functions-framework target: a decorated function in functions/<domain>/main.py."""

    domain: str
    target: str
    source: str


FRAMEWORK_DECORATORS = {
    "functions_framework.aio.http",
    "functions_framework.aio.cloud_event",
    "functions_framework.http",
    "functions_framework.cloud_event",
}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def code_functions() -> list[CodeFunction]:
    """Every target in the code: decorated with functions_framework's http / cloud_event."""
    found: list[CodeFunction] = []
    for main in sorted((REPO / "functions").glob("*/main.py")):
        tree = ast.parse(main.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if any(_dotted(d) in FRAMEWORK_DECORATORS for d in node.decorator_list):
                found.append(
                    CodeFunction(main.parent.name, node.name, main.relative_to(REPO).as_posix())
                )
    return found


def settings_modules(package: Path) -> list[str]:
    """Modules of a package that build a settings object when imported (`x = YSettings()`)."""
    modules: list[str] = []
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _dotted(node.value.func).endswith("Settings")
            ):
                modules.append(".".join(path.relative_to(REPO).with_suffix("").parts))
                break
    return modules


def environ_names_in_code() -> set[str]:
    """Names the code reads straight from the environment (os.environ / os.getenv)."""
    names: set[str] = set()
    for path in [*REPO.joinpath("shared").rglob("*.py"), *REPO.joinpath("functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and _dotted(node.func) in (
                "os.environ.get",
                "os.getenv",
                "environ.get",
            ):
                key = node.args[0] if node.args else None
            elif isinstance(node, ast.Subscript) and _dotted(node.value) == "os.environ":
                key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def iter_cluster_urls(value: str) -> Iterator[str]:
    """Knative Service names in http://NAME.acougue-system.svc.cluster.local URLs."""
    for match in CLUSTER_URL.finditer(value):
        yield match.group(1)
