"""The customers domain on the real PostgreSQL (issue 17): its HTTP functions served by
`shared.http` exactly as main.py serves them (tokens checked, problem+json), and
charge-account's events applied through `shared.subscriber` (inbox, one unit of work)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.customers import api, service
from functions.relay.settings import RelaySettings
from functions.relay.sweep import Relay
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.db.migrations import RELAY
from shared.db.pool import LazyPool
from shared.domain_errors import Invalid
from shared.events.envelope import Envelope, new_envelope
from shared.http import HttpFunction
from shared.publisher import Publisher
from shared.runtime import Runtime
from shared.subscriber import Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase
from tests.support.sink import RecordingSink

ISSUER = "acougue-auth"
AUDIENCE = "acougue"
TOKENS = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900
)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
STOCK = Principal(user_id=str(uuid.uuid4()), username="zeca", role=Role.ESTOQUISTA)
# A CPF with the right check digits, written two ways.
CPF = "529.982.247-25"
CPF_DIGITS = "52998224725"
PROBLEM = "application/problem+json"


def valid_cpf(n: int) -> str:
    """A CPF with the right check digits, a different one for each n."""
    base = [int(d) for d in f"{n:09d}"]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(base, range(size + 1, 1, -1), strict=True))
        base.append((total * 10 % 11) % 10)
    return "".join(map(str, base))


@dataclass
class Customers:
    """The domain's four functions on the test database, each with its own role
    connection pool, reached as the gateway reaches them."""

    runtimes: dict[str, Runtime]
    functions: dict[str, HttpFunction]
    events: Subscriber
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def call(
        self,
        function: str,
        method: str,
        path: str,
        who: Principal | None = ADMIN,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {TOKENS.issue(who).token}"} if who else {}
        headers.update(kwargs.pop("headers", {}))
        return await self.clients[function].request(method, path, headers=headers, **kwargs)

    async def create(self, who: Principal = ADMIN, **body: Any) -> dict[str, Any]:
        answer = await self.call("manage-customer", "POST", "/api/customers", who, json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def search(self, who: Principal = SELLER, **params: Any) -> list[dict[str, Any]]:
        answer = await self.call("customers-query", "GET", "/api/customers", who, params=params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def statement(self, customer_id: str, **params: Any) -> httpx.Response:
        return await self.call(
            "customers-query",
            "GET",
            f"/api/customers/{customer_id}/statement",
            SELLER,
            params=params,
        )

    async def pay(
        self, customer_id: str, amount: int, method: str = "pix", who: Principal = SELLER
    ) -> httpx.Response:
        return await self.call(
            "receive-customer-payment",
            "POST",
            f"/api/customers/{customer_id}/payments",
            who,
            json={"amount_cents": amount, "method": method},
        )

    async def apply(self, event: Envelope) -> bool:
        return await self.events.apply(event)

    async def outbox(self, aggregate: str) -> list[tuple[str, dict[str, Any]]]:
        """(type, data) of the events the domain wrote for `aggregate`, in order."""
        pool = await self.runtimes["charge-account"].pool.get()
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT event_type, data FROM outbox WHERE aggregate_id = %s ORDER BY id",
                    (aggregate,),
                )
            ).fetchall()
        return [(r["event_type"].removeprefix("com.acougue."), r["data"]) for r in rows]

    async def entries(self, customer_id: str) -> list[tuple[str, int, int]]:
        """(kind, amount, balance after) of every entry of the account, in order."""
        pool = await self.runtimes["charge-account"].pool.get()
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT kind, amount_cents, balance_after_cents FROM account_entries"
                    " WHERE customer_id = %s ORDER BY seq",
                    (customer_id,),
                )
            ).fetchall()
        return [(r["kind"], r["amount_cents"], r["balance_after_cents"]) for r in rows]

    async def balance(self, customer_id: str) -> int:
        body = (await self.statement(customer_id)).json()
        balance: int = body["balance_cents"]
        return balance


def _asgi(fn: HttpFunction) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


ROUTES = {
    "customers-query": api.query_routes,
    "manage-customer": api.manage_routes,
    "receive-customer-payment": api.payment_routes,
}


@pytest.fixture(scope="module")
async def customers(database: ProvisionedDatabase) -> AsyncIterator[Customers]:
    runtimes: dict[str, Runtime] = {}
    functions: dict[str, HttpFunction] = {}
    for name in [*ROUTES, "charge-account"]:
        runtime = function_runtime(
            database,
            "customers",
            name.replace("-", "_"),
            k_sink=None,
            event_authentication="off",
            db_pool_max=12,
        )
        runtime.verifier = TokenVerifier(
            StaticKeys(TOKENS.jwks()), issuer=ISSUER, audience=AUDIENCE
        )
        runtimes[name] = runtime
    for name, routes in ROUTES.items():
        functions[name] = HttpFunction(runtimes[name], routes())
    domain = Customers(
        runtimes, functions, Subscriber(runtimes["charge-account"], service.events())
    )
    for name, fn in functions.items():
        domain.clients[name] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_asgi(fn)), base_url="http://customers"
        )
    try:
        yield domain
    finally:
        for client in domain.clients.values():
            await client.aclose()
        for runtime in runtimes.values():
            await runtime.pool.close()


# -- events ------------------------------------------------------------------------------


def fiado_requested(
    customer_id: str, amount: int, *, sale_id: str | None = None, attempt: int = 1
) -> Envelope:
    sale = sale_id or str(uuid.uuid4())
    return new_envelope(
        type_="com.acougue.payment.fiado_requested",
        source="/acougue/process-payment",
        subject=sale,
        data={
            "payment_id": str(uuid.uuid4()),
            "sale_id": sale,
            "attempt": attempt,
            "method": "fiado",
            "amount_cents": amount,
            "seller_id": SELLER.user_id,
            "customer_id": customer_id,
        },
    )


def sale_cancelled(sale_id: str, total: int, *, was_paid: bool = True) -> Envelope:
    return new_envelope(
        type_="com.acougue.sale.cancelled",
        source="/acougue/cancel-sale",
        subject=sale_id,
        data={"sale_id": sale_id, "was_paid": was_paid, "total_cents": total},
    )


def sale_returned(
    sale_id: str,
    refund: int,
    *,
    method: str = "fiado",
    customer_id: str | None = None,
    return_id: str | None = None,
) -> Envelope:
    return new_envelope(
        type_="com.acougue.sale.returned",
        source="/acougue/return-sale",
        subject=sale_id,
        data={
            "sale_id": sale_id,
            "return_id": return_id or str(uuid.uuid4()),
            "seller_id": ADMIN.user_id,
            "items": [
                {
                    "product_id": str(uuid.uuid4()),
                    "name": "Picanha",
                    "quantity": "0.500",
                    "refund_cents": refund,
                }
            ],
            "refund_cents": refund,
            "payment_method": method,
            "customer_id": customer_id,
            "reason": "cliente devolveu",
        },
    )


def sale_of(event: Envelope) -> str:
    """The sale an event is about (its subject)."""
    assert event.subject is not None
    return event.subject


def again(event: Envelope) -> Envelope:
    """The same request delivered again under another event id (a replay, a retry of the
    publisher that made a new envelope)."""
    return event.model_copy(update={"id": str(uuid.uuid4())})


# -- manage-customer ---------------------------------------------------------------------


async def test_an_admin_registers_a_customer_with_a_limit(customers: Customers) -> None:
    cpf = valid_cpf(101)
    body = await customers.create(
        name="Conceição Araújo", phone="(11) 98765-4321", cpf=cpf, credit_limit_cents=50_000
    )
    assert body["name"] == "Conceição Araújo"
    assert body["cpf"] == cpf
    assert body["phone"] == "(11) 98765-4321"
    assert (body["credit_limit_cents"], body["balance_cents"], body["available_cents"]) == (
        50_000,
        0,
        50_000,
    )
    assert body["active"] is True
    uuid.UUID(body["id"])


async def test_a_vendedor_registers_without_a_limit_and_may_not_give_one(
    customers: Customers,
) -> None:
    body = await customers.create(SELLER, name="Seu Zé")
    assert (body["credit_limit_cents"], body["available_cents"]) == (0, 0)
    for limit in (5000, 0):
        answer = await customers.call(
            "manage-customer",
            "POST",
            "/api/customers",
            SELLER,
            json={"name": "Dona Maria", "credit_limit_cents": limit},
        )
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert "administrador" in answer.json()["detail"]
    assert await customers.search(q="Dona Maria") == []


async def test_a_cpf_with_wrong_check_digits_is_422_and_a_repeated_one_409(
    customers: Customers,
) -> None:
    wrong = await customers.call(
        "manage-customer", "POST", "/api/customers", json={"name": "X", "cpf": "529.982.247-26"}
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith(PROBLEM)
    await customers.create(name="Primeiro", cpf=CPF)
    again_ = await customers.call(
        "manage-customer", "POST", "/api/customers", json={"name": "Segundo", "cpf": CPF_DIGITS}
    )
    assert again_.status_code == 409
    assert "CPF" in again_.json()["detail"]


async def test_other_roles_and_strangers_are_refused(customers: Customers) -> None:
    stock = await customers.call("manage-customer", "POST", "/api/customers", STOCK, json={})
    assert stock.status_code == 403
    nobody = await customers.call("customers-query", "GET", "/api/customers", None)
    assert nobody.status_code == 401
    unknown_field = await customers.call(
        "manage-customer", "POST", "/api/customers", json={"name": "X", "balance_cents": -1}
    )
    assert unknown_field.status_code == 422
    too_long = await customers.call(
        "manage-customer", "POST", "/api/customers", json={"name": "X" * 121}
    )
    assert too_long.status_code == 422


async def test_patch_a_vendedor_changes_name_and_phone_only(customers: Customers) -> None:
    c = await customers.create(name="Antônio", credit_limit_cents=10_000)
    path = f"/api/customers/{c['id']}"
    ok = await customers.call(
        "manage-customer", "PATCH", path, SELLER, json={"name": "Antônio Silva", "phone": None}
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["name"], ok.json()["phone"]) == ("Antônio Silva", None)
    for body in ({"credit_limit_cents": 99_999}, {"active": False}, {"name": "A", "active": True}):
        refused = await customers.call("manage-customer", "PATCH", path, SELLER, json=body)
        assert refused.status_code == 403, body
        assert refused.headers["content-type"].startswith(PROBLEM)
    admin = await customers.call(
        "manage-customer", "PATCH", path, ADMIN, json={"credit_limit_cents": 2500, "active": False}
    )
    assert admin.status_code == 200
    assert (admin.json()["credit_limit_cents"], admin.json()["active"]) == (2500, False)
    assert admin.json()["name"] == "Antônio Silva"  # what the patch did not name stays
    empty = await customers.call("manage-customer", "PATCH", path, ADMIN, json={"name": None})
    assert empty.status_code == 422
    nothing = await customers.call("manage-customer", "PATCH", path, ADMIN, json={})
    assert nothing.status_code == 422
    unknown = await customers.call(
        "manage-customer", "PATCH", f"/api/customers/{uuid.uuid4()}", json={"name": "Z"}
    )
    assert unknown.status_code == 404


# -- customers-query ---------------------------------------------------------------------


async def test_search_by_name_without_accents_phone_digits_or_cpf(customers: Customers) -> None:
    cpf = valid_cpf(202)
    tag = uuid.uuid4().hex[:6]
    c = await customers.create(name=f"Ângela Gonçalves {tag}", phone="+55 (21) 3456-7890", cpf=cpf)
    other = await customers.create(name=f"Bruno {tag}", phone="11 2222-3333")
    for q in (f"angela goncalves {tag}", f"ÂNGELA GONÇALVES {tag}", "gonç"):
        assert c["id"] in [i["id"] for i in await customers.search(q=q)], q
    assert [i["id"] for i in await customers.search(q="(21) 3456-7890")] == [c["id"]]
    assert [i["id"] for i in await customers.search(q="34567890")] == [c["id"]]
    assert [i["id"] for i in await customers.search(q=cpf)] == [c["id"]]
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    assert [i["id"] for i in await customers.search(q=formatted)] == [c["id"]]
    both = await customers.search(q=tag)
    assert {i["id"] for i in both} == {c["id"], other["id"]}
    assert both[0]["name"].startswith("Ângela")  # by folded name
    # `active` and `limit` filter; % and _ are text, not patterns
    await customers.call(
        "manage-customer", "PATCH", f"/api/customers/{other['id']}", json={"active": False}
    )
    assert [i["id"] for i in await customers.search(q=tag, active="true")] == [c["id"]]
    assert [i["id"] for i in await customers.search(q=tag, active="false")] == [other["id"]]
    assert len(await customers.search(q=tag, limit=1)) == 1
    assert await customers.search(q=f"{tag}%") == []
    too_long = await customers.call(
        "customers-query", "GET", "/api/customers", params={"q": "x" * 101}
    )
    assert too_long.status_code == 422
    too_many = await customers.call(
        "customers-query", "GET", "/api/customers", params={"limit": 201}
    )
    assert too_many.status_code == 422


async def _entry_at(customers: Customers, customer_id: str, kind: str, when: datetime) -> None:
    """Move the account's latest entry of `kind` to `when` (statements read `at`)."""
    pool = await customers.runtimes["charge-account"].pool.get()
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE account_entries SET at = %s WHERE seq = (SELECT max(seq)"
            " FROM account_entries WHERE customer_id = %s AND kind = %s)",
            (when, customer_id, kind),
        )


async def test_the_statement_of_a_period_in_the_shops_days(customers: Customers) -> None:
    c = await customers.create(name="Estela", credit_limit_cents=100_000)
    sale_a, sale_b = str(uuid.uuid4()), str(uuid.uuid4())
    assert await customers.apply(fiado_requested(c["id"], 10_000, sale_id=sale_a))
    # 02:30 UTC on the 10th is still the 9th in São Paulo (UTC−3); 03:00 UTC on the 13th is
    # the first instant of the 13th there
    await _entry_at(customers, c["id"], "sale", datetime(2026, 3, 10, 2, 30, tzinfo=UTC))
    assert await customers.apply(fiado_requested(c["id"], 4_000, sale_id=sale_b))
    await _entry_at(customers, c["id"], "sale", datetime(2026, 3, 10, 3, 30, tzinfo=UTC))
    assert (await customers.pay(c["id"], 3_000)).status_code == 201
    await _entry_at(customers, c["id"], "payment", datetime(2026, 3, 12, 15, 0, tzinfo=UTC))
    assert await customers.apply(sale_returned(sale_b, 1_500, customer_id=c["id"]))
    await _entry_at(customers, c["id"], "refund", datetime(2026, 3, 13, 3, 0, tzinfo=UTC))

    whole = (await customers.statement(c["id"])).json()
    assert (whole["balance_cents"], whole["credit_limit_cents"], whole["available_cents"]) == (
        9_500,
        100_000,
        90_500,
    )
    assert [(e["kind"], e["amount_cents"], e["balance_after_cents"]) for e in whole["entries"]] == [
        ("sale", 10_000, 10_000),
        ("sale", 4_000, 14_000),
        ("payment", -3_000, 11_000),
        ("refund", -1_500, 9_500),
    ]
    assert [e["sale_id"] for e in whole["entries"]] == [sale_a, sale_b, None, sale_b]
    assert whole["customer_id"] == c["id"]
    assert whole["name"] == "Estela"

    def kinds(body: dict[str, Any]) -> list[tuple[str, int]]:
        return [(e["kind"], e["balance_after_cents"]) for e in body["entries"]]

    ninth = await customers.statement(c["id"], **{"from": "2026-03-09", "to": "2026-03-09"})
    assert kinds(ninth.json()) == [("sale", 10_000)]
    tenth = await customers.statement(c["id"], **{"from": "2026-03-10", "to": "2026-03-12"})
    assert kinds(tenth.json()) == [("sale", 14_000), ("payment", 11_000)]
    since = await customers.statement(c["id"], **{"from": "2026-03-12"})
    assert kinds(since.json()) == [("payment", 11_000), ("refund", 9_500)]
    until = await customers.statement(c["id"], to="2026-03-09")
    assert kinds(until.json()) == [("sale", 10_000)]
    assert until.json()["balance_cents"] == 9_500  # the balance is today's
    backwards = await customers.statement(c["id"], **{"from": "2026-03-12", "to": "2026-03-10"})
    assert backwards.status_code == 422
    unknown = await customers.statement(str(uuid.uuid4()))
    assert unknown.status_code == 404
    assert (await customers.statement(c["id"], to="10/03/2026")).status_code == 422


# -- receive-customer-payment ------------------------------------------------------------


async def test_a_payment_lowers_the_account_and_tells_the_till(customers: Customers) -> None:
    c = await customers.create(name="Paulo", credit_limit_cents=20_000)
    assert await customers.apply(fiado_requested(c["id"], 12_345))
    answer = await customers.pay(c["id"], 2_345, "cash")
    assert answer.status_code == 201, answer.text
    paid = answer.json()
    assert (paid["customer_id"], paid["amount_cents"], paid["method"], paid["balance_cents"]) == (
        c["id"],
        2_345,
        "cash",
        10_000,
    )
    assert (await customers.entries(c["id"]))[-1] == ("payment", -2_345, 10_000)
    news = [d for t, d in await customers.outbox(c["id"]) if t == "customer.payment_received"]
    assert news == [
        {
            "payment_id": paid["payment_id"],
            "customer_id": c["id"],
            "amount_cents": 2_345,
            "method": "cash",
            "received_by": SELLER.user_id,
        }
    ]
    listed = await customers.search(q="Paulo")
    assert [(i["balance_cents"], i["available_cents"]) for i in listed if i["id"] == c["id"]] == [
        (10_000, 10_000)
    ]


async def test_a_payment_above_the_balance_is_422_and_changes_nothing(
    customers: Customers,
) -> None:
    c = await customers.create(name="Rita", credit_limit_cents=20_000)
    assert await customers.apply(fiado_requested(c["id"], 1_000))
    above = await customers.pay(c["id"], 1_001)
    assert above.status_code == 422
    assert above.headers["content-type"].startswith(PROBLEM)
    assert "saldo" in above.json()["detail"]
    assert await customers.balance(c["id"]) == 1_000
    assert await customers.outbox(c["id"]) == []
    assert (await customers.pay(str(uuid.uuid4()), 100)).status_code == 404
    for bad in ({"amount_cents": 0, "method": "pix"}, {"amount_cents": 100, "method": "fiado"}):
        answer = await customers.call(
            "receive-customer-payment", "POST", f"/api/customers/{c['id']}/payments", json=bad
        )
        assert answer.status_code == 422, bad
    assert (await customers.pay(c["id"], 1_000)).json()["balance_cents"] == 0


async def test_a_payment_sent_again_with_its_key_is_made_once(customers: Customers) -> None:
    """A lost answer, the same payment sent again with its Idempotency-Key: the payment
    made is answered, the account goes down once, the till and the ledger hear it once."""
    c = await customers.create(name="Lúcia", credit_limit_cents=20_000)
    assert await customers.apply(fiado_requested(c["id"], 5_000))
    path = f"/api/customers/{c['id']}/payments"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount_cents": 1_500, "method": "cash"}
    answers = await asyncio.gather(
        *(
            customers.call("receive-customer-payment", "POST", path, SELLER, json=body, headers=key)
            for _ in range(3)
        )
    )
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["payment_id"] for a in answers}) == 1
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true", "true"]
    assert await customers.balance(c["id"]) == 3_500
    news = [t for t, _ in await customers.outbox(c["id"]) if t == "customer.payment_received"]
    assert len(news) == 1
    other = {"amount_cents": 1_000, "method": "cash"}
    reused = await customers.call(
        "receive-customer-payment", "POST", path, SELLER, json=other, headers=key
    )
    assert reused.status_code == 422
    assert await customers.balance(c["id"]) == 3_500


async def test_concurrent_payments_never_take_the_balance_below_zero(
    customers: Customers,
) -> None:
    c = await customers.create(name="Simultânea", credit_limit_cents=10_000)
    assert await customers.apply(fiado_requested(c["id"], 10_000))
    answers = await asyncio.gather(*(customers.pay(c["id"], 3_000) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [201, 201, 201, 422, 422, 422]
    assert await customers.balance(c["id"]) == 1_000
    entries = await customers.entries(c["id"])
    assert sum(amount for _, amount, _ in entries) == 1_000
    assert all(after >= 0 for _, _, after in entries)


# -- charge-account ----------------------------------------------------------------------


async def test_a_fiado_within_the_limit_is_approved_once(customers: Customers) -> None:
    c = await customers.create(name="Joaquim", credit_limit_cents=10_000)
    request = fiado_requested(c["id"], 10_000)
    sale_id = sale_of(request)
    assert await customers.apply(request)
    assert not await customers.apply(request)  # the same event: the inbox has it
    assert await customers.apply(again(request))  # a new id, the same (sale, attempt)
    decided = await customers.outbox(sale_id)
    assert [t for t, _ in decided] == ["payment.approved"]
    approved = decided[0][1]
    assert approved["method"] == "fiado"
    assert approved["fee_cents"] == 0
    assert (approved["sale_id"], approved["attempt"], approved["amount_cents"]) == (
        sale_id,
        1,
        10_000,
    )
    assert (approved["customer_id"], approved["customer_name"]) == (c["id"], "Joaquim")
    assert approved["payment_id"] == request.data["payment_id"]  # the attempt's id, kept
    assert await customers.entries(c["id"]) == [("sale", 10_000, 10_000)]
    assert await customers.balance(c["id"]) == 10_000


@pytest.mark.parametrize(
    ("limit", "balance", "active", "amount", "reason"),
    [
        (10_000, 6_000, True, 4_001, "limite de fiado excedido"),
        (0, 0, True, 1, "limite de fiado excedido"),
        (10_000, 0, False, 1, "cliente inativo"),
    ],
)
async def test_a_fiado_is_declined_with_the_reason(
    customers: Customers, limit: int, balance: int, active: bool, amount: int, reason: str
) -> None:
    c = await customers.create(name="Recusado", credit_limit_cents=limit)
    if balance:
        assert await customers.apply(fiado_requested(c["id"], balance))
    if not active:
        path = f"/api/customers/{c['id']}"
        await customers.call("manage-customer", "PATCH", path, json={"active": False})
    request = fiado_requested(c["id"], amount)
    assert await customers.apply(request)
    assert await customers.apply(again(request))
    decided = await customers.outbox(sale_of(request))
    assert [(t, d["reason"], d["method"]) for t, d in decided] == [
        ("payment.declined", reason, "fiado")
    ]
    assert await customers.balance(c["id"]) == balance
    assert len(await customers.entries(c["id"])) == (1 if balance else 0)


async def test_a_fiado_for_an_unknown_customer_is_declined(customers: Customers) -> None:
    for customer_id in (str(uuid.uuid4()), "not-a-uuid"):
        request = fiado_requested(customer_id, 100)
        assert await customers.apply(request)
        assert [(t, d["reason"]) for t, d in await customers.outbox(sale_of(request))] == [
            ("payment.declined", "cliente desconhecido")
        ]


async def test_a_request_no_counter_could_make_is_refused_not_retried(
    customers: Customers,
) -> None:
    """Refused (dead-lettered at once) rather than a database error retried for ever."""
    c = await customers.create(name="Forjado", credit_limit_cents=1_000)
    huge = fiado_requested(c["id"], 1)
    huge.data["amount_cents"] = 2**63
    not_a_sale = fiado_requested(c["id"], 1)
    not_a_sale.data["sale_id"] = "venda-1"
    for event in (huge, not_a_sale, sale_cancelled("venda-1", 1)):
        with pytest.raises(Invalid):
            await customers.apply(event)
    assert await customers.entries(c["id"]) == []


async def test_a_second_attempt_is_decided_on_its_own(customers: Customers) -> None:
    c = await customers.create(name="Tentativa", credit_limit_cents=5_000)
    first = fiado_requested(c["id"], 6_000)
    second = fiado_requested(c["id"], 5_000, sale_id=sale_of(first), attempt=2)
    assert await customers.apply(first)
    assert await customers.apply(second)
    assert [(t, d["attempt"]) for t, d in await customers.outbox(sale_of(first))] == [
        ("payment.declined", 1),
        ("payment.approved", 2),
    ]
    assert await customers.balance(c["id"]) == 5_000


async def test_a_cancelled_fiado_sale_goes_back_to_the_account_once(
    customers: Customers,
) -> None:
    c = await customers.create(name="Cancelada", credit_limit_cents=10_000)
    request = fiado_requested(c["id"], 7_000)
    sale_id = sale_of(request)
    assert await customers.apply(request)
    cancelled = sale_cancelled(sale_id, 7_000)
    assert await customers.apply(cancelled)
    assert await customers.apply(again(cancelled))
    events = await customers.outbox(sale_id)
    assert [t for t, _ in events] == ["payment.approved", "payment.refunded"]
    approved, refunded = events[0][1], events[1][1]
    assert refunded["payment_id"] == approved["payment_id"]
    assert (refunded["amount_cents"], refunded["fee_cents"], refunded["method"]) == (
        7_000,
        0,
        "fiado",
    )
    assert await customers.entries(c["id"]) == [("sale", 7_000, 7_000), ("refund", -7_000, 0)]


async def test_a_cancelled_sale_without_a_fiado_charge_changes_nothing(
    customers: Customers,
) -> None:
    c = await customers.create(name="Sem fiado", credit_limit_cents=10_000)
    declined = fiado_requested(c["id"], 20_000)
    assert await customers.apply(declined)
    assert await customers.apply(sale_cancelled(sale_of(declined), 20_000, was_paid=False))
    assert [t for t, _ in await customers.outbox(sale_of(declined))] == ["payment.declined"]
    other = str(uuid.uuid4())  # a card sale: the account never heard of it
    assert await customers.apply(sale_cancelled(other, 5_000))
    assert await customers.outbox(other) == []
    assert await customers.entries(c["id"]) == []


async def test_a_fiado_request_after_its_sale_was_cancelled_is_declined(
    customers: Customers,
) -> None:
    c = await customers.create(name="Atrasada", credit_limit_cents=10_000)
    request = fiado_requested(c["id"], 1_000)
    assert await customers.apply(sale_cancelled(sale_of(request), 1_000, was_paid=False))
    assert await customers.apply(request)
    assert [(t, d.get("reason")) for t, d in await customers.outbox(sale_of(request))] == [
        ("payment.declined", "venda cancelada")
    ]
    assert await customers.balance(c["id"]) == 0


async def test_a_fiado_return_goes_back_to_the_account_once_per_return(
    customers: Customers,
) -> None:
    c = await customers.create(name="Devolução", credit_limit_cents=10_000)
    request = fiado_requested(c["id"], 8_000)
    sale_id = sale_of(request)
    assert await customers.apply(request)
    first = sale_returned(sale_id, 2_000, customer_id=c["id"])
    assert await customers.apply(first)
    assert await customers.apply(again(first))  # the same return_id: once
    assert await customers.apply(sale_returned(sale_id, 1_000))  # another return
    assert await customers.entries(c["id"]) == [
        ("sale", 8_000, 8_000),
        ("refund", -2_000, 6_000),
        ("refund", -1_000, 5_000),
    ]
    # More than what is left of the charge is refused (dead-lettered), nothing changes.
    with pytest.raises(Invalid, match="devolução passa"):
        await customers.apply(sale_returned(sale_id, 5_001))
    # Cancelling the sale now gives back only what the returns did not.
    assert await customers.apply(sale_cancelled(sale_id, 8_000))
    refunded = [d for t, d in await customers.outbox(sale_id) if t == "payment.refunded"]
    assert [d["amount_cents"] for d in refunded] == [5_000]
    assert await customers.balance(c["id"]) == 0
    assert await customers.outbox(c["id"]) == []  # returns emit nothing of their own
    # A return delivered again after the cancellation is still applied once, quietly.
    assert await customers.apply(again(first))
    assert await customers.balance(c["id"]) == 0


async def test_returns_paid_another_way_are_not_the_accounts(customers: Customers) -> None:
    c = await customers.create(name="Cartão", credit_limit_cents=10_000)
    request = fiado_requested(c["id"], 3_000)
    assert await customers.apply(request)
    for method in ("pix", "cash", "debit", "credit"):
        assert await customers.apply(sale_returned(sale_of(request), 1_000, method=method))
    assert await customers.entries(c["id"]) == [("sale", 3_000, 3_000)]


async def test_charge_account_answers_deliveries_over_http(customers: Customers) -> None:
    """The Subscriber as main.py serves it: 200 applied, 200 duplicate, 400 a bad payload."""
    c = await customers.create(name="Entrega", credit_limit_cents=1_000)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_asgi_subscriber(customers.events)),
        base_url="http://charge-account",
    )
    request = fiado_requested(c["id"], 500)
    headers = {
        "ce-specversion": "1.0",
        "ce-id": request.id,
        "ce-source": request.source,
        "ce-type": request.type,
        "ce-subject": sale_of(request),
        "content-type": "application/json",
    }
    async with client:
        first = await client.post("/", headers=headers, json=request.data)
        duplicate = await client.post("/", headers=headers, json=request.data)
        bad = await client.post(
            "/",
            headers={**headers, "ce-id": str(uuid.uuid4())},
            json={**(request.data or {}), "amount_cents": -1},
        )
    assert (first.status_code, first.json()["status"]) == (200, "applied")
    assert (duplicate.status_code, duplicate.json()["status"]) == (200, "duplicate")
    assert bad.status_code == 400
    assert await customers.balance(c["id"]) == 500


def _asgi_subscriber(subscriber: Subscriber) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await subscriber(Request(scope, receive))
        await response(scope, receive, send)

    return app


# -- the schema and its outbox -----------------------------------------------------------


async def test_the_customers_role_touches_only_its_schema(database: ProvisionedDatabase) -> None:
    async with await psycopg.AsyncConnection.connect(database.role_dsn("customers")) as conn:
        await conn.execute("SELECT count(*) FROM customers")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("SELECT * FROM payments.payments")
    async with await psycopg.AsyncConnection.connect(database.role_dsn("customers")) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("CREATE TABLE customers.sneaky (id int)")


async def test_the_relay_publishes_the_customers_outbox(
    customers: Customers, database: ProvisionedDatabase, sink: tuple[RecordingSink, str]
) -> None:
    """Written with no K_SINK (a crash after commit, a broker outage): the relay's sweep
    finds the customers outbox by its grants and publishes what waits there."""
    c = await customers.create(name="Relay", credit_limit_cents=1_000)
    request = fiado_requested(c["id"], 700)
    assert await customers.apply(request)
    recorder, url = sink
    settings = RelaySettings(
        function_target="outbox_relay", database_url=SecretStr(database.role_dsn(RELAY)), k_sink=url
    )
    pool = LazyPool(settings)
    try:
        relay = Relay(pool, Publisher(url, timeout=2.0))
        assert "customers" in await relay.outboxes()
        result = await relay.sweep()
    finally:
        await pool.close()
    assert result.by_domain["customers"].published >= 1
    published = [
        r.headers for r in recorder.received if r.headers.get("ce-subject") == sale_of(request)
    ]
    assert [h["ce-type"] for h in published] == ["com.acougue.payment.approved"]
    assert published[0]["ce-source"] == "/acougue/charge-account"
