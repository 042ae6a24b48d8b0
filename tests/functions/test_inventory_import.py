"""The import of past stock (issue 18: POST /api/import/stock, admin only, served by
register-movement) on the real PostgreSQL: each record goes through the live commands and
keeps its original time (the movement's created_at, the CloudEvent's time, which finance
posts the ledger at); records apply in the order they happened, all or nothing; a record
imported before is skipped, so an import sent twice moves stock once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from functions.inventory import domain
from shared.contracts.imports import MAX_IMPORT_MOVEMENTS
from tests.functions.inventory_api import (
    ADMIN,
    PROBLEM,
    SELLER,
    STOCK,
    Inventory,
    inventory_functions,
)
from tests.support.database import ProvisionedDatabase

REGISTERED = "inventory.movement.registered"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
async def inventory(database: ProvisionedDatabase) -> AsyncIterator[Inventory]:
    async with inventory_functions(database) as functions:
        yield functions


def ago(days: float, hour: int = 0) -> datetime:
    return NOW - timedelta(days=days) + timedelta(hours=hour)


def iso(at: datetime) -> str:
    return at.isoformat()


def ce_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def receipt(pid: str, at: datetime, quantity: str = "10.000", cost: int = 3000, **more: Any) -> Any:
    return {
        "product_id": pid,
        "kind": "receipt",
        "quantity": quantity,
        "unit_cost_cents": cost,
        "occurred_at": iso(at),
        **more,
    }


async def post(inventory: Inventory, body: Any, who: Any = ADMIN) -> httpx.Response:
    return await inventory.call("register-movement", "POST", "/api/import/stock", who, json=body)


async def movements_of(inventory: Inventory, pid: str) -> list[dict[str, Any]]:
    return await inventory.rows(
        "SELECT id, kind, quantity, balance_after, created_at, supplier_id, due_on, paid_with"
        " FROM movements WHERE product_id = %s ORDER BY seq",
        uuid.UUID(pid),
    )


# -- pure ---------------------------------------------------------------------------------------


def test_import_ids_are_the_same_for_the_same_record_and_count_identical_lines() -> None:
    record = {"product_id": "p", "quantity": "1.000", "occurred_at": ago(3)}
    same_instant = {**record, "occurred_at": ago(3).astimezone(timezone(timedelta(hours=-3)))}
    other = {**record, "quantity": "2.000"}
    first = domain.import_ids("movement", [record, other, record])
    assert domain.import_ids("movement", [same_instant, other, record]) == first
    assert len(set(first)) == 3  # the second identical line is a record of its own
    assert domain.import_ids("breakdown", [record]) != first[:1]


def test_import_order_is_by_time_then_movements_first_then_as_sent() -> None:
    t = ago(1)
    order = domain.import_order(
        [("movement", 0, t), ("breakdown", 0, t), ("movement", 1, t - timedelta(1))]
    )
    assert order == [("movement", 1), ("movement", 0), ("breakdown", 0)]


# -- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [STOCK, SELLER])
async def test_only_an_admin_imports(inventory: Inventory, who: Any) -> None:
    pid = await inventory.product()
    answer = await post(inventory, {"movements": [receipt(pid, ago(2))]}, who)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert await movements_of(inventory, pid) == []


# -- original time ----------------------------------------------------------------------------


async def test_each_record_keeps_its_time_on_the_movement_and_the_event(
    inventory: Inventory,
) -> None:
    supplier = await inventory.supplier(name="Frigorífico do passado")
    carcass = await inventory.product("Dianteiro")
    cut = await inventory.product("Acém")
    received_at = ago(20, hour=9)
    cut_at = ago(19, hour=7)
    due = (received_at + timedelta(days=14)).date().isoformat()
    answer = await post(
        inventory,
        {
            "movements": [
                receipt(
                    carcass,
                    received_at,
                    "50.000",
                    2000,
                    supplier_id=supplier["id"],
                    due_on=due,
                    lot="L-1",
                    expires_on=(received_at + timedelta(days=30)).date().isoformat(),
                )
            ],
            "breakdowns": [
                {
                    "source_product_id": carcass,
                    "source_quantity": "20.000",
                    "outputs": [{"product_id": cut, "quantity": "18.000"}],
                    "occurred_at": iso(cut_at),
                }
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"movements": 1, "breakdowns": 1}
    source = await movements_of(inventory, carcass)
    assert [(m["kind"], m["created_at"]) for m in source] == [
        ("receipt", received_at),
        ("breakdown_out", cut_at),
        ("loss", cut_at),
    ]
    assert (str(source[0]["supplier_id"]), source[0]["due_on"].isoformat()) == (
        supplier["id"],
        due,
    )
    [output] = await movements_of(inventory, cut)
    assert output["created_at"] == cut_at
    [breakdown] = await inventory.rows(
        "SELECT created_at FROM breakdowns WHERE source_product_id = %s", uuid.UUID(carcass)
    )
    assert breakdown["created_at"] == cut_at
    [lot] = await inventory.rows(
        "SELECT received_at FROM lots WHERE product_id = %s", uuid.UUID(carcass)
    )
    assert lot["received_at"] == received_at
    # The events carry the record's time (finance posts the ledger on that day).
    [(headers, data)] = inventory.events(REGISTERED, product_id=carcass, kind="receipt")
    assert headers["ce-time"] == ce_time(received_at)
    assert (data["supplier_id"], data["due_on"], data["paid_with"]) == (
        supplier["id"],
        due,
        "payable",
    )
    assert data["total_cost_cents"] == 100_000
    assert headers["ce-actor"] == ADMIN.user_id
    for kind, product in (("breakdown_out", carcass), ("loss", carcass), ("breakdown_in", cut)):
        [(headers, _)] = inventory.events(REGISTERED, product_id=product, kind=kind)
        assert headers["ce-time"] == ce_time(cut_at), kind
    # A live receipt afterwards is dated now, as before.
    live = await inventory.receive(product_id=cut)
    [(headers, _)] = inventory.events(REGISTERED, movement_id=live.json()["id"])
    assert datetime.fromisoformat(headers["ce-time"]) > NOW - timedelta(minutes=1)


async def test_records_apply_in_the_order_they_happened_not_as_sent(
    inventory: Inventory,
) -> None:
    pid = await inventory.product()
    sent = [
        {"product_id": pid, "kind": "count", "quantity": "7.000", "occurred_at": iso(ago(1))},
        {
            "product_id": pid,
            "kind": "loss",
            "quantity": "2.000",
            "reason": "avaria",
            "occurred_at": iso(ago(3)),
        },
        receipt(pid, ago(5), "10.000"),
    ]
    answer = await post(inventory, {"movements": sent})
    assert answer.status_code == 200, answer.text
    moved = await movements_of(inventory, pid)
    assert [(m["kind"], str(m["balance_after"])) for m in moved] == [
        ("receipt", "10.000"),
        ("loss", "8.000"),
        ("count", "7.000"),
    ]
    assert [m["created_at"] for m in moved] == [ago(5), ago(3), ago(1)]
    assert (await inventory.stock(pid))["quantity"] == "7.000"
    published = [d["kind"] for _, d in inventory.events(REGISTERED, product_id=pid)]
    assert published == ["receipt", "loss", "count"]


# -- all or nothing -----------------------------------------------------------------------------


async def test_a_bad_record_refuses_the_whole_import_naming_its_index(
    inventory: Inventory,
) -> None:
    pid = await inventory.product()
    before = len(inventory.sink.received)
    answer = await post(
        inventory,
        {
            "movements": [
                receipt(pid, ago(4)),
                receipt(pid, ago(3)),
                receipt(pid, ago(2), supplier_id=str(uuid.uuid4())),
                receipt(pid, ago(1)),
            ]
        },
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem = answer.json()
    assert problem["detail"].startswith("movements[2]: Fornecedor não encontrado")
    assert (problem["record"], problem["index"]) == ("movements", 2)
    assert await movements_of(inventory, pid) == []
    assert (await inventory.stock(pid))["quantity"] == "0.000"
    assert len(inventory.sink.received) == before
    # A desossa of a product inventory does not know names the breakdown.
    unknown = await post(
        inventory,
        {
            "movements": [receipt(pid, ago(4))],
            "breakdowns": [
                {
                    "source_product_id": pid,
                    "source_quantity": "5.000",
                    "outputs": [{"product_id": str(uuid.uuid4()), "quantity": "4.000"}],
                    "occurred_at": iso(ago(3)),
                }
            ],
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("breakdowns[0]: Unknown products")
    assert await movements_of(inventory, pid) == []


async def test_bounds_of_an_import(inventory: Inventory) -> None:
    pid = await inventory.product()
    one = receipt(pid, ago(1))
    refused: list[Any] = [
        {},
        {"movements": [], "breakdowns": []},
        {"movements": [{**one, "occurred_at": iso(NOW + timedelta(hours=1))}]},
        {"movements": [{**one, "occurred_at": iso(NOW - timedelta(days=5 * 366 + 1))}]},
        {"movements": [{**one, "occurred_at": "2026-01-05T10:00:00"}]},  # no time zone
        {"movements": [{k: v for k, v in one.items() if k != "occurred_at"}]},
        {"movements": [one] * (MAX_IMPORT_MOVEMENTS + 1)},
        {"movements": [{**one, "paid_with": "cash", "due_on": "2026-01-05"}]},
        {"movements": [{**one, "kind": "sale"}]},
        {"sales": [one]},
    ]
    for body in refused:
        answer = await post(inventory, body)
        assert answer.status_code == 422, body if len(str(body)) < 300 else "too many"
        assert answer.headers["content-type"].startswith(PROBLEM)
    assert await movements_of(inventory, pid) == []
    fine = await post(inventory, {"movements": [one] * MAX_IMPORT_MOVEMENTS})
    assert fine.status_code == 200, fine.text
    assert fine.json() == {"movements": MAX_IMPORT_MOVEMENTS, "breakdowns": 0}


# -- sent twice ---------------------------------------------------------------------------------


async def test_an_import_sent_again_moves_stock_once(inventory: Inventory) -> None:
    pid = await inventory.product()
    body = {
        "movements": [
            receipt(pid, ago(6), "10.000"),
            receipt(pid, ago(6), "10.000"),  # the same line twice: two receipts
            receipt(pid, ago(4), "5.000"),
        ]
    }
    first = await post(inventory, body)
    assert first.json() == {"movements": 3, "breakdowns": 0}
    again = await post(inventory, body)
    assert again.status_code == 200
    assert again.json() == {"movements": 0, "breakdowns": 0}
    # The same records written with another offset are the same records; a new one applies.
    shifted = [
        {
            **r,
            "occurred_at": datetime.fromisoformat(r["occurred_at"])
            .astimezone(timezone(timedelta(hours=-3)))
            .isoformat(),
        }
        for r in body["movements"]
    ]
    more = await post(inventory, {"movements": [*shifted, receipt(pid, ago(2), "1.000")]})
    assert more.json() == {"movements": 1, "breakdowns": 0}
    assert (await inventory.stock(pid))["quantity"] == "26.000"
    assert len(inventory.events(REGISTERED, product_id=pid)) == 4


async def test_the_same_import_sent_twice_at_once_applies_once(inventory: Inventory) -> None:
    pid = await inventory.product()
    body = {"movements": [receipt(pid, ago(3, hour=h), "1.000") for h in range(5)]}
    answers = await asyncio.gather(post(inventory, body), post(inventory, body))
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.json()["movements"] for a in answers) == [0, 5]
    assert (await inventory.stock(pid))["quantity"] == "5.000"
