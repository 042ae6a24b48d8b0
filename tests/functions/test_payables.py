"""payables on the real PostgreSQL (issue 18): a bill opens once from each receipt bought "a
prazo" (and from no other), shows its supplier's newest name, is listed by due date with the
overdue flag, and is paid in parts, never past what is open (concurrent payments included),
each payment posted Dr fornecedores a pagar / Cr caixa or banco: the result does not move,
the money and the debt go down by exactly the payment, the books stay balanced."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from shared import shop_time
from shared.events.inventory import SupplierSaved
from tests.functions.finance_backoffice import (
    PROBLEM,
    SELLER,
    STOCK,
    Finance,
    envelope,
    far_day,
    receipt,
    serve_finance,
)
from tests.support.database import ProvisionedDatabase
from tooling.manifests import REPO_ROOT


@pytest.fixture(scope="module")
async def finance(database: ProvisionedDatabase) -> AsyncIterator[Finance]:
    async for served in serve_finance(database):
        yield served


def supplier_saved(supplier_id: str, name: str, version: int) -> SupplierSaved:
    return SupplierSaved(supplier_id=supplier_id, name=name, active=True, version=version)


async def _bill_of(finance: Finance, supplier_id: str) -> dict[str, Any]:
    [bill] = await finance.list_bills(supplier_id=supplier_id)
    return bill


def test_main_serves_payables_as_its_own_target() -> None:
    """main.py's `payables` target: its own inbox key, the bills' events and routes
    (imported in a child: it configures logging)."""
    code = (
        "import json\n"
        "from functions.finance import main\n"
        "print(json.dumps([main._payables_events.consumer, sorted(main._payables_events.handlers),"
        " sorted(r.path for r in main._payables_http.routes), callable(main.payables)]))\n"
    )
    env = {
        **os.environ,
        "FUNCTION_TARGET": "payables",
        "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",
        "AUTH_JWKS_URL": "http://127.0.0.1:1/unused",
        "EVENT_AUTHENTICATION": "off",
    }
    answer = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO_ROOT,
        env=env,
    )
    assert answer.returncode == 0, answer.stderr
    consumer, handlers, paths, target = json.loads(answer.stdout.strip().splitlines()[-1])
    assert consumer == "payables"
    assert handlers == [
        "com.acougue.inventory.movement.registered",
        "com.acougue.inventory.supplier.saved",
    ]
    assert paths == [
        "/api/finance/payables",
        "/api/finance/payables/{payable_id:uuid}/payments",
    ]
    assert target is True


async def test_a_receipt_a_prazo_opens_one_bill_however_often_it_arrives(
    finance: Finance,
) -> None:
    supplier = str(uuid.uuid4())
    due = date(2999, 1, 31)
    moved = receipt(12_345, supplier_id=supplier, due_on=due)
    when = far_day(1701)
    before = await finance.balances()
    await finance.receive(moved, when)
    # The same event again (the inbox of each consumer), and a republish under a new id.
    again = envelope(moved, when, source="/acougue/register-movement")
    assert await finance.bills.apply(again) is True
    assert await finance.bills.apply(again) is False
    bills = await finance.list_bills(supplier_id=supplier)
    assert len(bills) == 1
    [bill] = bills
    assert bill["movement_id"] == moved.movement_id
    assert bill["product_id"] == moved.product_id
    assert bill["supplier_id"] == supplier
    assert bill["supplier_name"] is None  # not told yet
    assert bill["received_at"].startswith("1701-06-15T15:00:00")
    assert bill["due_on"] == "2999-01-31"
    assert (bill["amount_cents"], bill["paid_cents"], bill["open_cents"]) == (12_345, 0, 12_345)
    assert (bill["status"], bill["overdue"]) == ("open", False)
    after = await finance.balances()
    # The ledger posted the receipt once too: what the bills leave open is the account's.
    assert after["fornecedores_a_pagar"] - before["fornecedores_a_pagar"] == 12_345
    assert after["estoque"] - before["estoque"] == 12_345


async def test_the_ledger_and_the_bills_each_apply_the_same_delivery(
    finance: Finance,
) -> None:
    """post-ledger-entry and payables share the finance schema's inbox table: each records
    the event under its own key, so neither takes the other's delivery for a duplicate."""
    supplier = str(uuid.uuid4())
    moved = receipt(500, supplier_id=supplier)
    event = envelope(moved, far_day(1702), source="/acougue/register-movement")
    assert await finance.bills.apply(event) is True  # payables first, this time
    assert await finance.ledger.apply(event) is True
    assert await finance.ledger.apply(event) is False
    assert len(await finance.list_bills(supplier_id=supplier)) == 1


async def test_cash_bank_and_costless_receipts_open_no_bill(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    for paid_with in ("cash", "bank"):
        await finance.receive(
            receipt(1_000, paid_with=paid_with, supplier_id=supplier), far_day(1703)
        )
    await finance.receive(receipt(0, supplier_id=supplier), far_day(1703))
    assert await finance.list_bills(supplier_id=supplier) == []
    # A receipt from before paid_with existed was credited to fornecedores: it opens one.
    await finance.receive(receipt(700, paid_with=None, supplier_id=supplier), far_day(1703))
    [bill] = await finance.list_bills(supplier_id=supplier)
    assert bill["amount_cents"] == 700


async def test_a_bill_without_supplier_or_due_date(finance: Finance) -> None:
    moved = receipt(4_321)
    await finance.receive(moved, far_day(1704))
    [bill] = [b for b in await finance.list_bills() if b["movement_id"] == moved.movement_id]
    assert (bill["supplier_id"], bill["supplier_name"], bill["due_on"]) == (None, None, None)
    assert bill["overdue"] is False


async def test_the_supplier_name_follows_the_newest_version(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    await finance.receive(receipt(1_000, supplier_id=supplier), far_day(1705))
    for version, name in ((2, "Frigorífico Dois"), (1, "Frigorífico Um"), (3, "Frigorífico Três")):
        assert await finance.bills.apply(
            envelope(supplier_saved(supplier, name, version), far_day(1705))
        )
        if version == 1:  # an older version arriving late changes nothing
            assert (await _bill_of(finance, supplier))["supplier_name"] == "Frigorífico Dois"
    assert (await _bill_of(finance, supplier))["supplier_name"] == "Frigorífico Três"
    # A supplier's id that is no UUID can never apply: 422 for the broker, dead-lettered.
    bad = envelope(supplier_saved("not-a-uuid", "X", 1), far_day(1705))
    client = finance.clients["payables-events"]
    answer = await client.post(
        "/",
        headers={
            "ce-specversion": "1.0",
            "ce-id": bad.id,
            "ce-source": "/acougue/suppliers",
            "ce-type": bad.type,
            "content-type": "application/json",
        },
        json=bad.data,
    )
    assert answer.status_code == 422, answer.text


async def test_the_list_by_due_date_with_filters_and_overdue(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    today = shop_time.today()
    dues = [today + timedelta(days=10), today - timedelta(days=1), None, today]
    moved = [receipt(1_000 * (n + 1), supplier_id=supplier, due_on=d) for n, d in enumerate(dues)]
    for m in moved:
        await finance.receive(m, far_day(1706))
    bills = await finance.list_bills(supplier_id=supplier)
    assert [b["due_on"] for b in bills] == [
        (today - timedelta(days=1)).isoformat(),
        today.isoformat(),
        (today + timedelta(days=10)).isoformat(),
        None,
    ]
    assert [b["overdue"] for b in bills] == [True, False, False, False]
    overdue = bills[0]
    assert (await finance.pay(overdue["id"], overdue["amount_cents"])).status_code == 201
    paid = await finance.list_bills(supplier_id=supplier, status="paid")
    assert [(b["id"], b["status"], b["overdue"], b["open_cents"]) for b in paid] == [
        (overdue["id"], "paid", False, 0)
    ]
    still_open = await finance.list_bills(supplier_id=supplier, status="open")
    assert [b["amount_cents"] for b in still_open] == [4_000, 1_000, 3_000]
    assert len(await finance.list_bills(supplier_id=supplier, limit=2)) == 2
    others = await finance.list_bills(supplier_id=str(uuid.uuid4()))
    assert others == []
    for bad in ({"status": "late"}, {"supplier_id": "x"}, {"limit": 0}):
        answer = await finance.call("payables", "GET", "/api/finance/payables", params=bad)
        assert answer.status_code == 422, bad


async def test_partial_then_full_payment_moves_money_and_debt_not_the_result(
    finance: Finance,
) -> None:
    supplier = str(uuid.uuid4())
    await finance.receive(receipt(10_000, supplier_id=supplier), far_day(1707))
    bill = await _bill_of(finance, supplier)
    pay_day = date(1708, 3, 10)
    before, result_before = await finance.balances(), await finance.result(pay_day)
    first = await finance.pay(bill["id"], 3_500, "cash", pay_day)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["id"], body["paid_cents"], body["open_cents"], body["status"]) == (
        bill["id"],
        3_500,
        6_500,
        "open",
    )
    assert body["payment"]["amount_cents"] == 3_500
    assert body["payment"]["paid_with"] == "cash"
    assert body["payment"]["paid_on"] == "1708-03-10"
    middle = await finance.balances()
    assert middle["caixa"] - before["caixa"] == -3_500
    assert middle["fornecedores_a_pagar"] - before["fornecedores_a_pagar"] == -3_500
    second = await finance.pay(bill["id"], 6_500, "bank", pay_day)
    assert second.status_code == 201, second.text
    assert (second.json()["open_cents"], second.json()["status"]) == (0, "paid")
    after = await finance.balances()
    assert after["banco"] - middle["banco"] == -6_500
    assert after["fornecedores_a_pagar"] - before["fornecedores_a_pagar"] == -10_000
    changed = {a for a in after if after[a] != before[a]}
    assert changed == {"caixa", "banco", "fornecedores_a_pagar"}
    # Each payment's entry is announced once, by payables, as every posting of the ledger is.
    for paid, amount, account in ((first, 3_500, "caixa"), (second, 6_500, "banco")):
        payment = paid.json()["payment"]
        [event] = await finance.announced(payment["entry_id"])
        assert event["source"].endswith("/payables")
        assert event["data"]["cause"] == "payable.payment"
        assert event["data"]["cause_id"] == payment["id"]
        assert event["data"]["amount_cents"] == amount
        assert event["data"]["accounts"] == sorted([account, "fornecedores_a_pagar"])
    # The result of the day paid does not move: the receipt's cost is stock, not expense.
    result_after = await finance.result(pay_day)
    assert result_after["net_result_cents"] == result_before["net_result_cents"] == 0
    assert result_after["expenses_cents"] == 0
    # A paid bill takes no more.
    more = await finance.pay(bill["id"], 1)
    assert more.status_code == 422


async def test_more_than_is_open_is_422_and_changes_nothing(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    await finance.receive(receipt(2_000, supplier_id=supplier), far_day(1709))
    bill = await _bill_of(finance, supplier)
    before = await finance.balances()
    above = await finance.pay(bill["id"], 2_001)
    assert above.status_code == 422
    assert above.headers["content-type"].startswith(PROBLEM)
    assert "aberto" in above.json()["detail"]
    assert above.json()["open_cents"] == 2_000
    assert await finance.balances() == before
    assert (await _bill_of(finance, supplier))["paid_cents"] == 0
    unknown = await finance.pay(str(uuid.uuid4()), 100)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)
    for bad in (
        {"amount_cents": 0, "paid_with": "cash", "paid_on": "2026-01-01"},
        {"amount_cents": 100, "paid_with": "payable", "paid_on": "2026-01-01"},
        {"amount_cents": 100, "paid_with": "cash", "paid_on": "ontem"},
        {"amount_cents": 1.5, "paid_with": "cash", "paid_on": "2026-01-01"},
        {"amount_cents": 100, "paid_with": "cash"},
    ):
        answer = await finance.call(
            "payables", "POST", f"/api/finance/payables/{bill['id']}/payments", json=bad
        )
        assert answer.status_code == 422, bad
    assert await finance.balances() == before


async def test_concurrent_payments_never_pay_more_than_is_open(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    await finance.receive(receipt(10_000, supplier_id=supplier), far_day(1710))
    bill = await _bill_of(finance, supplier)
    before = await finance.balances()
    answers = await asyncio.gather(*(finance.pay(bill["id"], 3_000) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [201, 201, 201, 422, 422, 422]
    after = await _bill_of(finance, supplier)
    assert (after["paid_cents"], after["open_cents"]) == (9_000, 1_000)
    balances = await finance.balances()
    assert balances["caixa"] - before["caixa"] == -9_000
    assert balances["fornecedores_a_pagar"] - before["fornecedores_a_pagar"] == -9_000


async def test_a_payment_sent_again_with_its_key_is_made_once(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    await finance.receive(receipt(5_000, supplier_id=supplier), far_day(1711))
    bill = await _bill_of(finance, supplier)
    before = await finance.balances()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        *(finance.pay(bill["id"], 1_500, "bank", date(1711, 7, 1), headers=key) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["payment"]["id"] for a in answers}) == 1
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == [
        "",
        "true",
        "true",
    ]
    assert (await _bill_of(finance, supplier))["paid_cents"] == 1_500
    assert (await finance.balances())["banco"] - before["banco"] == -1_500
    other = await finance.pay(bill["id"], 1_000, "bank", date(1711, 7, 1), headers=key)
    assert other.status_code == 422
    assert (await _bill_of(finance, supplier))["paid_cents"] == 1_500


async def test_only_the_admin_sees_and_pays_bills(finance: Finance) -> None:
    supplier = str(uuid.uuid4())
    await finance.receive(receipt(1_000, supplier_id=supplier), far_day(1712))
    bill = await _bill_of(finance, supplier)
    path = f"/api/finance/payables/{bill['id']}/payments"
    body = {"amount_cents": 100, "paid_with": "cash", "paid_on": "2026-01-01"}
    for who, status in ((SELLER, 403), (STOCK, 403), (None, 401)):
        listed = await finance.call("payables", "GET", "/api/finance/payables", who)
        paid = await finance.call("payables", "POST", path, who, json=body)
        assert (listed.status_code, paid.status_code) == (status, status), who
    assert (await _bill_of(finance, supplier))["paid_cents"] == 0
