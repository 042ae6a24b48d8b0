"""The one declaration of each endpoint (shared/contracts/endpoints.py) is what the gateway,
the functions and the OpenAPI document serve, and its roles are DESIGN.md's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from shared.auth.principal import Role
from shared.auth.tokens import generate_private_key_pem
from shared.contracts import endpoints as api
from shared.contracts.endpoints import ENDPOINTS, GATEWAY_UPSTREAMS, PUBLIC_ENDPOINTS, Endpoint
from shared.http import HttpFunction, RequestContext, Route
from shared.runtime import Runtime
from tests.support.components import require_file

REPO = Path(__file__).resolve().parents[2]
DESIGN = REPO.parent / "shared" / "DESIGN.md"
DOMAINS = ("auth", "catalog", "customers", "inventory", "sales", "finance", "platform")

# DESIGN.md's words in the "who" column, as role sets (None: no access token asked).
_WHO = {
    "anyone": None,
    "holder of the refresh cookie": None,
    "any user": api.ANY_USER,
    "all": api.ANY_USER,
    "admin": api.ADMIN,
    "admin, estoquista": api.STOCK_KEEPERS,
    "admin; vendedor (own)": api.SELLERS,
    "admin, vendedor": api.SELLERS,
}


def _shape(path: str) -> str:
    """A path with its parameters unnamed: `/api/sales/{}`."""
    return re.sub(r"{[^}]*}", "{}", path.split("?")[0])


def _design_roles() -> dict[str, frozenset[Role] | None]:
    """(method path shape) -> roles, from DESIGN.md's "The HTTP API" table."""
    text = require_file(DESIGN, "DESIGN.md, the project's reference material").read_text(
        encoding="utf-8"
    )
    table = text.split("## The HTTP API", 1)[1].split("\n## ", 1)[0]
    found: dict[str, frozenset[Role] | None] = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        who = cells[1]
        for methods, path in re.findall(r"`([A-Z/]+) (/[^`]*)`", cells[0]):
            for method in methods.split("/"):
                if who.startswith("read: all; write: "):
                    roles = api.ANY_USER if method == "GET" else _WHO[who.split(": ")[-1]]
                else:
                    roles = _WHO[who]
                found[f"{method} {_shape(path)}"] = roles
    return found


# Where a later issue changed DESIGN.md's "who" (the reference material is not ours to edit):
# issue 17 lets a vendedor cancel their own unpaid sale; cancel-sale checks the rest.
CHANGED_BY_ISSUES: dict[str, frozenset[Role] | None] = {
    "POST /api/sales/{}/cancel": api.SELLERS,
}


def test_the_roles_declared_are_design_mds() -> None:
    design = {**_design_roles(), **CHANGED_BY_ISSUES}
    declared = {f"{e.method} {_shape(e.path)}": e.roles for e in PUBLIC_ENDPOINTS}
    probes = {"GET /healthz", "GET /readyz"}
    assert len(design) > 25
    assert set(design) - probes <= set(declared), "DESIGN.md names an endpoint not declared"
    wrong = {k: (declared[k], v) for k, v in design.items() if k not in probes and declared[k] != v}
    assert not wrong, wrong


def test_each_endpoint_is_declared_once() -> None:
    keys = [e.key for e in ENDPOINTS]
    assert len(keys) == len(set(keys))


# Run apart: a function's module configures logging and reads its settings when imported.
_SERVED = """
import importlib, json, sys
from shared.http import HttpFunction
served = {}
for domain in sys.argv[1:]:
    module = importlib.import_module(f"functions.{domain}.main")
    for value in vars(module).values():
        if isinstance(value, HttpFunction):
            for route in value.routes:
                served.setdefault(route.endpoint.key, []).append(route.endpoint.function)
from functions.gateway.app import app
print(json.dumps({"served": served, "openapi": app.openapi()}))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, Any]:
    """The functions' route tables and the gateway's OpenAPI document, as imported by a
    process with the settings they ask for (nothing is contacted)."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "EVENT_AUTHENTICATION": "off",
        "FUNCTION_TARGET": "none",
        "AUTH_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        "AUTH_SIGNING_KEY": generate_private_key_pem(),
        "GATEWAY_SERVICES": json.dumps({n: f"http://127.0.0.1:9/{n}" for n in GATEWAY_UPSTREAMS}),
    }
    done = subprocess.run(
        [sys.executable, "-c", _SERVED, *DOMAINS],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_functions_serve_every_endpoint_once_and_no_other(imported: dict[str, Any]) -> None:
    assert imported["served"] == {e.key: [e.function] for e in ENDPOINTS}


def test_the_gateway_serves_every_public_endpoint_as_declared(imported: dict[str, Any]) -> None:
    documented = {
        f"{method.upper()} {path}": operation
        for path, operations in imported["openapi"]["paths"].items()
        for method, operation in operations.items()
    }
    assert set(documented) == {f"{e.method} {e.public_path}" for e in PUBLIC_ENDPOINTS}
    for endpoint in PUBLIC_ENDPOINTS:
        operation = documented[f"{endpoint.method} {endpoint.public_path}"]
        assert str(endpoint.status) in operation["responses"], endpoint.key
        assert ("requestBody" in operation) == (endpoint.body is not None), endpoint.key
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        expected = (
            {f.alias or n for n, f in endpoint.query.model_fields.items()}
            if endpoint.query
            else set()
        )
        assert names == expected, endpoint.key


async def _nothing(_: RequestContext) -> dict[str, str]:
    return {}


def test_one_http_function_serves_one_functions_endpoints() -> None:
    other = Endpoint("GET", "/x", "someone-else", None, "x", "x")
    with pytest.raises(ValueError, match="several functions"):
        HttpFunction(cast(Runtime, None), [Route(api.ME, _nothing), Route(other, _nothing)])
