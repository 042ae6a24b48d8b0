"""cancel-sale's rules and sales-query's receipt (issue 17), through the real functions: each
served as its image serves it (`python -m shared.server`, its own process, the sales role on
the real PostgreSQL), reached over HTTP with access tokens signed by a key whose JWKS a test
server publishes, as auth's.

The sales themselves are made in-process (complete-sale's and update-sale-status's services
on the same database), so each test starts from the state it names.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.sales import receipts, service, status, store
from functions.sales.approvals import ApprovalVerifier
from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, load_private_key
from shared.auth.tokens import generate_private_key_pem as new_key
from shared.contracts.sales import SaleIn, SaleOut
from shared.events.payments import PaymentApproved, PaymentDeclined
from shared.runtime import Runtime
from tests.functions.support import counter_product, function_runtime
from tests.support.database import ProvisionedDatabase
from tests.support.servers import free_port, serve
from tests.support.system import wait_for

REPO = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"
MASK = ScaleMask.from_setting(DEFAULT_MASK)
POLICY = service.DiscountPolicy(
    limit_percent={Role.VENDEDOR: 10},
    verifier=ApprovalVerifier(StaticKeys({"keys": []}), issuer="acougue-auth"),
)
JOANA = Principal(str(uuid.uuid4()), "joana", Role.VENDEDOR, version=1)
PEDRO = Principal(str(uuid.uuid4()), "pedro", Role.VENDEDOR, version=1)
ADMIN = Principal(str(uuid.uuid4()), "dono", Role.ADMIN, version=1)
CLERK = Principal(str(uuid.uuid4()), "estoque", Role.ESTOQUISTA, version=1)
CUSTOMER = uuid.uuid4()
SHOP = {
    "SHOP_NAME": "Casa de Carnes Boi Bravo",
    "SHOP_CNPJ": "11222333000181",
    "SHOP_ADDRESS": "Rua Augusta, 1000 - São Paulo/SP",
}


@dataclass
class Functions:
    query: str  # sales-query's base URL
    cancel: str  # cancel-sale's
    tokens: dict[str, str]  # username -> bearer token

    def headers(self, who: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who.username]}"}


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _serve_function(
    target: str, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.server"],
        env={
            **env,
            "FUNCTION_TARGET": target,
            "FUNCTION_SOURCE": "functions/sales/main.py",
            "HOST": "127.0.0.1",
            "PORT": str(port),
        },
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def functions(
    database: ProvisionedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Functions]:
    issuer = TokenIssuer(
        load_private_key(new_key()), issuer="acougue-auth", audience="acougue", ttl_seconds=3600
    )

    async def jwks(_: Request) -> Response:
        return JSONResponse(issuer.jwks())

    logs = tmp_path_factory.mktemp("sales-functions")
    with serve(Starlette(routes=[Route("/.well-known/jwks.json", jwks)])) as auth_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("K_", "SHOP_"))},
            **SHOP,
            "PYTHONPATH": str(REPO),
            "DD_TRACE_ENABLED": "false",
            "EVENT_AUTHENTICATION": "off",
            "DATABASE_URL": database.role_dsn("sales"),
            "AUTH_JWKS_URL": auth_url + "/.well-known/jwks.json",
        }
        started = {
            target: _serve_function(target, env, logs / f"{target}.log")
            for target in ("sales_query", "cancel_sale")
        }
        try:
            for target, (process, url) in started.items():
                wait_for(
                    lambda p=process, u=url: _answers(u + "/healthz") or p.poll() is not None,
                    timeout=60,
                )
                assert process.poll() is None, (logs / f"{target}.log").read_text()[-3000:]
            yield Functions(
                query=started["sales_query"][1],
                cancel=started["cancel_sale"][1],
                tokens={p.username: issuer.issue(p).token for p in (JOANA, PEDRO, ADMIN, CLERK)},
            )
        finally:
            for process, _ in started.values():
                process.terminate()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(
        database, "sales", "complete_sale", k_sink=None, event_authentication="off"
    )


@pytest.fixture(scope="module")
def status_runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(
        database, "sales", "update_sale_status", k_sink=None, event_authentication="off"
    )


@pytest.fixture(scope="module")
async def product_id(runtime: Runtime) -> str:
    return await counter_product(runtime, "Fraldinha <especial> & cia", 4590)


async def sell(
    runtime: Runtime, product_id: str, who: Principal = JOANA, *, fiado: bool = True
) -> SaleOut:
    payment: dict[str, Any] = (
        {"method": "fiado", "customer_id": str(CUSTOMER)}
        if fiado
        else {"method": "cash", "cash_received_cents": 10000}
    )
    body = SaleIn.model_validate(
        {"items": [{"product_id": product_id, "quantity": "1.250"}], "payment": payment}
    )
    async with await runtime.unit_of_work() as uow:
        sale, _ = await service.complete_sale(uow, who, str(uuid.uuid4()), body, MASK, POLICY)
        await uow.commit()
    return sale


def _facts(sale: SaleOut) -> dict[str, Any]:
    return {
        "payment_id": str(uuid.uuid4()),
        "sale_id": str(sale.id),
        "attempt": 1,
        "method": sale.payment.method,
        "amount_cents": sale.total_cents,
    }


async def pay(decider: Runtime, sale: SaleOut) -> None:
    fiado = sale.payment.method == "fiado"
    event = PaymentApproved(
        **_facts(sale),
        fee_cents=0,
        change_cents=None if fiado else 10000 - sale.total_cents,
        customer_id=str(CUSTOMER) if fiado else None,
        customer_name="Dona Maria <da pensão>" if fiado else None,
    )
    async with await decider.unit_of_work() as uow:
        await status.payment_approved(uow, event)
        await uow.commit()


async def decline(decider: Runtime, sale: SaleOut) -> None:
    async with await decider.unit_of_work() as uow:
        await status.payment_declined(
            uow, PaymentDeclined(**_facts(sale), reason="limite de fiado excedido")
        )
        await uow.commit()


async def state_of(runtime: Runtime, sale: SaleOut) -> tuple[str, bool]:
    async with await runtime.unit_of_work() as uow:
        found = await store.get_sale(uow.conn, sale.id)
    assert found is not None
    return found.state.status.value, found.state.cancel_requested


async def cancel(functions: Functions, sale_id: uuid.UUID, who: Principal) -> httpx.Response:
    async with httpx.AsyncClient(base_url=functions.cancel, timeout=10) as client:
        return await client.post(f"/api/sales/{sale_id}/cancel", headers=functions.headers(who))


async def receipt(
    functions: Functions, sale_id: uuid.UUID, who: Principal, **query: str
) -> httpx.Response:
    return await get(functions, f"/api/sales/{sale_id}/receipt", who, **query)


async def get(functions: Functions, path: str, who: Principal, **query: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=functions.query, timeout=10) as client:
        return await client.get(path, params=query, headers=functions.headers(who))


# -- cancel-sale ------------------------------------------------------------------------


async def test_a_vendedor_cancels_their_own_unpaid_sale(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    pending = await sell(runtime, product_id)  # a fiado sale the account has not decided
    answer = await cancel(functions, pending.id, JOANA)
    assert answer.status_code == 202, answer.text
    assert await state_of(runtime, pending) == ("cancelled", True)
    failed = await sell(runtime, product_id)
    await decline(status_runtime, failed)
    assert (await cancel(functions, failed.id, JOANA)).status_code == 202
    assert await state_of(runtime, failed) == ("cancelled", True)
    # Cancelled already: the state says no (409), whoever asks.
    again = await cancel(functions, pending.id, JOANA)
    assert again.status_code == 409, again.text


async def test_another_sellers_sale_does_not_exist_for_a_vendedor(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    sale = await sell(runtime, product_id)
    answer = await cancel(functions, sale.id, PEDRO)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert (await cancel(functions, uuid.uuid4(), JOANA)).status_code == 404
    assert await state_of(runtime, sale) == ("pending_payment", False)


async def test_only_an_admin_cancels_a_paid_sale(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    sale = await sell(runtime, product_id, fiado=False)
    await pay(status_runtime, sale)
    refused = await cancel(functions, sale.id, JOANA)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert "só um administrador cancela uma venda paga" in refused.json()["detail"]
    assert await state_of(runtime, sale) == ("paid", False)
    assert (await cancel(functions, sale.id, CLERK)).status_code == 403  # not a seller at all
    assert (await cancel(functions, sale.id, ADMIN)).status_code == 202
    assert await state_of(runtime, sale) == ("paid", True)  # refund asked, still paid


async def test_an_admin_cancels_anyones_unpaid_sale(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    sale = await sell(runtime, product_id, PEDRO)
    assert (await cancel(functions, sale.id, ADMIN)).status_code == 202
    assert await state_of(runtime, sale) == ("cancelled", True)


# -- the receipt ------------------------------------------------------------------------


async def test_a_paid_fiado_sales_receipt_in_48_columns(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    sale = await sell(runtime, product_id)
    await pay(status_runtime, sale)
    for who in (JOANA, ADMIN):
        answer = await receipt(functions, sale.id, who)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert answer.headers["cache-control"] == "no-store"
        text = answer.content.decode("utf-8")
        assert all(receipts.columns(line) <= 48 for line in text.splitlines())
        lines = [line.strip() for line in text.splitlines()]
        assert lines[:3] == [
            "Casa de Carnes Boi Bravo",
            "CNPJ 11.222.333/0001-81",
            "Rua Augusta, 1000 - São Paulo/SP",
        ]
        assert f"Venda {sale.id.hex[:8]}" in text
        assert "Fraldinha <especial> & cia" in lines
        assert re.search(r"^  1,250 kg × R\$ 45,90 +\= R\$ 57,38$", text, re.M)
        assert re.search(r"^TOTAL +R\$ 57,38$", text, re.M)
        assert "Cliente: Dona Maria <da pensão>" in text
        assert lines[-1] == "NÃO É DOCUMENTO FISCAL"
    page = await receipt(functions, sale.id, JOANA, format="html")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Fraldinha &lt;especial&gt; &amp; cia" in page.text
    assert "Dona Maria &lt;da pensão&gt;" in page.text
    assert "<especial>" not in page.text
    assert "80mm" in page.text
    assert (await receipt(functions, sale.id, JOANA, format="pdf")).status_code == 422


async def test_a_receipt_is_the_seller_or_an_admins_and_only_of_a_paid_sale(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    sale = await sell(runtime, product_id, fiado=False)
    unpaid = await receipt(functions, sale.id, JOANA)
    assert unpaid.status_code == 409, unpaid.text
    assert unpaid.headers["content-type"] == PROBLEM
    assert "Só uma venda paga tem cupom" in unpaid.json()["detail"]
    assert "aguardando pagamento" in unpaid.json()["detail"]
    await pay(status_runtime, sale)
    assert (await receipt(functions, sale.id, PEDRO)).status_code == 404  # another seller's
    assert (await receipt(functions, uuid.uuid4(), ADMIN)).status_code == 404
    assert (await receipt(functions, sale.id, CLERK)).status_code == 403
    cash = await receipt(functions, sale.id, JOANA)
    assert cash.status_code == 200, cash.text
    assert re.search(r"^Pagamento +Dinheiro$", cash.text, re.M)
    assert re.search(r"^Troco +R\$ 42,62$", cash.text, re.M)


async def test_a_sale_shows_its_customer_its_till_and_its_returns(
    functions: Functions, runtime: Runtime, status_runtime: Runtime, product_id: str
) -> None:
    sale = await sell(runtime, product_id)
    await pay(status_runtime, sale)
    answer = await get(functions, f"/api/sales/{sale.id}", JOANA)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["customer_id"] == str(CUSTOMER)
    assert shown["customer_name"] == "Dona Maria <da pensão>"
    assert shown["till_session_id"] is None  # joana had no open till
    assert (shown["returns"], shown["returned_cents"]) == ([], 0)
    assert shown["payment"]["method"] == "fiado"
