"""Suppliers (issue 18) on the real PostgreSQL: the `suppliers` function (search, create,
change; each create or change published as inventory.supplier.saved with a version) and
receipts that name a supplier and a due date (register-movement), served as main.py serves
them and publishing to a recording sink."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from functions.inventory import domain
from tests.functions.inventory_api import (
    ADMIN,
    PROBLEM,
    SELLER,
    STOCK,
    Inventory,
    inventory_functions,
    valid_cnpj,
)
from tests.support.database import ProvisionedDatabase

SAVED = "inventory.supplier.saved"
REGISTERED = "inventory.movement.registered"


@pytest.fixture(scope="module")
async def inventory(database: ProvisionedDatabase) -> AsyncIterator[Inventory]:
    async with inventory_functions(database) as functions:
        yield functions


def test_valid_cnpj_helper_makes_valid_cnpjs() -> None:
    from stdnum.br import cnpj

    assert all(cnpj.is_valid(valid_cnpj(n)) for n in range(1, 50))


def test_search_folds_accents_and_case_and_reads_cnpj_digits_only_without_letters() -> None:
    assert domain.fold("  Frigorífico  SÃO João ") == "frigorifico sao joao"
    assert domain.supplier_search("12.345.678/0001") == domain.SupplierSearch(
        "12.345.678/0001", "123456780001"
    )
    assert domain.supplier_search("Boi 2") == domain.SupplierSearch("boi 2", None)
    assert domain.supplier_search("   ") is None


# -- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [ADMIN, STOCK])
async def test_admin_and_estoquista_register_list_and_change_suppliers(
    inventory: Inventory, who: Any
) -> None:
    created = await inventory.supplier(who, name=f"Granja {who.username}")
    listed = await inventory.call("suppliers", "GET", "/api/suppliers", who)
    assert listed.status_code == 200
    assert created["id"] in [s["id"] for s in listed.json()["items"]]
    changed = await inventory.call(
        "suppliers", "PATCH", f"/api/suppliers/{created['id']}", who, json={"phone": "1133334444"}
    )
    assert changed.status_code == 200, changed.text


async def test_a_vendedor_may_not_see_or_touch_suppliers(inventory: Inventory) -> None:
    some = await inventory.supplier(name="Frigorífico do vendedor")
    for method, path, body in (
        ("GET", "/api/suppliers", None),
        ("POST", "/api/suppliers", {"name": "Outro"}),
        ("PATCH", f"/api/suppliers/{some['id']}", {"active": False}),
    ):
        answer = await inventory.call("suppliers", method, path, SELLER, json=body)
        assert answer.status_code == 403, (method, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
    anonymous = await inventory.call("suppliers", "GET", "/api/suppliers", None)
    assert anonymous.status_code == 401
    assert not inventory.events(SAVED, name="Outro")


# -- create, search, change ------------------------------------------------------------------


async def test_a_supplier_is_created_with_its_cnpj_digits_and_published(
    inventory: Inventory,
) -> None:
    digits = valid_cnpj(101)
    written = f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"
    body = await inventory.supplier(name="Frigorífico Boi Bom", cnpj=written, phone="11 4002-8922")
    assert (body["name"], body["cnpj"], body["active"]) == ("Frigorífico Boi Bom", digits, True)
    uuid.UUID(body["id"])
    [(headers, data)] = inventory.events(SAVED, supplier_id=body["id"])
    assert data == {
        "supplier_id": body["id"],
        "name": "Frigorífico Boi Bom",
        "cnpj": digits,
        "active": True,
        "version": 1,
    }
    assert headers["ce-subject"] == body["id"]
    assert headers["ce-source"] == "/acougue/suppliers"


async def test_a_cnpj_with_wrong_check_digits_is_422_and_a_registered_one_409(
    inventory: Inventory,
) -> None:
    digits = valid_cnpj(202)
    wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    answer = await inventory.call(
        "suppliers", "POST", "/api/suppliers", json={"name": "X", "cnpj": wrong}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert "CNPJ" in answer.text
    first = await inventory.supplier(name="Primeiro", cnpj=digits)
    again = await inventory.call(
        "suppliers", "POST", "/api/suppliers", json={"name": "Segundo", "cnpj": digits}
    )
    assert again.status_code == 409
    assert "CNPJ" in again.json()["detail"]
    # Changing another supplier to that CNPJ is the same conflict, and changes nothing.
    other = await inventory.supplier(name="Terceiro")
    taken = await inventory.call(
        "suppliers", "PATCH", f"/api/suppliers/{other['id']}", json={"cnpj": digits}
    )
    assert taken.status_code == 409
    assert [d["version"] for _, d in inventory.events(SAVED, supplier_id=other["id"])] == [1]
    assert len(inventory.events(SAVED, name="Segundo")) == 0
    assert first["cnpj"] == digits


async def test_search_by_name_ignores_accents_and_case_and_finds_cnpj_digits(
    inventory: Inventory,
) -> None:
    tag = uuid.uuid4().hex[:6]
    digits = valid_cnpj(303)
    joao = await inventory.supplier(name=f"Açougue São João {tag}", cnpj=digits)
    await inventory.supplier(name=f"Granja Paraíso {tag}")

    async def search(**params: Any) -> list[str]:
        answer = await inventory.call("suppliers", "GET", "/api/suppliers", STOCK, params=params)
        assert answer.status_code == 200, answer.text
        return [s["name"] for s in answer.json()["items"]]

    assert await search(q=f"ACOUGUE SAO JOAO {tag}") == [joao["name"]]
    assert await search(q=f"sao joão {tag.upper()}") == [joao["name"]]
    assert await search(q=f"paraiso {tag}") == [f"Granja Paraíso {tag}"]
    assert sorted(await search(q=tag)) == sorted([joao["name"], f"Granja Paraíso {tag}"])
    written = f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}"
    assert await search(q=written) == [joao["name"]]
    assert await search(q=f"%{tag}") == []  # LIKE's wildcards are text, not patterns
    assert await search(q=tag, limit=1) in ([joao["name"]], [f"Granja Paraíso {tag}"])
    bad = await inventory.call("suppliers", "GET", "/api/suppliers", params={"limit": 0})
    assert bad.status_code == 422


async def test_a_patch_changes_what_it_names_and_each_change_is_a_new_version(
    inventory: Inventory,
) -> None:
    tag = uuid.uuid4().hex[:6]
    created = await inventory.supplier(name=f"Casa de Carnes {tag}", phone="1133334444")
    path = f"/api/suppliers/{created['id']}"
    renamed = await inventory.call("suppliers", "PATCH", path, json={"name": f"Casa {tag}"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["phone"]) == (f"Casa {tag}", "1133334444")
    off = await inventory.call("suppliers", "PATCH", path, json={"active": False})
    assert off.json()["active"] is False
    # Nothing changed: no new version.
    same = await inventory.call("suppliers", "PATCH", path, json={"active": False})
    assert same.status_code == 200
    saved = inventory.events(SAVED, supplier_id=created["id"])
    assert [(d["version"], d["name"], d["active"]) for _, d in saved] == [
        (1, f"Casa de Carnes {tag}", True),
        (2, f"Casa {tag}", True),
        (3, f"Casa {tag}", False),
    ]
    inactive = await inventory.call(
        "suppliers", "GET", "/api/suppliers", params={"q": tag, "active": "false"}
    )
    assert [s["id"] for s in inactive.json()["items"]] == [created["id"]]
    active = await inventory.call(
        "suppliers", "GET", "/api/suppliers", params={"q": tag, "active": "true"}
    )
    assert active.json()["items"] == []


async def test_a_patch_of_an_unknown_supplier_is_404_and_an_empty_one_422(
    inventory: Inventory,
) -> None:
    unknown = await inventory.call(
        "suppliers", "PATCH", f"/api/suppliers/{uuid.uuid4()}", json={"active": False}
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)
    some = await inventory.supplier(name="Vazio")
    for body in ({}, {"name": None}, {"cnpj": "11.111.111/1111-11"}):
        empty = await inventory.call(
            "suppliers", "PATCH", f"/api/suppliers/{some['id']}", json=body
        )
        assert empty.status_code == 422, body


# -- receipts naming a supplier ------------------------------------------------------------


async def test_a_receipt_names_its_supplier_and_due_date_on_the_movement_and_event(
    inventory: Inventory,
) -> None:
    supplier = await inventory.supplier(name="Frigorífico Prazo")
    pid = await inventory.product()
    answer = await inventory.receive(
        product_id=pid, supplier_id=supplier["id"], due_on="2026-12-30"
    )
    assert answer.status_code == 201, answer.text
    movement_id = answer.json()["id"]
    [(headers, data)] = inventory.events(REGISTERED, movement_id=movement_id)
    assert (data["supplier_id"], data["due_on"], data["paid_with"]) == (
        supplier["id"],
        "2026-12-30",
        "payable",
    )
    assert (data["kind"], data["total_cost_cents"]) == ("receipt", 30000)
    assert headers["ce-source"] == "/acougue/register-movement"
    [row] = await inventory.rows(
        "SELECT supplier_id, due_on, paid_with FROM movements WHERE id = %s", movement_id
    )
    assert (str(row["supplier_id"]), str(row["due_on"]), row["paid_with"]) == (
        supplier["id"],
        "2026-12-30",
        "payable",
    )
    # Without a supplier, as before: paid_with payable by default, no due date.
    plain = await inventory.receive(product_id=pid)
    [(_, data)] = inventory.events(REGISTERED, movement_id=plain.json()["id"])
    assert (data["supplier_id"], data["due_on"], data["paid_with"]) == (None, None, "payable")
    cash = await inventory.receive(product_id=pid, supplier_id=supplier["id"], paid_with="cash")
    assert cash.status_code == 201
    [(_, data)] = inventory.events(REGISTERED, movement_id=cash.json()["id"])
    assert (data["supplier_id"], data["due_on"], data["paid_with"]) == (
        supplier["id"],
        None,
        "cash",
    )
    assert (await inventory.stock(pid))["quantity"] == "30.000"


async def test_a_receipt_from_an_unknown_or_inactive_supplier_is_422_and_moves_nothing(
    inventory: Inventory,
) -> None:
    pid = await inventory.product()
    unknown = await inventory.receive(product_id=pid, supplier_id=str(uuid.uuid4()))
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith(PROBLEM)
    assert "Fornecedor não encontrado" in unknown.json()["detail"]
    supplier = await inventory.supplier(name="Fornecedor Parado", active=False)
    inactive = await inventory.receive(product_id=pid, supplier_id=supplier["id"])
    assert inactive.status_code == 422
    assert "inativo" in inactive.json()["detail"]
    assert (await inventory.stock(pid))["quantity"] == "0.000"
    assert inventory.events(REGISTERED, product_id=pid) == []
    # Reactivated, it is bought from again.
    await inventory.call(
        "suppliers", "PATCH", f"/api/suppliers/{supplier['id']}", json={"active": True}
    )
    again = await inventory.receive(product_id=pid, supplier_id=supplier["id"])
    assert again.status_code == 201, again.text


async def test_a_due_date_is_only_for_a_receipt_bought_a_prazo(inventory: Inventory) -> None:
    pid = await inventory.product()
    for paid_with in ("cash", "bank"):
        answer = await inventory.receive(product_id=pid, paid_with=paid_with, due_on="2026-12-30")
        assert answer.status_code == 422, paid_with
        assert answer.headers["content-type"].startswith(PROBLEM)
    supplier = await inventory.supplier(name="Só entradas")
    loss = await inventory.call(
        "register-movement",
        "POST",
        "/api/inventory/movements",
        STOCK,
        json={
            "product_id": pid,
            "kind": "loss",
            "quantity": "1.000",
            "reason": "avaria",
            "supplier_id": supplier["id"],
        },
    )
    assert loss.status_code == 422
    assert inventory.events(REGISTERED, product_id=pid) == []
