"""The inventory's HTTP functions (register-movement, inventory-query, suppliers) on the
test database, served by `shared.http` exactly as main.py serves them (tokens checked,
problem+json), publishing to a real recording sink: what test_suppliers and
test_inventory_import share."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.inventory import api, store
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.http import HttpFunction
from shared.runtime import Runtime
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase
from tests.support.servers import serve
from tests.support.sink import RecordingSink

ISSUER = "acougue-auth"
AUDIENCE = "acougue"
TOKENS = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900
)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
STOCK = Principal(user_id=str(uuid.uuid4()), username="zeca", role=Role.ESTOQUISTA)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
PROBLEM = "application/problem+json"
ROUTES = {
    "register-movement": api.register_routes,
    "inventory-query": api.query_routes,
    "suppliers": api.supplier_routes,
}


def valid_cnpj(n: int) -> str:
    """A CNPJ's 14 digits with the right check digits, a different one for each n."""
    base = [int(d) for d in f"{n:08d}0001"]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        rest = sum(d * w for d, w in zip(base, weights, strict=True)) % 11
        base.append(0 if rest < 2 else 11 - rest)
    return "".join(map(str, base))


def _asgi(fn: HttpFunction) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


@dataclass
class Inventory:
    runtimes: dict[str, Runtime]
    sink: RecordingSink
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def call(
        self, function: str, method: str, path: str, who: Principal | None = ADMIN, **kw: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {TOKENS.issue(who).token}"} if who else {}
        return await self.clients[function].request(method, path, headers=headers, **kw)

    async def product(self, name: str = "Picanha", unit: str = "kg", price: int = 8990) -> str:
        """A product in inventory's copy of the catalogue; its id."""
        pid = uuid.uuid4()
        async with await self.runtimes["register-movement"].unit_of_work() as uow:
            info = store.ProductInfo(pid, name, unit, price, Decimal("0"), True)
            await store.upsert_product(uow.conn, info, 1)
            await uow.commit()
        return str(pid)

    async def supplier(self, who: Principal = ADMIN, **body: Any) -> dict[str, Any]:
        answer = await self.call("suppliers", "POST", "/api/suppliers", who, json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def receive(self, who: Principal = STOCK, **body: Any) -> httpx.Response:
        body = {"kind": "receipt", "quantity": "10.000", "unit_cost_cents": 3000, **body}
        return await self.call(
            "register-movement", "POST", "/api/inventory/movements", who, json=body
        )

    async def stock(self, product_id: str) -> dict[str, Any]:
        answer = await self.call(
            "inventory-query", "GET", f"/api/inventory/stock/{product_id}", ADMIN
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def events(self, type_: str, **match: Any) -> list[tuple[dict[str, str], dict[str, Any]]]:
        """(headers, data) of every event of `type_` the sink received whose data has
        `match`, in arrival order."""
        found = []
        for received in self.sink.received:
            if received.headers.get("ce-type") != f"com.acougue.{type_}":
                continue
            data = json.loads(received.body)
            if all(data.get(k) == v for k, v in match.items()):
                found.append((received.headers, data))
        return found

    async def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        async with await self.runtimes["register-movement"].unit_of_work() as uow:
            cursor = await uow.conn.execute(query, params)
            return list(await cursor.fetchall())


@contextlib.asynccontextmanager
async def inventory_functions(database: ProvisionedDatabase) -> AsyncIterator[Inventory]:
    """The three functions, each with its own role pool, publishing to one recording sink."""
    sink = RecordingSink()
    with serve(sink.app()) as url:
        runtimes = {}
        for name in ROUTES:
            runtime = function_runtime(
                database,
                "inventory",
                name.replace("-", "_"),
                k_sink=url,
                event_authentication="off",
                db_pool_max=4,
            )
            runtime.verifier = TokenVerifier(
                StaticKeys(TOKENS.jwks()), issuer=ISSUER, audience=AUDIENCE
            )
            runtimes[name] = runtime
        inventory = Inventory(runtimes, sink)
        for name, routes in ROUTES.items():
            inventory.clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=_asgi(HttpFunction(runtimes[name], routes()))),
                base_url="http://inventory",
            )
        try:
            yield inventory
        finally:
            for client in inventory.clients.values():
                await client.aclose()
            for runtime in runtimes.values():
                await runtime.pool.close()
