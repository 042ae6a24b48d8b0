"""Vendas in a real browser (issue 17): an admin takes back part of a paid sale (products and
quantities, a reason) and sees the refund and the sale's returns; a vendedor cancels their own
sale whose payment was declined."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.support import Watch, go, login, money, new_context, ready, shot
from tests.support.api import client, create_product, create_user, sell_when_known
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem, wait_for

pytestmark = pytest.mark.e2e

SELLER = ("balcao8", "senha-do-balcao-8")
COSTELA, CARVAO, SAL = "Costela da devolução", "Carvão da devolução", "Sal grosso da devolução"

system = system_fixture("system-returns-ui", requires=("chromium",))


@pytest.fixture(scope="module")
def api(system: RunningSystem) -> Iterator[httpx.Client]:
    """The admin's client, once the counter's catalogue knows the products."""
    with client(system) as admin_client:
        create_user(admin_client, *SELLER, "vendedor")
        ids = [
            create_product(admin_client, name=COSTELA, unit="kg", price_cents=3990, plu=45),
            create_product(admin_client, name=CARVAO, unit="un", price_cents=2500, plu=46),
            create_product(admin_client, name=SAL, unit="un", price_cents=1213, plu=47),
        ]
        for product_id in ids:
            sell_when_known(
                admin_client,
                {
                    "items": [{"product_id": product_id, "quantity": "1.000"}],
                    "payment": {"method": "pix"},
                },
            )
        yield admin_client


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    context = new_context(browser, watch)
    yield context.new_page()
    context.close()
    watch.check()


def _product(api: httpx.Client, name: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get("/api/products", params={"q": name}).json()["items"][0]
    return found


def test_an_admin_returns_part_of_a_paid_sale(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    sale = sell_when_known(
        api,
        {
            "items": [
                {"product_id": _product(api, COSTELA)["id"], "quantity": "2.000"},
                {"product_id": _product(api, CARVAO)["id"], "quantity": "2.000"},
            ],
            "payment": {"method": "cash", "cash_received_cents": 13000},
        },
    )
    assert sale["total_cents"] == 12980  # 79,80 + 50,00
    wait_for(lambda: api.get(f"/api/sales/{sale['id']}").json()["status"] == "paid")

    login(page, system.gateway, "admin", ADMIN_PASSWORD, f"/vendas?venda={sale['id']}")
    dialog = page.get_by_role("dialog", name=f"Venda {sale['id'][:8]}")
    dialog.get_by_role("button", name="Devolver itens").click()
    items = dialog.get_by_role("table", name="Itens a devolver")
    expect(items.locator("tr", has_text=COSTELA)).to_contain_text("2,000 kg")
    costela = dialog.get_by_label(f"Devolver {COSTELA} (kg)")
    expect(costela).to_be_focused()
    costela.fill("2,500")  # more than was sold
    dialog.get_by_label("Motivo da devolução").fill("Peça com osso a mais")
    dialog.get_by_role("button", name="Confirmar devolução").click()
    expect(dialog.locator("#sl-msg")).to_have_text(f"{COSTELA}: no máximo 2,000 kg a devolver.")
    costela.fill("0,750")
    dialog.get_by_label(f"Devolver {CARVAO} (un)").fill("1")
    shot(page, "25-vendas-devolucao", full_page=False)
    dialog.get_by_role("button", name="Confirmar devolução").click()
    message = dialog.locator("#sl-msg")
    expect(message).to_have_text(
        re.compile(r"^Devolução registrada: R\$\s[\d.]+,\d{2} estornado\(s\) \(Dinheiro\)\.$")
    )

    after = api.get(f"/api/sales/{sale['id']}").json()
    [done] = after["returns"]
    assert {(i["name"], i["quantity"]) for i in done["items"]} == {
        (COSTELA, "0.750"),
        (CARVAO, "1.000"),
    }
    assert done["reason"] == "Peça com osso a mais"
    refund = done["refund_cents"]
    assert after["returned_cents"] == refund
    reais = f"{refund // 100:,}".replace(",", ".") + f",{refund % 100:02d}"
    expect(message).to_contain_text(money(reais))

    returns = dialog.get_by_role("table", name="Devoluções da venda")
    expect(returns).to_contain_text(f"{COSTELA} 0,750 kg")
    expect(returns).to_contain_text(f"{CARVAO} 1 un")
    expect(returns).to_contain_text("Peça com osso a mais")
    expect(returns).to_contain_text(money(reais))
    expect(dialog).to_contain_text("Devolvido")
    shot(page, "26-vendas-devolvida", full_page=False)

    # What is left to return: 1,250 kg and 1 un.
    dialog.get_by_role("button", name="Devolver itens").click()
    expect(items.locator("tr", has_text=COSTELA)).to_contain_text("0,750 kg")
    dialog.get_by_label(f"Devolver {CARVAO} (un)").fill("2")
    dialog.get_by_label("Motivo da devolução").fill("mais uma")
    dialog.get_by_role("button", name="Confirmar devolução").click()
    expect(dialog.locator("#sl-msg")).to_have_text(f"{CARVAO}: no máximo 1 un a devolver.")
    dialog.get_by_role("button", name="Desistir").click()
    expect(items).to_be_hidden()
    assert len(api.get(f"/api/sales/{sale['id']}").json()["returns"]) == 1


def test_a_vendedor_cancels_their_own_declined_sale(
    page: Page, browser: Browser, system: RunningSystem, api: httpx.Client
) -> None:
    login(page, system.gateway, *SELLER, "/caixa")
    scan = page.get_by_label("Código de barras, PLU ou nome do produto")
    scan.fill("47")
    scan.press("Enter")
    expect(page.locator("#pos-total")).to_have_text(money("12,13"))
    page.keyboard.press("F3")  # a debit total ending in ,13 is declined
    expect(page.locator("#sale-status")).to_have_text("Pagamento recusado: saldo insuficiente")
    sale_short = page.locator("#sale-title").inner_text().removeprefix("Venda ").strip()

    go(page, "Vendas")
    row = page.locator("#sl-rows tr", has_text=sale_short)
    expect(row).to_contain_text("Pagamento recusado")
    row.get_by_role("button", name=f"Ver venda {sale_short}").click()
    dialog = page.get_by_role("dialog", name=f"Venda {sale_short}")
    expect(dialog.get_by_role("button", name="Devolver itens")).to_be_hidden()
    dialog.get_by_role("button", name="Cancelar venda").click()
    dialog.get_by_role("button", name="Confirmar cancelamento").click()
    expect(dialog.locator("#sl-msg")).to_have_text("Venda cancelada.")
    expect(dialog).to_contain_text("Cancelada")
    expect(dialog.get_by_role("button", name="Cancelar venda")).to_be_hidden()
    shot(page, "27-vendedor-cancela", full_page=False)
    dialog.get_by_role("button", name="Fechar").click()

    # A paid sale of theirs shows no cancel button to a vendedor. ("Caixa" exactly: the
    # menu also has "Meu caixa".)
    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Caixa", exact=True
    ).click()
    expect(page.locator("#main")).to_have_attribute("data-title", "Caixa")
    ready(page)
    scan = page.get_by_label("Código de barras, PLU ou nome do produto")
    scan.fill("46")
    scan.press("Enter")
    expect(page.locator("#pos-total")).to_have_text(money("25,00"))
    page.keyboard.press("F2")
    expect(page.locator("#sale-status")).to_have_text("Pago")
    paid_short = page.locator("#sale-title").inner_text().removeprefix("Venda ").strip()
    go(page, "Vendas")
    page.locator("#sl-rows tr", has_text=paid_short).get_by_role("button").click()
    paid = page.get_by_role("dialog", name=f"Venda {paid_short}")
    expect(paid).to_contain_text("Pago")
    expect(paid.get_by_role("button", name=re.compile("^Cancelar"))).to_be_hidden()
    expect(paid.get_by_role("button", name="Devolver itens")).to_be_hidden()


def test_a_return_whose_answer_was_lost_is_sent_again_and_made_once(
    page: Page, system: RunningSystem, api: httpx.Client, watch: Watch
) -> None:
    watch.allow_network_failures = True  # the answer is lost on purpose
    sale = sell_when_known(
        api,
        {
            "items": [{"product_id": _product(api, COSTELA)["id"], "quantity": "1.000"}],
            "payment": {"method": "cash", "cash_received_cents": 5000},
        },
    )
    wait_for(lambda: api.get(f"/api/sales/{sale['id']}").json()["status"] == "paid")
    keys: list[str | None] = []

    def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the return is made on the server...
            route.abort("connectionreset")  # ...and its answer never reaches the page
        else:
            route.continue_()

    login(page, system.gateway, "admin", ADMIN_PASSWORD, f"/vendas?venda={sale['id']}")
    page.route("**/api/sales/*/returns", lose_the_first_answer)
    dialog = page.get_by_role("dialog", name=f"Venda {sale['id'][:8]}")
    dialog.get_by_role("button", name="Devolver itens").click()
    dialog.get_by_label(f"Devolver {COSTELA} (kg)").fill("0,5")
    dialog.get_by_label("Motivo da devolução").fill("cliente desistiu")
    dialog.get_by_role("button", name="Confirmar devolução").click()
    message = dialog.locator("#sl-msg")
    expect(message).to_contain_text("Sem conexão com o servidor")
    expect(message).to_contain_text("a mesma devolução não será feita duas vezes")
    dialog.get_by_role("button", name="Confirmar devolução").click()
    expect(message).to_have_text(re.compile(r"^Devolução registrada: R\$\s19,95 estornado"))
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]
    returns = api.get(f"/api/sales/{sale['id']}").json()["returns"]
    assert [(r["refund_cents"], r["items"][0]["quantity"]) for r in returns] == [(1995, "0.500")]
