"""A realistic demo for `ACOUGUE_DEMO=1`, made through the public HTTP API as the shop would.

`await seed(gateway_url, admin_password)` logs in as `admin` and creates: the categories,
a butcher's catalogue with PLUs, EANs and prices, receipts with costs, lots and expiry
dates, the desossa of a beef forequarter (dianteiro), a series of sales paid by PIX,
debit, credit and cash (one declined card paid again by PIX, one cancelled and refunded),
and, when the finance API answers, the month's expenses.

It is idempotent: when the catalogue already has every demo product and the forequarter
has stock movements, it does nothing. A run cut short is completed by the next one
(missing categories and products are created; stock and sales are made once).

These are dated by the server when they are made (now); the expenses carry their own
dates over the past month. Then `tooling.demo_history` makes the month before today on its
own days through the import path (receipts from two suppliers, a desossa a week, losses,
the counter's sales over every method and hour), pays the bills that fell due and settles
the card money, so the month's chart and the dashboard's comparison have days to show.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import httpx

from shared.contracts.catalog import ean13_check_digit
from tooling import demo_history

log = logging.getLogger("acougue.demo")

CATEGORIES = ("Bovinos", "Suínos", "Aves", "Embutidos", "Carvão e acessórios")
WAIT_SECONDS = 60.0
PARALLEL = 4
SALES = 36
T = TypeVar("T")


def _ean(first12: str) -> str:
    return first12 + str(ean13_check_digit(first12))


@dataclass(frozen=True)
class DemoProduct:
    name: str
    category: str
    unit: str
    price_cents: int
    plu: int | None = None
    barcode: str | None = None
    min_stock: str = "0"
    # the receipt: quantity, unit cost, days to expiry (None: no expiry); 0 kg: none
    receive: str = "0"
    cost_cents: int = 0
    expires_in_days: int | None = None


DIANTEIRO = "Dianteiro bovino"
# Sold by weight: name, category, R$/kg in centavos, PLU, minimum kg, kg received,
# cost per kg in centavos, days to the lot's expiry ("0" kg: made by the desossa instead).
CUTS: tuple[tuple[str, str, int, int, str, str, int, int | None], ...] = (
    ("Picanha", "Bovinos", 8990, 1, "15", "22", 6200, 6),
    ("Alcatra", "Bovinos", 5490, 2, "5", "14", 3750, 7),
    ("Fraldinha", "Bovinos", 4990, 3, "4", "12", 3300, 7),
    ("Contra-filé", "Bovinos", 5990, 4, "5", "16", 4100, 8),
    ("Costela bovina", "Bovinos", 2990, 5, "8", "6", 1900, 5),
    ("Acém", "Bovinos", 3690, 6, "6", "0", 0, None),
    ("Músculo", "Bovinos", 3490, 7, "4", "0", 0, None),
    ("Cupim", "Bovinos", 4490, 8, "3", "0", 0, None),
    ("Maminha", "Bovinos", 5690, 9, "3", "14", 3900, 2),
    ("Patinho moído", "Bovinos", 4290, 10, "4", "10", 2900, 2),
    (DIANTEIRO, "Bovinos", 2490, 90, "0", "120", 1850, 10),
    ("Osso bovino", "Bovinos", 590, 91, "0", "0", 0, None),
    ("Costelinha suína", "Suínos", 3290, 20, "4", "15", 2100, 6),
    ("Lombo suíno", "Suínos", 2990, 21, "4", "10", 1850, 6),
    ("Pernil suíno", "Suínos", 2490, 22, "4", "12", 1500, 6),
    ("Frango inteiro", "Aves", 1390, 30, "10", "30", 850, 2),
    ("Coxa e sobrecoxa", "Aves", 1690, 31, "8", "20", 1050, 4),
    ("Peito de frango", "Aves", 2190, 32, "8", "18", 1400, 4),
    ("Linguiça toscana", "Embutidos", 2790, 40, "6", "20", 1650, 15),
    ("Linguiça de frango", "Embutidos", 2290, 41, "4", "10", 1350, 15),
    ("Bacon em manta", "Embutidos", 4590, 42, "2", "12", 2900, 30),
)
# Sold by unit, with an EAN-13: name, price, the EAN's first 12 digits, minimum, received,
# unit cost.
GOODS: tuple[tuple[str, int, str, str, str, int], ...] = (
    ("Carvão vegetal 5 kg", 3490, "789100000501", "10", "40", 2100),
    ("Carvão vegetal 3 kg", 2290, "789100000302", "10", "25", 1350),
    ("Sal grosso 1 kg", 549, "789100000103", "10", "30", 280),
    ("Acendedor de carvão", 990, "789100000904", "5", "12", 520),
    ("Espeto de inox 60 cm", 1290, "789100000605", "4", "10", 700),
)
CATALOGUE: tuple[DemoProduct, ...] = tuple(
    DemoProduct(name, category, "kg", price, plu=plu, min_stock=low, receive=kg,
                cost_cents=cost, expires_in_days=days)
    for name, category, price, plu, low, kg, cost, days in CUTS
) + tuple(
    DemoProduct(name, "Carvão e acessórios", "un", price, barcode=_ean(ean), min_stock=low,
                receive=count, cost_cents=cost)
    for name, price, ean, low, count, cost in GOODS
)  # fmt: skip

# The forequarter's desossa: 100 kg in, the cuts out (the rest is trimmings, "aparas").
DESOSSA_SOURCE_KG = "100.000"
DESOSSA_OUTPUTS = (
    ("Acém", "34.500"),
    ("Músculo", "16.800"),
    ("Costela bovina", "22.400"),
    ("Cupim", "4.300"),
    ("Osso bovino", "17.600"),
)

# The month's fixed costs, dated back from today: (category, centavos, text, days ago, how).
EXPENSES = (
    ("aluguel", 380000, "Aluguel do ponto", 27, "bank"),
    ("energia", 129745, "Conta de luz (câmara fria e balcões)", 20, "bank"),
    ("agua", 18630, "Conta de água", 19, "bank"),
    ("salarios", 460000, "Salários e encargos", 25, "bank"),
    ("manutencao", 35000, "Manutenção do balcão refrigerado", 12, "cash"),
    ("impostos", 61280, "Simples Nacional", 8, "bank"),
    ("fornecedores", 42000, "Embalagens e bandejas", 15, "cash"),
    ("outras", 12000, "Sacolas e papel de embrulho", 4, "cash"),
)


class DemoError(RuntimeError):
    """The demo could not be made; the message says which call failed."""


def _check(answer: httpx.Response, what: str, *expected: int) -> dict[str, Any]:
    if answer.status_code not in (expected or (200, 201)):
        raise DemoError(f"{what}: HTTP {answer.status_code} {answer.text[:300]}")
    if not answer.content:
        return {}
    body: dict[str, Any] = answer.json()
    return body


async def _until(
    what: str, attempt: Callable[[], Awaitable[Any]], within: float = WAIT_SECONDS
) -> Any:
    """Retries until the answer is truthy: the other functions learn by events, later."""
    deadline = asyncio.get_running_loop().time() + within
    delay = 0.1
    while True:
        result = await attempt()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 1.0)


async def _login(client: httpx.AsyncClient, admin_password: str) -> str | None:
    """Log in as admin; a first login must set a new password before anything else, so the
    demo sets one and returns it (None when the password was not changed)."""
    answer = await client.post(
        "/api/auth/login", json={"username": "admin", "password": admin_password}
    )
    session = _check(answer, "admin login")
    changed: str | None = None
    if session.get("password_change_required"):
        changed = secrets.token_urlsafe(12)
        answer = await client.post(
            "/api/auth/password",
            json={"current_password": admin_password, "new_password": changed},
            headers={"Authorization": f"Bearer {session['access_token']}"},
        )
        session = _check(answer, "first-login password change")
    client.headers["Authorization"] = f"Bearer {session['access_token']}"
    return changed


async def _catalogue(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    answer = await client.get("/api/products")
    return {p["name"]: p for p in _check(answer, "list products")["items"]}


async def _movements_of(client: httpx.AsyncClient, product_id: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/inventory/movements", params={"product_id": product_id})
    items: list[dict[str, Any]] = _check(answer, "list movements")["items"]
    return items


async def _ensure_categories(client: httpx.AsyncClient) -> dict[str, str]:
    existing = {
        c["name"]: c["id"]
        for c in _check(await client.get("/api/categories"), "list categories")["items"]
    }
    for name in CATEGORIES:
        if name not in existing:
            created = _check(
                await client.post("/api/categories", json={"name": name}), f"category {name}"
            )
            existing[name] = created["id"]
    return existing


async def _in_parallel(jobs: list[Coroutine[Any, Any, T]], limit: int = PARALLEL) -> list[T]:
    """A few requests at a time (a shop's PC has two cores), answers in the jobs' order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Coroutine[Any, Any, T]) -> T:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def _ensure_products(
    client: httpx.AsyncClient, categories: dict[str, str], existing: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    missing = [item for item in CATALOGUE if item.name not in existing]
    made = await _in_parallel([_create_product(client, categories, item) for item in missing])
    return {**existing, **{p["name"]: p for p in made}}


async def _create_product(
    client: httpx.AsyncClient, categories: dict[str, str], item: DemoProduct
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": item.name,
        "unit": item.unit,
        "price_cents": item.price_cents,
        "category_id": categories[item.category],
        "min_stock": item.min_stock,
    }
    if item.plu is not None:
        body["plu"] = item.plu
    if item.barcode is not None:
        body["barcode"] = item.barcode
    return _check(await client.post("/api/products", json=body), f"product {item.name}")


async def _known_to_stock(client: httpx.AsyncClient, product_id: str) -> bool:
    return (await client.get(f"/api/inventory/stock/{product_id}")).status_code == 200


async def _receipts(client: httpx.AsyncClient, products: dict[str, dict[str, Any]]) -> None:
    today = datetime.now(UTC).date()
    jobs = [
        _receive(client, products[item.name]["id"], item, f"L{today:%y%m%d}-{n + 1:02d}", today)
        for n, item in enumerate(CATALOGUE)
        if item.receive != "0"
    ]
    await _in_parallel(jobs)


async def _receive(
    client: httpx.AsyncClient, product_id: str, item: DemoProduct, lot: str, today: date
) -> None:
    await _until(f"{item.name} in stock", partial(_known_to_stock, client, product_id))
    details: dict[str, Any] = {
        "unit_cost_cents": item.cost_cents,
        "lot": lot,
        "paid_with": "payable" if item.unit == "kg" else "bank",
    }
    if item.expires_in_days is not None:
        details["expires_on"] = (today + timedelta(days=item.expires_in_days)).isoformat()
    await _movement(client, product_id, "receipt", item.receive, f"receipt of {item.name}", details)


async def _movement(
    client: httpx.AsyncClient,
    product_id: str,
    kind: str,
    quantity: str,
    what: str,
    details: dict[str, Any] | None = None,
) -> None:
    """A stock movement as the stock screen posts it: receipts, losses and counts alike."""
    body = {"product_id": product_id, "kind": kind, "quantity": quantity, **(details or {})}
    _check(await client.post("/api/inventory/movements", json=body), what)


async def _desossa(client: httpx.AsyncClient, products: dict[str, dict[str, Any]]) -> None:
    outputs = [{"product_id": products[name]["id"], "quantity": kg} for name, kg in DESOSSA_OUTPUTS]
    for output in outputs:
        product_id = str(output["product_id"])
        await _until("cuts in stock", partial(_known_to_stock, client, product_id))
    _check(
        await client.post(
            "/api/inventory/breakdowns",
            json={
                "source_product_id": products[DIANTEIRO]["id"],
                "source_quantity": DESOSSA_SOURCE_KG,
                "outputs": outputs,
                "cost_allocation": "value",
            },
        ),
        "desossa of the forequarter",
    )
    # A little loss and a count, as a real week has.
    loss = {"reason": "quebra de resfriamento"}
    await _movement(client, products["Coxa e sobrecoxa"]["id"], "loss", "0.850", "loss", loss)
    await _movement(client, products["Sal grosso 1 kg"]["id"], "count", "28", "count")


def _quantity(rng: random.Random, item: DemoProduct) -> str:
    if item.unit == "un":
        return f"{rng.randint(1, 3)}.000"
    grams = rng.randrange(300, 2600, 5)
    return f"{grams // 1000}.{grams % 1000:03d}"


def _line_total(quantity: str, price_cents: int) -> int:
    whole, frac = quantity.split(".")
    thousandths = int(whole) * 1000 + int(frac)
    return (thousandths * price_cents + 500) // 1000


async def _sell(client: httpx.AsyncClient, body: dict[str, Any], what: str) -> dict[str, Any]:
    key = str(uuid.uuid4())

    async def attempt() -> dict[str, Any] | None:
        answer = await client.post("/api/sales", json=body, headers={"Idempotency-Key": key})
        text = answer.text
        if answer.status_code == 422 and (
            "Unknown or inactive" in text or "não cadastrado" in text
        ):
            return None  # the counter's catalogue has not heard of the product yet
        return _check(answer, what)

    sale: dict[str, Any] = await _until(f"the counter to sell ({what})", attempt)
    return sale


async def _status(client: httpx.AsyncClient, sale_id: str, *wanted: str) -> dict[str, Any]:
    async def attempt() -> dict[str, Any] | None:
        sale = _check(await client.get(f"/api/sales/{sale_id}"), "sale status")
        return sale if sale["status"] in wanted else None

    found: dict[str, Any] = await _until(f"sale {sale_id} to be {'/'.join(wanted)}", attempt)
    return found


async def _sales(client: httpx.AsyncClient, products: dict[str, dict[str, Any]]) -> None:
    rng = random.Random(20261129)  # the same demo every time
    sellable = [p for p in CATALOGUE if p.name != DIANTEIRO and p.name != "Osso bovino"]
    favourites = [p for p in sellable if p.name in ("Picanha", "Alcatra", "Linguiça toscana")]
    methods = ("pix", "debit", "credit", "cash")
    bodies: list[dict[str, Any]] = []
    for n in range(SALES):
        chosen = rng.sample(sellable, rng.randint(1, 3))
        if n % 3 == 0:
            chosen = [rng.choice(favourites), *chosen[:1]]
        items: list[dict[str, Any]] = []
        total = 0
        for item in {p.name: p for p in chosen}.values():
            quantity = _quantity(rng, item)
            total += _line_total(quantity, item.price_cents)
            if item.barcode and item.unit == "un":
                items.append({"barcode": item.barcode, "quantity": quantity})
            else:
                items.append({"product_id": products[item.name]["id"], "quantity": quantity})
        discount = 0 if n % 5 else min(total // 20, 500)
        method = methods[n % 4]
        payment: dict[str, Any] = {"method": method}
        if method in ("debit", "credit") and (total - discount) % 100 == 13:
            discount += 1  # a card total ending in ,13 is declined by the simulated bank
        if method == "credit":
            payment["installments"] = rng.choice((1, 1, 2, 3, 6))
        if method == "cash":
            due = total - discount
            payment["cash_received_cents"] = ((due // 1000) + 1) * 1000  # the next R$ 10
        body: dict[str, Any] = {"items": items, "payment": payment}
        if discount:
            body["discount_cents"] = discount
        bodies.append(body)
    made = await _in_parallel([_sell(client, b, f"sale {n + 1}") for n, b in enumerate(bodies)])

    # A card declined for insufficient funds (total ending in ,13), then paid by PIX.
    carvao = products["Carvão vegetal 5 kg"]["id"]
    declined = await _sell(
        client,
        {
            "items": [{"product_id": carvao, "quantity": "1"}],
            "discount_cents": 3490 - 2513,
            "payment": {"method": "debit"},
        },
        "declined sale",
    )
    await _status(client, declined["id"], "payment_failed")
    _check(
        await client.post(f"/api/sales/{declined['id']}/payments", json={"method": "pix"}),
        "PIX after a declined card",
    )
    # A sale the customer gave up on after paying: cancelled, refunded, stock back.
    cancelled = made[2]
    await _status(client, cancelled["id"], "paid")
    _check(await client.post(f"/api/sales/{cancelled['id']}/cancel"), "cancel a sale", 202)


CUSTOMERS = (
    # name, phone, CPF (valid check digits), limit in centavos
    ("Dona Cida Conceição", "(11) 98765-4321", "529.982.247-25", 50000),
    ("Restaurante Sabor da Vila", "(11) 3222-1100", None, 300000),
    ("Seu Zé do Bar", "(11) 97654-3210", "111.444.777-35", 20000),
)


async def _till(client: httpx.AsyncClient) -> None:
    """The admin's own till, open with R$ 150,00 of change: the demo's sales count in it."""
    answer = await client.post("/api/till/sessions", json={"opening_cents": 15000})
    _check(answer, "open the till", 201, 409)


async def _customers(client: httpx.AsyncClient, products: dict[str, dict[str, Any]]) -> None:
    """Regulars with a fiado limit, two sales on their accounts, a payment and a return."""
    made = [
        _check(
            await client.post(
                "/api/customers",
                json={"name": name, "phone": phone, "cpf": cpf, "credit_limit_cents": limit},
            ),
            f"customer {name}",
            201,
        )
        for name, phone, cpf, limit in CUSTOMERS
    ]
    cida, restaurante = made[0], made[1]
    picanha = products["Picanha"]["id"]
    linguica = products["Linguiça toscana"]["id"]
    on_account = [
        await _sell(
            client,
            {
                "items": [{"product_id": product, "quantity": quantity}],
                "payment": {"method": "fiado", "customer_id": customer["id"]},
            },
            f"fiado sale for {customer['name']}",
        )
        for customer, product, quantity in ((cida, picanha, "1.200"), (restaurante, linguica, "8"))
    ]
    for sale in on_account:
        await _status(client, sale["id"], "paid")
    _check(
        await client.post(
            f"/api/customers/{cida['id']}/payments", json={"amount_cents": 5000, "method": "pix"}
        ),
        "a payment on Dona Cida's account",
        201,
    )
    _check(
        await client.post(
            f"/api/sales/{on_account[1]['id']}/returns",
            json={"items": [{"product_id": linguica, "quantity": "1"}], "reason": "pacote aberto"},
        ),
        "a return of one kilo of linguiça",
        201,
    )


async def _finance_available(client: httpx.AsyncClient) -> bool:
    today = datetime.now(UTC).date().isoformat()
    answer = await client.get("/api/finance/report", params={"from": today, "to": today})
    return answer.status_code != 404


async def _expenses(client: httpx.AsyncClient) -> None:
    today: date = datetime.now(UTC).date()
    jobs = [
        client.post(
            "/api/finance/expenses",
            json={
                "category": category,
                "amount_cents": cents,
                "description": description,
                "occurred_on": (today - timedelta(days=days_ago)).isoformat(),
                "paid_with": paid_with,
            },
        )
        for category, cents, description, days_ago, paid_with in EXPENSES
    ]
    for answer in await _in_parallel(jobs):
        _check(answer, "expense")


async def seed(gateway_url: str, admin_password: str) -> str | None:
    """Makes the demo through the gateway's API; a second run does nothing. Returns the
    admin's new password when the demo had to make the first login's change."""
    async with httpx.AsyncClient(base_url=gateway_url.rstrip("/"), timeout=30) as client:
        changed = await _login(client, admin_password)
        await _fill(client)
    return changed


async def _fill(client: httpx.AsyncClient) -> None:
    existing = await _catalogue(client)
    complete = all(item.name in existing for item in CATALOGUE)
    if complete and await _movements_of(client, existing[DIANTEIRO]["id"]):
        log.info("demo already there: nothing to do")
        return
    categories = await _ensure_categories(client)
    products = await _ensure_products(client, categories, existing)
    log.info("demo catalogue ready: %d products", len(products))
    if await _movements_of(client, products[DIANTEIRO]["id"]):
        return
    await _receipts(client, products)
    await _desossa(client, products)
    log.info("demo stock received and the forequarter boned")
    await _till(client)
    await _sales(client, products)
    log.info("demo sales made")
    await _customers(client, products)
    log.info("demo customers, fiado sales, a payment and a return made")
    if await _finance_available(client):
        await _expenses(client)
        log.info("demo expenses entered")
        await _history(client, products)
    else:
        log.info("no finance API yet: demo expenses and history skipped")


async def _open_bills(client: httpx.AsyncClient, wanted: int) -> bool:
    answer = await client.get("/api/finance/payables", params={"limit": 1000})
    return answer.status_code == 200 and len(answer.json()["items"]) >= wanted


async def _history(client: httpx.AsyncClient, products: dict[str, dict[str, Any]]) -> None:
    desossa = (DIANTEIRO, DESOSSA_SOURCE_KG, list(DESOSSA_OUTPUTS))
    made = await demo_history.seed_history(client, products, list(CATALOGUE), desossa, _check)
    log.info("demo month imported: %(movements)d stock records, %(sales)d sales", made)
    # The ledger and the bills follow the imports' events: wait until they are all there.
    revenue = made["revenue_cents"]
    await _until(
        "the month in the ledger", partial(demo_history.month_posted, client, revenue), 300
    )
    await _until("the month's bills", partial(_open_bills, client, made["bills"]), within=300)
    settled = await demo_history.settle_the_month(client, _check)
    log.info("demo bills paid: %(bills_paid)d; card settlements: %(settled)d", settled)


def main(argv: list[str]) -> int:
    """`python -m tooling.demo http://127.0.0.1:8080` (admin password in ACOUGUE_ADMIN_PASSWORD)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8080"
    password = os.environ.get("ACOUGUE_ADMIN_PASSWORD")
    if not password:
        print("set ACOUGUE_ADMIN_PASSWORD to the admin's password", file=sys.stderr)
        return 2
    try:
        changed = asyncio.run(seed(url, password))
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    if changed:
        print(f"The admin's first-login password change was made: the password is now {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
