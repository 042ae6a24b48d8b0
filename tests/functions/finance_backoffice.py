"""What the back office's finance tests share (issue 18): the `payables`, post-ledger-entry
and finance-report routes of functions/finance served by `shared.http` exactly as main.py
serves them (tokens checked, problem+json), each on its own runtime as the finance role, and
the ledger's figures read with the SQL the reports use."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.finance import corrections, payables, reports, service, store
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.events.envelope import Envelope, new_envelope
from shared.events.inventory import Cause, MovementRegistered
from shared.events.registry import Payload, type_of
from shared.http import HttpFunction
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import function_runtime
from tests.support.database import ProvisionedDatabase

ISSUER = "acougue-auth"
AUDIENCE = "acougue"
TOKENS = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900
)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
STOCK = Principal(user_id=str(uuid.uuid4()), username="zeca", role=Role.ESTOQUISTA)
PROBLEM = "application/problem+json"


def asgi(fn: HttpFunction | Subscriber) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


@dataclass
class Finance:
    runtimes: dict[str, Runtime]
    bills: Subscriber  # payables' subscriber, as main.py wires it
    ledger: Subscriber  # post-ledger-entry's, for the receipt's own posting
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

    async def list_bills(self, who: Principal = ADMIN, **params: Any) -> list[dict[str, Any]]:
        answer = await self.call("payables", "GET", "/api/finance/payables", who, params=params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def pay(
        self,
        bill_id: str,
        amount: int,
        paid_with: str = "cash",
        paid_on: date | None = None,
        who: Principal = ADMIN,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = {
            "amount_cents": amount,
            "paid_with": paid_with,
            "paid_on": (paid_on or date.today()).isoformat(),
        }
        return await self.call(
            "payables",
            "POST",
            f"/api/finance/payables/{bill_id}/payments",
            who,
            json=body,
            headers=headers or {},
        )

    async def receive(self, moved: MovementRegistered, when: datetime) -> None:
        """A receipt's event as the broker delivers it: to post-ledger-entry and to
        payables, the same event (same source and id) to each."""
        event = envelope(moved, when, source="/acougue/register-movement")
        assert await self.ledger.apply(event)
        assert await self.bills.apply(event)

    async def balances(self) -> dict[str, int]:
        """Each account's balance on its normal side, from the trial balance."""
        async with await self.runtimes["finance_report"].unit_of_work() as uow:
            rows = await store.trial_balance(uow.conn, None)
        trial = reports.trial_balance(rows)
        assert trial["total_debit_cents"] == trial["total_credit_cents"]
        return {a["account"]: a["balance_cents"] for a in trial["accounts"]}

    async def announced(self, entry_id: str) -> list[dict[str, Any]]:
        """The ledger.entry.posted events finance's outbox holds for one entry: their
        source and data."""
        async with await self.runtimes["finance_report"].unit_of_work() as uow:
            cursor = await uow.conn.execute(
                "SELECT attributes->>'source' AS source, data FROM outbox"
                " WHERE event_type = 'com.acougue.ledger.entry.posted'"
                " AND data->>'entry_id' = %s",
                (entry_id,),
            )
            return list(await cursor.fetchall())

    async def result(self, first: date, last: date | None = None) -> dict[str, Any]:
        """GET /api/finance/report's body for [first, last], as main._result shapes it."""
        last = last or first
        async with await self.runtimes["finance_report"].unit_of_work() as uow:
            found = await store.report(uow.conn, first, last, "day")
        return reports.result(first, last, "day", found)


def envelope(payload: Payload, when: datetime, source: str = "/tests") -> Envelope:
    event = new_envelope(
        type_=type_of(type(payload)),
        source=source,
        subject="s",
        data=payload.model_dump(mode="json"),
    )
    return event.model_copy(update={"time": when})


def receipt(
    total_cents: int,
    *,
    paid_with: Literal["cash", "bank", "payable"] | None = "payable",
    supplier_id: str | None = None,
    due_on: date | None = None,
    product_id: str | None = None,
) -> MovementRegistered:
    return MovementRegistered(
        movement_id=str(uuid.uuid4()),
        product_id=product_id or str(uuid.uuid4()),
        kind="receipt",
        quantity=Decimal("10.000"),
        unit_cost_cents=total_cents // 10,
        total_cost_cents=total_cents,
        balance_after=Decimal("10.000"),
        cause=Cause(type="manual", id=None),
        paid_with=paid_with,
        supplier_id=supplier_id,
        due_on=due_on,
    )


def far_day(year: int, month: int = 6, day: int = 15) -> datetime:
    """Noon in São Paulo of a far-off day: the ledger is append-only, the database shared."""
    return datetime(year, month, day, 15, tzinfo=UTC)


async def serve_finance(database: ProvisionedDatabase) -> AsyncIterator[Finance]:
    runtimes: dict[str, Runtime] = {}
    for target in ("payables", "post_ledger_entry", "finance_report"):
        runtime = function_runtime(
            database,
            "finance",
            target,
            k_sink=None,
            event_authentication="off",
            db_pool_max=12,
        )
        runtime.verifier = TokenVerifier(
            StaticKeys(TOKENS.jwks()), issuer=ISSUER, audience=AUDIENCE
        )
        runtimes[target] = runtime
    finance = Finance(
        runtimes,
        payables.subscriber(runtimes["payables"]),
        Subscriber(runtimes["post_ledger_entry"], [On(MovementRegistered, service.movement)]),
    )
    functions: dict[str, HttpFunction | Subscriber] = {
        "payables": HttpFunction(runtimes["payables"], payables.http_routes()),
        "post-ledger-entry": HttpFunction(
            runtimes["post_ledger_entry"], corrections.ledger_routes()
        ),
        "finance-report": HttpFunction(runtimes["finance_report"], corrections.report_routes()),
        "payables-events": finance.bills,
    }
    for name, fn in functions.items():
        finance.clients[name] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi(fn)), base_url=f"http://{name}"
        )
    try:
        yield finance
    finally:
        for client in finance.clients.values():
            await client.aclose()
        for runtime in runtimes.values():
            await runtime.pool.close()
