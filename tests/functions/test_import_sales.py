"""import-sales (issue 18) on the real PostgreSQL, through its own HTTP entry point (tokens,
roles, problem+json): past sales, as JSON or as the old program's CSV, become paid sales
dated when they happened, each ending with sale.completed, payment.approved and sale.paid
from import-sales at its original time; a legacy number is imported once; a bad sale
imports nothing. Then the consumers given those events: the ledger posts the revenue on the
original day, update-sale-status finds the sale paid already and changes nothing."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from functions.finance import reports
from functions.finance import service as finance
from functions.finance import store as finance_store
from functions.inventory import service as inventory
from functions.payments import service as payments
from functions.sales import domain, import_service, imports, service, status
from shared import shop_time
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, TokenVerifier
from shared.contracts.imports import MAX_IMPORT_CSV_BYTES, MAX_IMPORT_SALES
from shared.events import ownership
from shared.events.envelope import Envelope
from shared.events.payments import PaymentApproved, WrongDecider, check_decider
from shared.events.sales import SaleCompleted, SalePaid
from shared.http import HttpFunction
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber
from tests.functions.support import counter_product, function_runtime
from tests.support.database import ProvisionedDatabase

ISSUER = TokenIssuer(
    Ed25519PrivateKey.generate(), issuer="acougue-auth", audience="acougue", ttl_seconds=900
)
JSON_PATH = "/api/import/sales"
CSV_PATH = "/api/import/sales.csv"
IMPORTER = "/acougue/import-sales"
FEES = import_service.CardFees(debit_fee_bps=99, credit_fee_bps=299)
ADMIN = Principal(user_id=str(uuid.uuid4()), username="dona", role=Role.ADMIN)
HEADER = (
    "legacy_id,occurred_at,product,quantity,unit_price_cents,method,installments,discount_cents"
)


def auth(who: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.issue(who).token}"}


def _asgi(fn: Any) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await fn(Request(scope, receive))
        await response(scope, receive, send)

    return app


def legacy(prefix: str = "V") -> str:
    """A legacy number no other test (nor an earlier run on the same database) used."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def past(days: int, hour: int = 10, minute: int = 5) -> datetime:
    """`days` ago at hour:minute in São Paulo (aware)."""
    day = shop_time.today() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=shop_time.SHOP_ZONE)


def ean13(stem: str) -> str:
    digits = [int(c) for c in stem]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return stem + str(check)


@dataclass
class Importer:
    runtime: Runtime
    http: httpx.AsyncClient
    product: str  # Picanha, R$ 89,90/kg
    plu: int
    barcode: str
    coded: str  # the product with that PLU and barcode

    async def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        pool = await self.runtime.pool.get()
        async with pool.connection() as conn:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall() if cursor.description else []
            await conn.commit()
        return list(rows)

    async def post(self, sales: list[dict[str, Any]], who: Principal = ADMIN) -> httpx.Response:
        return await self.http.post(JSON_PATH, json={"sales": sales}, headers=auth(who))

    async def post_csv(self, text: str | bytes, who: Principal = ADMIN) -> httpx.Response:
        headers = {**auth(who), "Content-Type": "text/csv; charset=utf-8"}
        body = text.encode() if isinstance(text, str) else text
        return await self.http.post(CSV_PATH, content=body, headers=headers)

    async def sale_of(self, legacy_id: str) -> dict[str, Any] | None:
        rows = await self.sql(
            "SELECT s.* FROM sales s JOIN imported_sales i ON i.sale_id = s.id"
            " WHERE i.legacy_id = %s",
            (legacy_id,),
        )
        return rows[0] if rows else None

    async def items_of(self, sale_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self.sql(
            "SELECT product_id, name, quantity, unit_price_cents, total_cents FROM sale_items"
            " WHERE sale_id = %s ORDER BY line",
            (sale_id,),
        )

    async def events_of(self, sale_id: uuid.UUID) -> list[Envelope]:
        rows = await self.sql(
            "SELECT attributes, data FROM outbox WHERE aggregate_id = %s ORDER BY id",
            (str(sale_id),),
        )
        return [Envelope.from_attributes(r["attributes"], r["data"]) for r in rows]


@pytest.fixture(scope="module")
async def importer(database: ProvisionedDatabase) -> AsyncIterator[Importer]:
    runtime = function_runtime(
        database, "sales", "import_sales", k_sink=None, event_authentication="off"
    )
    runtime.verifier = TokenVerifier(
        StaticKeys(ISSUER.jwks()), issuer="acougue-auth", audience="acougue"
    )
    product = await counter_product(runtime, "Picanha", 8990)
    plu = random.randint(1000, 9999)
    barcode = ean13("789" + f"{random.randrange(10**9):09d}")
    coded = str(uuid.uuid4())
    from shared.events.catalog import ProductState

    async with await runtime.unit_of_work() as uow:
        await service.apply_product(
            uow,
            ProductState(
                product_id=coded,
                name="Linguiça",
                unit="kg",
                price_cents=2990,
                category_id=None,
                plu=plu,
                barcode=barcode,
                min_stock="0.000",
                active=True,
                version=1,
            ),
        )
        await uow.commit()
    fn = HttpFunction(runtime, import_service.routes(FEES))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_asgi(fn)), base_url="http://import-sales"
    ) as http:
        yield Importer(runtime, http, product, plu, barcode, coded)
    await runtime.pool.close()


def a_sale(
    product: str,
    legacy_id: str,
    when: datetime,
    *,
    method: str = "cash",
    installments: int | None = None,
    discount: int = 0,
    quantity: str = "1.500",
    price: int = 8990,
) -> dict[str, Any]:
    payment: dict[str, Any] = {"method": method}
    if installments is not None:
        payment["installments"] = installments
    return {
        "legacy_id": legacy_id,
        "occurred_at": when.isoformat(),
        "items": [{"product_id": product, "quantity": quantity, "unit_price_cents": price}],
        "discount_cents": discount,
        "payment": payment,
    }


def utc_z(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- JSON -------------------------------------------------------------------------------


async def test_json_sales_become_paid_sales_at_their_time_with_the_live_events(
    importer: Importer,
) -> None:
    cash_id, credit_id = legacy(), legacy()
    cash_at, credit_at = past(3, 9, 12), past(40, 17, 45)
    answer = await importer.post(
        [
            a_sale(importer.product, cash_id, cash_at),  # 1.5 kg × 89,90 = 134,85
            a_sale(
                importer.product,
                credit_id,
                credit_at,
                method="credit",
                installments=3,
                discount=85,
                quantity="2.000",
            ),  # 179,80 − 0,85 = 178,95
        ]
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"imported": 2, "skipped": []}

    cash = await importer.sale_of(cash_id)
    assert cash is not None
    assert cash["status"] == "paid"
    assert cash["payment_status"] == "approved"
    assert cash["created_at"] == cash_at
    assert cash["paid_at"] == cash_at
    assert str(cash["seller_id"]) == ADMIN.user_id
    assert (cash["subtotal_cents"], cash["discount_cents"], cash["total_cents"]) == (
        13485,
        0,
        13485,
    )
    assert (cash["payment_method"], cash["cash_received_cents"], cash["change_cents"]) == (
        "cash",
        13485,
        0,
    )
    assert cash["fee_cents"] == 0
    assert cash["till_session_id"] is None
    items = await importer.items_of(cash["id"])
    assert [(str(i["product_id"]), i["name"], str(i["quantity"])) for i in items] == [
        (importer.product, "Picanha", "1.500")
    ]

    credit = await importer.sale_of(credit_id)
    assert credit is not None
    assert credit["created_at"] == credit_at
    assert credit["paid_at"] == credit_at
    assert (credit["total_cents"], credit["installments"]) == (17895, 3)
    assert credit["fee_cents"] == 535  # 2,99 % of 178,95, as process-payment charges

    events = await importer.events_of(credit["id"])
    assert [e.type.removeprefix("com.acougue.") for e in events] == [
        "sale.completed",
        "payment.approved",
        "sale.paid",
    ]
    assert {e.source for e in events} == {IMPORTER}
    assert {e.attributes()["time"] for e in events} == {utc_z(credit_at)}
    completed, approved, paid = (e.data for e in events)
    assert completed["payment"] == {
        "method": "credit",
        "installments": 3,
        "cash_received_cents": None,
        "customer_id": None,
    }
    assert (completed["subtotal_cents"], completed["discount_cents"]) == (17980, 85)
    assert completed["items"] == [
        {
            "product_id": importer.product,
            "name": "Picanha",
            "quantity": "2.000",
            "unit_price_cents": 8990,
            "total_cents": 17980,
        }
    ]
    assert approved["amount_cents"] == 17895
    assert approved["fee_cents"] == 535
    assert approved["method"] == "credit"
    assert approved["installments"] == 3
    assert (approved["sale_id"], approved["attempt"]) == (str(credit["id"]), 1)
    assert paid["items"] == completed["items"]
    assert paid["total_cents"] == 17895
    assert paid["payment_method"] == "credit"
    assert paid["seller_id"] == ADMIN.user_id
    cash_events = await importer.events_of(cash["id"])
    assert {e.attributes()["time"] for e in cash_events} == {utc_z(cash_at)}
    assert cash_events[1].data["cash_received_cents"] == 13485
    assert cash_events[1].data["change_cents"] == 0


async def test_a_legacy_number_is_imported_once(importer: Importer) -> None:
    again, fresh = legacy(), legacy()
    first = await importer.post([a_sale(importer.product, again, past(5))])
    assert first.json() == {"imported": 1, "skipped": []}
    sale = await importer.sale_of(again)
    assert sale is not None

    answer = await importer.post(
        [a_sale(importer.product, again, past(5)), a_sale(importer.product, fresh, past(6))]
    )
    assert answer.status_code == 200
    assert answer.json() == {"imported": 1, "skipped": [again]}
    assert (
        len(await importer.sql("SELECT 1 FROM imported_sales WHERE legacy_id = %s", (again,))) == 1
    )
    assert len(await importer.events_of(sale["id"])) == 3  # nothing published twice


async def test_a_bad_sale_imports_nothing_and_is_named(importer: Importer) -> None:
    good, bad = legacy(), legacy()
    unknown = str(uuid.uuid4())
    before = await importer.sql("SELECT count(*) AS n FROM outbox")
    answer = await importer.post(
        [a_sale(importer.product, good, past(2)), a_sale(unknown, bad, past(2))]
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"] == [
        {
            "index": 1,
            "legacy_id": bad,
            "loc": ["sales", 1, "items", 0, "product_id"],
            "msg": f"unknown product {unknown}",
        }
    ]
    assert await importer.sale_of(good) is None
    assert await importer.sql("SELECT count(*) AS n FROM outbox") == before


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"occurred_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "occurred_at"),
        (
            {"occurred_at": (datetime.now(UTC) - timedelta(days=5 * 366 + 1)).isoformat()},
            "occurred_at",
        ),
        ({"occurred_at": "2026-01-10T10:00:00"}, "occurred_at"),  # no offset
        ({"discount_cents": 999_999}, None),  # more than the sale
        ({"payment": {"method": "fiado"}}, "payment"),
        ({"payment": {"method": "pix", "installments": 2}}, "payment"),
    ],
)
async def test_what_is_not_a_past_paid_sale_is_refused(
    importer: Importer, change: dict[str, Any], where: str | None
) -> None:
    name = legacy()
    answer = await importer.post([{**a_sale(importer.product, name, past(1)), **change}])
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    if where is not None:
        assert errors[0]["loc"][:3] == ["sales", "0", where]
    else:
        assert errors[0]["legacy_id"] == name
    assert await importer.sale_of(name) is None


async def test_at_most_so_many_sales_per_request(importer: Importer) -> None:
    sales = [a_sale(importer.product, legacy(), past(1)) for _ in range(MAX_IMPORT_SALES + 1)]
    answer = await importer.post(sales)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["sales"]
    assert await importer.sale_of(sales[0]["legacy_id"]) is None


@pytest.mark.parametrize("role", [Role.VENDEDOR, Role.ESTOQUISTA])
async def test_only_an_admin_imports(importer: Importer, role: Role) -> None:
    name = legacy()
    who = Principal(user_id=str(uuid.uuid4()), username="x", role=role)
    answer = await importer.post([a_sale(importer.product, name, past(1))], who)
    assert answer.status_code == 403
    answer = await importer.post_csv(
        f"{HEADER}\n{name},01/02/2026 10:00,{importer.product},1,100,cash,,\n", who
    )
    assert answer.status_code == 403
    anonymous = await importer.http.post(JSON_PATH, json={"sales": []})
    assert anonymous.status_code == 401
    assert await importer.sale_of(name) is None


# -- CSV --------------------------------------------------------------------------------


async def test_a_csv_of_the_old_program_imports_its_sales(importer: Importer) -> None:
    one, two = legacy("A"), legacy("B")
    day = shop_time.today() - timedelta(days=10)
    shop_day = day.strftime("%d/%m/%Y")
    at = past(20, 8, 30)
    text = "\n".join(
        [
            HEADER,
            f'{one},{shop_day} 14:07,{importer.product},"1,250",8990,dinheiro,,100',
            f"{one},,{importer.plu},0.500,2990,,,",
            f"{two},{at.isoformat()},{importer.barcode},2,2990,debit,,0",
            f"{one},{shop_day} 14:07,{importer.coded},1.000,2990,cash,,100",
            "",
        ]
    )
    answer = await importer.post_csv(text)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"imported": 2, "skipped": []}

    first = await importer.sale_of(one)
    assert first is not None
    when = datetime(day.year, day.month, day.day, 14, 7, tzinfo=shop_time.SHOP_ZONE)
    assert first["created_at"] == when
    assert first["paid_at"] == when
    items = await importer.items_of(first["id"])
    assert [(str(i["product_id"]), str(i["quantity"]), i["total_cents"]) for i in items] == [
        (importer.product, "1.250", 11238),  # 1,25 × 89,90 = 112,375 → 112,38
        (importer.coded, "0.500", 1495),
        (importer.coded, "1.000", 2990),
    ]
    assert (first["discount_cents"], first["total_cents"], first["payment_method"]) == (
        100,
        11238 + 1495 + 2990 - 100,
        "cash",
    )
    events = await importer.events_of(first["id"])
    assert {e.attributes()["time"] for e in events} == {utc_z(when)}

    second = await importer.sale_of(two)
    assert second is not None
    assert second["created_at"] == at
    assert second["payment_method"] == "debit"
    assert second["fee_cents"] == 59  # 0,99 % of 59,80

    again = await importer.post_csv(text.replace(f"{two},", f"{legacy('C')},"))
    assert again.json() == {"imported": 1, "skipped": [one]}


async def test_a_semicolon_csv_with_a_bom_is_read_too(importer: Importer) -> None:
    name = legacy()
    text = (
        "\ufeff"
        + HEADER.replace(",", ";")
        + f"\n{name};05/01/2026 09:00;{importer.product};1,5;8990;pix;;\n"
    )
    answer = await importer.post_csv(text)
    assert answer.status_code == 200, answer.text
    sale = await importer.sale_of(name)
    assert sale is not None
    assert sale["total_cents"] == 13485


async def test_bad_rows_are_named_by_their_line_and_nothing_is_imported(
    importer: Importer,
) -> None:
    good, bad = legacy(), legacy()
    future = (datetime.now(UTC) + timedelta(days=2)).astimezone(shop_time.SHOP_ZONE)
    text = "\n".join(
        [
            HEADER,
            f"{good},01/02/2026 10:00,{importer.product},1,8990,cash,,",
            f"{bad},01/02/2026 10:00,{importer.product},1;5,8990,cash,,",  # line 3
            f"{bad},01/02/2026 11:00,{importer.product},1,8990,cash,,",  # line 4: another time
            f"{legacy()},{future:%d/%m/%Y %H:%M},{importer.product},1,8990,cash,,",  # line 5
            f"{legacy()},01/02/2026 10:00,9999999999999,1,8990,cheque,,",  # line 6
            f"{legacy()},01/02/2026 10:00,{uuid.uuid4()},1,8990,cash,,",  # line 7
        ]
    )
    answer = await importer.post_csv(text)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [(e["row"], e.get("column")) for e in errors] == [
        (3, "quantity"),
        (4, "occurred_at"),
        (6, "method"),
    ]
    assert await importer.sale_of(good) is None

    # The same file with those rows fixed: now the products and the dates are checked.
    fixed = "\n".join(
        line for n, line in enumerate(text.split("\n"), start=1) if n not in (3, 4, 6)
    )
    answer = await importer.post_csv(fixed)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "occurred_at"), (4, "product")]
    assert "future" in errors[0]["msg"]
    assert await importer.sale_of(good) is None


async def test_csv_bounds(importer: Importer) -> None:
    row = f"{legacy()},01/02/2026 10:00,{importer.product},1,8990,cash,,\n"
    big = HEADER + "\n" + row * (MAX_IMPORT_CSV_BYTES // len(row) + 1)
    assert (await importer.post_csv(big)).status_code == 413
    many = (
        HEADER
        + "\n"
        + "".join(
            f"{legacy()},01/02/2026 10:00,{importer.product},1,8990,cash,,\n"
            for _ in range(MAX_IMPORT_SALES + 1)
        )
    )
    answer = await importer.post_csv(many)
    assert answer.status_code == 422
    assert "more than" in answer.json()["errors"][0]["msg"]
    errors = HEADER + "\n" + f"x,nope,{importer.product},1,1,cash,,\n" * (imports.MAX_ERRORS + 10)
    answer = await importer.post_csv(errors)
    assert answer.status_code == 422
    assert len(answer.json()["errors"]) == imports.MAX_ERRORS + 1  #
    assert "more errors after"
    assert (await importer.post_csv(b"\xff\xfe" + HEADER.encode())).status_code == 422
    assert (await importer.post_csv("legacy_id,when\n1,2\n")).status_code == 422
    wrong_type = await importer.http.post(
        CSV_PATH, content=HEADER.encode(), headers={**auth(ADMIN), "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415


def test_the_csv_reads_the_shops_formats() -> None:
    assert str(imports.parse_quantity("1,250")) == "1.250"
    assert str(imports.parse_quantity("1.25")) == "1.250"
    assert str(imports.parse_quantity("3")) == "3.000"
    for bad in ("1.250,5", "-1", "1,2345", "", "10000"):
        with pytest.raises(ValueError, match="quantity"):
            imports.parse_quantity(bad)
    summer = imports.parse_time("14/01/2018 10:00")  # Brazil's last daylight-saving summer
    assert summer.astimezone(UTC) == datetime(2018, 1, 14, 12, 0, tzinfo=UTC)
    assert imports.parse_time("05/01/2026 09:00").astimezone(UTC).hour == 12
    with pytest.raises(ValueError, match="offset"):
        imports.parse_time("2026-01-05 09:00")  # ISO without its offset


# -- the consumers ----------------------------------------------------------------------


async def test_the_ledger_posts_an_imported_sale_on_its_own_day(
    importer: Importer, database: ProvisionedDatabase
) -> None:
    """post-ledger-entry, given the import's events (sale.completed then payment.approved,
    as the broker delivers them), posts the revenue and the card fee dated when the sale was
    made: that day's result grows by exactly the sale."""
    ledger_runtime = function_runtime(database, "finance", "post_ledger_entry", k_sink=None)
    ledger = Subscriber(
        ledger_runtime,
        [
            On.applying(SaleCompleted, finance.sale_completed),
            On(PaymentApproved, finance.payment_approved),
        ],
    )
    name = legacy()
    when = past(random.randint(400, 1500), 11, 30)
    day = shop_time.today(when)

    async def revenue() -> int:
        async with await ledger_runtime.unit_of_work() as uow:
            found = await finance_store.report(uow.conn, day, day, "day")
        return int(reports.result(day, day, "day", found)["series"][0]["revenue_cents"])

    before = await revenue()
    answer = await importer.post(
        [a_sale(importer.product, name, when, method="debit", quantity="1.000")]
    )
    assert answer.status_code == 200
    sale = await importer.sale_of(name)
    assert sale is not None
    completed, approved, _ = await importer.events_of(sale["id"])
    assert await ledger.apply(completed) is True
    assert await ledger.apply(approved) is True
    assert await ledger.apply(approved) is False  # once

    async with await ledger_runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT e.occurred_at, l.account, l.debit_cents, l.credit_cents FROM entries e"
            " JOIN entry_lines l ON l.entry_id = e.id WHERE e.cause = 'payment.approved'"
            " AND e.cause_id = %s ORDER BY l.line",
            (approved.data["payment_id"],),
        )
        lines = await cursor.fetchall()
    assert {line["occurred_at"] for line in lines} == {when}
    assert [(r["account"], r["debit_cents"], r["credit_cents"]) for r in lines] == [
        ("recebiveis_cartao", 8990, 0),
        ("receita_vendas", 0, 8990),
        ("taxas_cartao", 89, 0),
        ("recebiveis_cartao", 0, 89),
    ]
    assert await revenue() == before + 8990
    await ledger_runtime.pool.close()


async def test_stock_takes_an_imported_sale_out_at_its_own_time(
    importer: Importer, database: ProvisionedDatabase
) -> None:
    """apply-sale-to-stock (as inventory's main.py wires it), given the import's sale.paid,
    dates the movement and its movement.registered (the ledger's CMV) when the sale was."""
    stock_runtime = function_runtime(database, "inventory", "apply_sale_to_stock", k_sink=None)
    stock = Subscriber(stock_runtime, [On(SalePaid, inventory.apply_sale_event)])
    name, when = legacy(), past(12, 16, 20)
    await importer.post([a_sale(importer.product, name, when, quantity="0.750")])
    sale = await importer.sale_of(name)
    assert sale is not None
    *_, paid = await importer.events_of(sale["id"])
    assert await stock.apply(paid) is True
    async with await stock_runtime.unit_of_work() as uow:
        cursor = await uow.conn.execute(
            "SELECT m.kind, m.quantity, m.created_at, o.attributes FROM movements m"
            " JOIN outbox o ON o.data->>'movement_id' = m.id::text"
            " WHERE m.cause_type = 'sale' AND m.cause_id = %s",
            (str(sale["id"]),),
        )
        rows = await cursor.fetchall()
    assert [(r["kind"], str(r["quantity"]), r["created_at"]) for r in rows] == [
        ("sale", "-0.750", when)
    ]
    assert rows[0]["attributes"]["time"] == utc_z(when)
    await stock_runtime.pool.close()


async def test_update_sale_status_takes_the_imports_approval_and_changes_nothing(
    importer: Importer, database: ProvisionedDatabase
) -> None:
    status_runtime = function_runtime(database, "sales", "update_sale_status", k_sink=None)
    subscriber = Subscriber(status_runtime, status.events())
    name = legacy()
    await importer.post([a_sale(importer.product, name, past(8), method="pix")])
    sale = await importer.sale_of(name)
    assert sale is not None
    _, approved, _ = await importer.events_of(sale["id"])
    assert await subscriber.apply(approved) is True
    after = await importer.sale_of(name)
    assert after == sale
    assert len(await importer.events_of(sale["id"])) == 3  # no second sale.paid
    await status_runtime.pool.close()


async def test_an_imported_sale_is_not_cancelled_but_returned(importer: Importer) -> None:
    name = legacy()
    await importer.post([a_sale(importer.product, name, past(4))])
    sale = await importer.sale_of(name)
    assert sale is not None
    async with await importer.runtime.unit_of_work() as uow:
        with pytest.raises(domain.SaleConflict, match="importada") as refused:
            await service.cancel_sale(uow, ADMIN, sale["id"])
    assert refused.value.status == 409


def test_import_sales_decides_only_approvals_and_never_fiado() -> None:
    for method in ("pix", "debit", "credit", "cash"):
        check_decider(IMPORTER, method)
    with pytest.raises(WrongDecider):
        check_decider(IMPORTER, "fiado")
    for kind in ("payment.declined", "payment.refunded", "payment.pending", "sale.refunded"):
        assert ownership.source_refusal(f"com.acougue.{kind}", IMPORTER) is not None
    for kind in ("sale.completed", "payment.approved", "sale.paid"):
        assert ownership.source_refusal(f"com.acougue.{kind}", IMPORTER) is None


def test_process_payment_charges_nothing_for_an_imported_sale() -> None:
    """Its sale.completed is the old program's sale, paid there: no second approval."""

    def completed(source: str) -> Envelope:
        return Envelope(id="1", source=source, type="com.acougue.sale.completed", data={})

    assert payments.paid_elsewhere(completed(IMPORTER))
    assert not payments.paid_elsewhere(completed("/acougue/complete-sale"))
