"""PATCH /api/categories/{id} (issue 18) on the real PostgreSQL: the catalogue's HTTP
functions served by `shared.http` as main.py serves them (tokens checked, problem+json),
each connected as the catalog role, so the grants and the migration are the real ones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.catalog import api
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.http import HttpFunction, Route
from shared.runtime import Runtime
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

ISSUER, AUDIENCE = "acougue-auth", "acougue"
TOKENS = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900
)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
STOCK = Principal(user_id=str(uuid.uuid4()), username="zeca", role=Role.ESTOQUISTA)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
ROUTES = {
    "create-category": api.create_category_routes,
    "update-category": api.update_category_routes,
    "create-product": api.create_product_routes,
    "update-product": api.update_product_routes,
    "catalog-query": api.query_routes,
}


def _asgi(fn: HttpFunction) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


@dataclass
class Catalog:
    runtimes: dict[str, Runtime]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def call(
        self, function: str, method: str, path: str, who: Principal = ADMIN, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {TOKENS.issue(who).token}"}
        return await self.clients[function].request(method, path, headers=headers, **kwargs)

    async def category(self, name: str | None = None) -> dict[str, Any]:
        body = {"name": name or f"Cat {uuid.uuid4().hex[:8]}"}
        answer = await self.call("create-category", "POST", "/api/categories", json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def patch(self, category_id: str, who: Principal = ADMIN, **body: Any) -> httpx.Response:
        return await self.call(
            "update-category", "PATCH", f"/api/categories/{category_id}", who, json=body
        )

    async def product(self, category_id: str | None) -> httpx.Response:
        body = {"name": f"Prod {uuid.uuid4().hex[:8]}", "unit": "kg", "price_cents": 100}
        if category_id:
            body["category_id"] = category_id
        return await self.call("create-product", "POST", "/api/products", json=body)

    async def listed(self) -> dict[str, dict[str, Any]]:
        answer = await self.call("catalog-query", "GET", "/api/categories", SELLER)
        assert answer.status_code == 200, answer.text
        return {c["id"]: c for c in answer.json()["items"]}

    async def events(self, category_id: str) -> list[tuple[str, dict[str, Any]]]:
        pool = await self.runtimes["update-category"].pool.get()
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT event_type, data FROM outbox WHERE aggregate_id = %s ORDER BY id",
                    (category_id,),
                )
            ).fetchall()
        return [(r["event_type"].removeprefix("com.acougue."), r["data"]) for r in rows]


@pytest.fixture(scope="module")
async def catalog(database: ProvisionedDatabase) -> AsyncIterator[Catalog]:
    runtimes: dict[str, Runtime] = {}
    domain = Catalog(runtimes)
    for name, routes in ROUTES.items():
        runtime = function_runtime(
            database, "catalog", name.replace("-", "_"), k_sink=None, event_authentication="off"
        )
        runtime.verifier = TokenVerifier(
            StaticKeys(TOKENS.jwks()), issuer=ISSUER, audience=AUDIENCE
        )
        runtimes[name] = runtime
        fn = HttpFunction(runtime, routes())
        domain.clients[name] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_asgi(fn)), base_url="http://catalog"
        )
    try:
        yield domain
    finally:
        for client in domain.clients.values():
            await client.aclose()
        for runtime in runtimes.values():
            await runtime.pool.close()


@pytest.mark.parametrize(("who", "status"), [(ADMIN, 200), (STOCK, 200), (SELLER, 403)])
async def test_admins_and_stock_keepers_may_change_a_category_sellers_may_not(
    catalog: Catalog, who: Principal, status: int
) -> None:
    category = await catalog.category()
    answer = await catalog.patch(category["id"], who, name=category["name"] + " x")
    assert answer.status_code == status, answer.text
    expected = category["name"] + (" x" if status == 200 else "")
    assert (await catalog.listed())[category["id"]]["name"] == expected


async def test_a_rename_changes_the_name_and_publishes_category_updated(catalog: Catalog) -> None:
    category = await catalog.category()
    answer = await catalog.patch(category["id"], name="  Suínos nobres  ")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": category["id"], "name": "Suínos nobres", "active": True}
    assert await catalog.events(category["id"]) == [
        ("category.created", {"category_id": category["id"], "name": category["name"]}),
        (
            "category.updated",
            {
                "category_id": category["id"],
                "name": "Suínos nobres",
                "active": True,
                "changed": ["name"],
            },
        ),
    ]


async def test_a_patch_that_changes_nothing_publishes_nothing(catalog: Catalog) -> None:
    category = await catalog.category()
    answer = await catalog.patch(category["id"], name=category["name"], active=True)
    assert answer.status_code == 200, answer.text
    assert [t for t, _ in await catalog.events(category["id"])] == ["category.created"]


async def test_a_rename_to_another_categorys_name_in_any_case_is_409(catalog: Catalog) -> None:
    taken = await catalog.category()
    mine = await catalog.category()
    answer = await catalog.patch(mine["id"], name=taken["name"].upper())
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await catalog.listed())[mine["id"]]["name"] == mine["name"]
    assert [t for t, _ in await catalog.events(mine["id"])] == ["category.created"]
    # Its own name in another case is a rename, not a conflict.
    again = await catalog.patch(mine["id"], name=mine["name"].upper())
    assert again.status_code == 200, again.text


async def test_an_unknown_category_is_404(catalog: Catalog) -> None:
    answer = await catalog.patch(str(uuid.uuid4()), active=False)
    assert answer.status_code == 404, answer.text


@pytest.mark.parametrize("body", [{}, {"name": None}, {"active": None}, {"colour": "red"}])
async def test_an_empty_or_null_patch_is_refused(catalog: Catalog, body: dict[str, Any]) -> None:
    category = await catalog.category()
    answer = await catalog.patch(category["id"], **body)
    assert answer.status_code == 422, answer.text


async def test_an_inactive_category_takes_no_new_product_and_no_product_moves_in(
    catalog: Catalog,
) -> None:
    category = await catalog.category()
    inside = await catalog.product(category["id"])
    assert inside.status_code == 201, inside.text
    outside = await catalog.product(None)
    assert outside.status_code == 201, outside.text

    answer = await catalog.patch(category["id"], active=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is False
    assert (await catalog.listed())[category["id"]]["active"] is False
    assert (await catalog.events(category["id"]))[-1] == (
        "category.updated",
        {
            "category_id": category["id"],
            "name": category["name"],
            "active": False,
            "changed": ["active"],
        },
    )

    refused = await catalog.product(category["id"])
    assert refused.status_code == 422, refused.text
    assert "inactive" in refused.json()["detail"]
    moved = await catalog.call(
        "update-product",
        "PATCH",
        f"/api/products/{outside.json()['id']}",
        json={"category_id": category["id"]},
    )
    assert moved.status_code == 422, moved.text
    # What is already in it stays, and may still be changed.
    kept = await catalog.call(
        "update-product",
        "PATCH",
        f"/api/products/{inside.json()['id']}",
        json={"price_cents": 250},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["category_id"] == category["id"]

    back = await catalog.patch(category["id"], active=True)
    assert back.status_code == 200, back.text
    assert (await catalog.product(category["id"])).status_code == 201


async def test_a_product_in_an_unknown_category_is_422(catalog: Catalog) -> None:
    answer = await catalog.product(str(uuid.uuid4()))
    assert answer.status_code == 422, answer.text


def test_each_function_serves_its_own_endpoints_only() -> None:
    served: dict[str, list[Route]] = {name: routes() for name, routes in ROUTES.items()}
    for name, routes in served.items():
        assert {r.endpoint.function for r in routes} == {name}
