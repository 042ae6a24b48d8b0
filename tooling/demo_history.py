"""The demo's month of history (issue 18): a shop's life on its own days, made through the
import path (POST /api/import/stock and /api/import/sales, admin only), which keeps each
record's original time, and through the back office's API.

Four weeks before today: suppliers; each Monday a receipt from the frigorífico a prazo
(its bill due 14 days later) and each Thursday one from the granja paid in cash; a desossa
of a forequarter each week; losses of trimmings; every day 7 to 16 sales at the counter's
hours over every method; then bills up to today paid, the card money due up to today
settled, and one other income. Everything is seeded by a fixed random seed, and the sales
by their legacy ids, so a second run imports nothing twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DAYS = 28
SEED = 18
# The counter's hours and how busy each is (a butcher's morning and late afternoon).
HOURS = (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)
HOUR_WEIGHTS = (2, 5, 8, 9, 8, 5, 3, 3, 4, 6, 9, 8, 3)
METHODS = ("pix", "debit", "credit", "cash")
METHOD_WEIGHTS = (40, 25, 15, 20)
# Small requests: each answers once its events are published (a few per sale).
IMPORT_BATCH = 50
SUPPLIERS = (
    ("Frigorífico Boi Bom Ltda", "11.222.333/0001-81", "(11) 4002-8922"),
    ("Granja Santa Clara", None, "(19) 3232-1010"),
)


class Product(Protocol):
    """What the history needs of a demo product (tooling.demo.DemoProduct)."""

    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def price_cents(self) -> int: ...
    @property
    def cost_cents(self) -> int: ...
    @property
    def category(self) -> str: ...


@dataclass(frozen=True)
class Plan:
    """The month: what is imported, in the order it happened."""

    movements: list[dict[str, Any]]
    breakdowns: list[dict[str, Any]]
    sales: list[dict[str, Any]]


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SAO_PAULO).isoformat()


def _kg(rng: random.Random, low: int, high: int) -> str:
    grams = rng.randrange(low, high, 5)
    return f"{grams // 1000}.{grams % 1000:03d}"


def plan(
    today: date,
    ids: dict[str, str],
    catalogue: list[Product],
    suppliers: dict[str, str],
    desossa: tuple[str, str, list[tuple[str, str]]],
) -> Plan:
    """The month before `today`, from a fixed seed (the same plan on every run)."""
    rng = random.Random(SEED)
    frigorifico, granja = (suppliers[name] for name, *_ in SUPPLIERS)
    received = [p for p in catalogue if p.cost_cents and p.name in ids]
    sellable = [p for p in catalogue if p.price_cents and p.name in ids]
    source, source_kg, outputs = desossa
    movements: list[dict[str, Any]] = []
    breakdowns: list[dict[str, Any]] = []
    sales: list[dict[str, Any]] = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        if day.weekday() == 6:  # closed on Sundays
            continue
        if day.weekday() in (0, 3):  # Monday: the frigorífico a prazo; Thursday: the granja
            beef = day.weekday() == 0
            for item in received:
                if (item.category == "Bovinos") != beef:
                    continue
                weighed = item.unit == "kg"
                receipt: dict[str, Any] = {
                    "product_id": ids[item.name],
                    "kind": "receipt",
                    "quantity": _kg(rng, 8000, 20000) if weighed else f"{rng.randint(12, 30)}.000",
                    "unit_cost_cents": item.cost_cents,
                    "lot": f"H{day:%y%m%d}",
                    "expires_on": (day + timedelta(days=8)).isoformat(),
                    "supplier_id": frigorifico if beef else granja,
                    "occurred_at": _at(day, 6, 30),
                }
                if beef:
                    receipt |= {"paid_with": "payable", "due_on": (day + timedelta(14)).isoformat()}
                else:
                    receipt["paid_with"] = "cash"
                movements.append(receipt)
        if day.weekday() == 1:  # Tuesday: the week's forequarter boned
            movements.append(
                {
                    "product_id": ids[source],
                    "kind": "receipt",
                    "quantity": source_kg,
                    "unit_cost_cents": 1850,
                    "paid_with": "payable",
                    "due_on": (day + timedelta(days=21)).isoformat(),
                    "supplier_id": frigorifico,
                    "occurred_at": _at(day, 6, 0),
                }
            )
            breakdowns.append(
                {
                    "source_product_id": ids[source],
                    "source_quantity": source_kg,
                    "outputs": [{"product_id": ids[n], "quantity": kg} for n, kg in outputs],
                    "cost_allocation": "value",
                    "occurred_at": _at(day, 7, 0),
                }
            )
        if day.weekday() == 5:  # Saturday: the week's trimmings and a little spoilage
            loss = rng.choice([p for p in received if p.unit == "kg"])
            movements.append(
                {
                    "product_id": ids[loss.name],
                    "kind": "loss",
                    "quantity": _kg(rng, 300, 1500),
                    "reason": "aparas",
                    "occurred_at": _at(day, 19, 30),
                }
            )
        busy = 16 if day.weekday() in (4, 5) else 7 + rng.randrange(5)
        for n in range(busy):
            hour = rng.choices(HOURS, HOUR_WEIGHTS)[0]
            method = rng.choices(METHODS, METHOD_WEIGHTS)[0]
            items = []
            for item in rng.sample(sellable, rng.randint(1, 3)):
                quantity = _kg(rng, 300, 2600) if item.unit == "kg" else f"{rng.randint(1, 3)}.000"
                items.append(
                    {
                        "product_id": ids[item.name],
                        "quantity": quantity,
                        "unit_price_cents": item.price_cents,
                    }
                )
            payment: dict[str, Any] = {"method": method}
            if method == "credit" and rng.random() < 0.3:
                payment["installments"] = rng.choice((2, 3))
            sales.append(
                {
                    "legacy_id": f"demo-{day:%Y%m%d}-{n + 1:02d}",
                    "occurred_at": _at(day, hour, rng.randrange(60)),
                    "items": items,
                    "payment": payment,
                }
            )
    movements.sort(key=lambda m: str(m["occurred_at"]))
    sales.sort(key=lambda s: str(s["occurred_at"]))
    return Plan(movements, breakdowns, sales)


async def _suppliers(client: httpx.AsyncClient, check: Any) -> dict[str, str]:
    listed = check(await client.get("/api/suppliers", params={"limit": 500}), "suppliers")
    found = {s["name"]: s["id"] for s in listed["items"]}
    for name, cnpj, phone in SUPPLIERS:
        if name not in found:
            body = {"name": name, "cnpj": cnpj, "phone": phone}
            found[name] = check(await client.post("/api/suppliers", json=body), name)["id"]
    return found


async def seed_history(
    client: httpx.AsyncClient,
    products: dict[str, dict[str, Any]],
    catalogue: list[Product],
    desossa: tuple[str, str, list[tuple[str, str]]],
    check: Any,
) -> dict[str, int]:
    """Imports the month and runs its back office; returns what it made."""
    today = datetime.now(SAO_PAULO).date()
    ids = {name: p["id"] for name, p in products.items()}
    suppliers = await _suppliers(client, check)
    month = plan(today, ids, catalogue, suppliers, desossa)
    stock = {"movements": month.movements, "breakdowns": month.breakdowns}
    check(await client.post("/api/import/stock", json=stock, timeout=120), "the month's stock")
    imported = 0
    for start in range(0, len(month.sales), IMPORT_BATCH):
        batch = {"sales": month.sales[start : start + IMPORT_BATCH]}
        answer = check(await client.post("/api/import/sales", json=batch, timeout=120), "sales")
        imported += int(answer.get("imported", 0))
    income = {
        "description": "Venda de sebo e ossos ao graxeiro",
        "amount_cents": 18000,
        "received_with": "cash",
        "occurred_on": (today - timedelta(days=9)).isoformat(),
    }
    check(await client.post("/api/finance/incomes", json=income), "other income")
    bills = sum(1 for m in month.movements if m.get("paid_with") == "payable")
    return {
        "movements": len(month.movements),
        "sales": imported,
        "bills": bills,
        "revenue_cents": revenue_of(month),
    }


def line_total(quantity: str, price_cents: int) -> int:
    """quantity × price, rounded half-up to the centavo, as the counter rounds a line."""
    whole, frac = quantity.split(".")
    return (int(whole) * 1000 * price_cents + int(frac) * price_cents + 500) // 1000


def revenue_of(month: Plan) -> int:
    """What the month's sales bring in (no discounts in the demo's history)."""
    return sum(
        line_total(i["quantity"], i["unit_price_cents"]) for s in month.sales for i in s["items"]
    )


async def month_posted(client: httpx.AsyncClient, revenue_cents: int) -> bool:
    """Whether the ledger has every imported sale's revenue on its days (finance follows the
    imports' events, a few seconds behind)."""
    today = datetime.now(SAO_PAULO).date()
    period = {
        "from": (today - timedelta(days=DAYS)).isoformat(),
        "to": (today - timedelta(1)).isoformat(),
    }
    answer = await client.get("/api/finance/report", params=period)
    return answer.status_code == 200 and answer.json()["revenue_cents"] >= revenue_cents


async def settle_the_month(client: httpx.AsyncClient, check: Any) -> dict[str, int]:
    """Bills due before today paid on their due day from the bank, and the card money due
    up to today settled (the bills and the expected settlements follow the imports' events,
    so this runs once they are there)."""
    today = datetime.now(SAO_PAULO).date()
    bills = check(
        await client.get("/api/finance/payables", params={"status": "open", "limit": 1000}),
        "bills",
    )["items"]
    paid = 0
    for bill in bills:
        if bill.get("due_on") and bill["due_on"] < today.isoformat():
            body = {
                "amount_cents": bill["open_cents"],
                "paid_with": "bank",
                "paid_on": bill["due_on"],
            }
            check(
                await client.post(f"/api/finance/payables/{bill['id']}/payments", json=body), "pay"
            )
            paid += 1
    settled = check(
        await client.post("/api/finance/receivables/settle", json={"until": today.isoformat()}),
        "settle",
    )
    return {"bills_paid": paid, "settled": int(settled.get("settled", 0))}
