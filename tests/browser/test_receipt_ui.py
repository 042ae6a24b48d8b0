"""The receipt at the Caixa in a real browser (issue 17): once a sale is paid, "Imprimir
cupom" fetches GET /api/sales/{id}/receipt?format=html with the access token, puts it into
a hidden frame and calls the frame's print(). The print dialog itself is the browser's: here
window.print is recorded (an init script in every frame), so the test sees what would have
been printed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import Watch, login, money, new_context, shot
from tests.support.api import client, create_product, sell_when_known
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem, wait_for
from tooling.manifests import REPO_ROOT

pytestmark = pytest.mark.e2e

PLU = 44  # "Picanha do cupom", R$ 89,90 a kg
RECORD_PRINT = """
window.print = function () {
  const top = window.top;
  (top.__printed = top.__printed || []).push({
    frame: window !== top,
    text: document.body ? document.body.innerText : "",
  });
};
"""

system = system_fixture("system-receipt-ui", requires=("chromium",))


def _shop_name() -> str:
    """The shop's name as the sales query is given it (its Knative Service's SHOP_NAME)."""
    manifest = yaml.safe_load((REPO_ROOT / "knative/services/sales-query.yaml").read_text())
    env = manifest["spec"]["template"]["spec"]["containers"][0]["env"]
    return str(next(e["value"] for e in env if e["name"] == "SHOP_NAME"))


@pytest.fixture(scope="module")
def api(system: RunningSystem) -> Iterator[httpx.Client]:
    """The admin's client, once the counter's catalogue knows the product."""
    with client(system) as admin_client:
        product = create_product(
            admin_client, name="Picanha do cupom", unit="kg", price_cents=8990, plu=PLU
        )
        sell_when_known(
            admin_client,
            {"items": [{"product_id": product, "quantity": "0.100"}], "payment": {"method": "pix"}},
        )
        yield admin_client


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    context = new_context(browser, watch)
    context.add_init_script(RECORD_PRINT)
    yield context.new_page()
    context.close()
    watch.check()


def _printed(page: Page) -> list[dict[str, Any]]:
    printed: list[dict[str, Any]] = page.evaluate("window.__printed || []")
    return printed


def test_a_paid_sale_prints_its_receipt_from_the_caixa(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/caixa")
    scan = page.get_by_label("Código de barras, PLU ou nome do produto")
    scan.fill(f"1,5*{PLU}")
    scan.press("Enter")
    expect(page.locator("#pos-total")).to_have_text(money("134,85"))  # 1,500 × 89,90
    page.keyboard.press("F5")
    received = page.get_by_label("Valor recebido em dinheiro")
    received.fill("150")
    received.press("Enter")
    expect(page.locator("#sale-status")).to_have_text("Pago")
    sale_short = page.locator("#sale-title").inner_text().removeprefix("Venda ").strip()
    assert _printed(page) == []

    page.get_by_role("button", name="Imprimir cupom").click()
    page.wait_for_function("() => (window.__printed || []).length === 1")
    [printed] = _printed(page)
    assert printed["frame"] is True  # the frame's print(), not the Caixa's page
    receipt = printed["text"]
    assert _shop_name() in receipt
    assert "NÃO É DOCUMENTO FISCAL" in receipt
    assert "Picanha do cupom" in receipt
    assert "134,85" in receipt
    assert "150,00" in receipt  # cash received
    assert "15,15" in receipt  # and the change
    assert sale_short.upper() in receipt.upper()
    # The frame holds the receipt as the API gave it: one <pre> of lines at most 48 wide.
    frame = page.frame_locator("#receipt-frame")
    expect(frame.locator("pre")).to_contain_text("NÃO É DOCUMENTO FISCAL")
    widths = page.evaluate(
        "() => document.getElementById('receipt-frame').contentDocument.body.innerText"
        ".split('\\n').map((line) => line.length)"
    )
    assert max(widths) <= 48
    expect(page.locator("#pos-msg")).to_have_text("Cupom enviado para a impressão.")
    shot(page, "24-caixa-cupom")

    # F9 prints it again; Enter then starts the next sale.
    page.keyboard.press("F9")
    page.wait_for_function("() => (window.__printed || []).length === 2")
    page.keyboard.press("Enter")
    expect(page.locator("#pos-total")).to_have_text(money("0,00"))
    expect(page.get_by_role("button", name="Imprimir cupom")).to_be_hidden()


def test_the_receipt_of_a_sale_is_printed_from_vendas(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    product = api.get("/api/products", params={"q": "Picanha do cupom"}).json()["items"][0]
    sale = sell_when_known(
        api,
        {
            "items": [{"product_id": product["id"], "quantity": "2.000"}],
            "payment": {"method": "credit", "installments": 3},
        },
    )
    wait_for(lambda: api.get(f"/api/sales/{sale['id']}").json()["status"] == "paid")
    login(page, system.gateway, "admin", ADMIN_PASSWORD, f"/vendas?venda={sale['id']}")
    dialog = page.get_by_role("dialog", name=re.compile(f"^Venda {sale['id'][:8]}"))
    expect(dialog).to_contain_text("Pago")
    dialog.get_by_role("button", name="Imprimir cupom").click()
    page.wait_for_function("() => (window.__printed || []).length === 1")
    receipt = _printed(page)[0]["text"]
    assert "179,80" in receipt  # 2 kg × 89,90
    assert "NÃO É DOCUMENTO FISCAL" in receipt
    assert re.search(r"3\s*x", receipt), receipt  # the installments
