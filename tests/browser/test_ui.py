"""The shop's web UI in a real browser (Debian's Chromium driven by Playwright).

The whole system is started once for the module (memory broker) and seeded with the demo
(`tooling.demo`), as `ACOUGUE_DEMO=1` does; every page is then used as the shop uses it:
in Portuguese, by keyboard at the counter, with no request leaving this machine and no
error in the browser's console. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.support import (
    Watch,
    go,
    login,
    money,
    new_context,
    price_label,
    ready,
    shot,
)
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem
from tooling.demo import CATALOGUE, seed

pytestmark = pytest.mark.e2e

NAV_ADMIN = [
    "Painel", "Caixa", "Produtos", "Estoque", "Vendas", "Clientes", "Meu caixa", "Financeiro",
    "Fornecedores", "Recebíveis", "Usuários", "Eventos",
]  # fmt: skip
NAV_VENDEDOR = ["Caixa", "Produtos", "Vendas", "Clientes", "Meu caixa"]
SELLER = ("balcao1", "senha-do-balcao-1")


def _seed_demo(system: RunningSystem) -> None:
    asyncio.run(seed(system.gateway, ADMIN_PASSWORD))


system = system_fixture("system-browser", requires=("chromium",), then=_seed_demo)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    """A fresh browser profile per test; the test fails on console errors or external hosts."""
    context = new_context(browser, watch)
    yield context.new_page()
    context.close()
    watch.check()


def _products(api: httpx.Client) -> dict[str, dict[str, Any]]:
    answer = api.get("/api/products")
    assert answer.status_code == 200, answer.text
    return {p["name"]: p for p in answer.json()["items"]}


def _nav(page: Page) -> list[str]:
    nav = page.get_by_role("navigation", name="Principal")
    return [link.inner_text() for link in nav.get_by_role("link").all() if link.is_visible()]


# -- the demo -----------------------------------------------------------------------------


def test_the_demo_seed_is_complete_and_runs_once(system: RunningSystem, api: httpx.Client) -> None:
    products = _products(api)
    assert {item.name for item in CATALOGUE} <= set(products)
    sales_before = api.get("/api/sales", params={"limit": 1000}).json()["items"]
    methods = {s["payment"]["method"] for s in sales_before}
    assert methods == {"pix", "debit", "credit", "cash", "fiado"}  # the demo sells on fiado too
    asyncio.run(seed(system.gateway, ADMIN_PASSWORD))  # a second run changes nothing
    assert len(_products(api)) == len(products)
    assert len(api.get("/api/sales", params={"limit": 1000}).json()["items"]) == len(sales_before)


# -- login and navigation -------------------------------------------------------------------


def test_login_reaches_the_portuguese_navigation(
    page: Page, system: RunningSystem, watch: Watch
) -> None:
    watch.allow_http(401)  # the wrong password, on purpose
    page.goto(f"{system.gateway}/login")
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    page.get_by_label("Usuário").fill("admin")
    page.get_by_label("Senha").fill("senha-errada")
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("alert")).to_have_text("Usuário ou senha inválidos.")
    shot(page, "01-login-erro")

    page.get_by_label("Senha").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    ready(page)
    expect(page).to_have_url(re.compile(r"/painel$"))  # the admin's home (issue 18)
    assert _nav(page) == NAV_ADMIN
    expect(page.locator("#session")).to_contain_text("admin")
    expect(page.locator("#session")).to_contain_text("Administrador")
    go(page, "Caixa")
    expect(page.get_by_label("Código de barras, PLU ou nome do produto")).to_be_focused()
    shot(page, "02-caixa-admin")

    # The menu swaps the page in place: the access token (kept in memory) stays.
    page.evaluate("window.__samePage = true")
    go(page, "Produtos")
    assert page.evaluate("window.__samePage") is True
    expect(page).to_have_url(re.compile(r"/produtos$"))
    picanha = page.locator("#prod-rows tr", has_text="Picanha").first
    expect(picanha).to_contain_text(money("89,90"))
    shot(page, "03-produtos")


def test_products_are_created_edited_and_deactivated(page: Page, system: RunningSystem) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/produtos")
    page.get_by_role("button", name="Novo produto").click()
    dialog = page.get_by_role("dialog", name="Novo produto")
    dialog.get_by_label("Nome").fill("Picanha wagyu")
    dialog.get_by_label("Categoria").select_option(label="Bovinos")
    dialog.get_by_label("Preço").fill("1.234,56")
    dialog.get_by_label("PLU da balança").fill("777")
    dialog.get_by_label("Código de barras").fill("7891000000001")  # wrong check digit
    dialog.get_by_role("button", name="Salvar").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Código de barras inválido")
    dialog.get_by_label("Código de barras").fill("")
    dialog.get_by_role("button", name="Salvar").click()
    expect(page.locator("#prod-msg")).to_have_text("Picanha wagyu cadastrado.")
    row = page.locator("#prod-rows tr", has_text="Picanha wagyu")
    expect(row).to_contain_text(money("1.234,56"))
    expect(row).to_contain_text("777")

    row.get_by_role("button", name="Editar Picanha wagyu").click()
    dialog = page.get_by_role("dialog", name="Editar Picanha wagyu")
    dialog.get_by_label("Preço").fill("1.299,90")
    dialog.get_by_role("button", name="Salvar").click()
    expect(row).to_contain_text(money("1.299,90"))

    row.get_by_role("button", name="Desativar Picanha wagyu").click()
    expect(page.locator("#prod-msg")).to_have_text("Picanha wagyu desativado.")
    expect(row).to_have_count(0)
    page.get_by_label("Mostrar inativos").check()
    expect(row).to_contain_text("Inativo")


def test_a_stranger_is_sent_to_the_login(browser: Browser, system: RunningSystem) -> None:
    answer = httpx.post(system.gateway + "/api/auth/refresh", timeout=15)
    assert answer.status_code == 401, (
        "a refresh without a refresh cookie opened a session for "
        f"{answer.json().get('user')}: the gateway must not keep cookies between requests"
    )
    stranger_watch = Watch()
    stranger_watch.allow_http(401)
    context = new_context(browser, stranger_watch)
    try:
        stranger = context.new_page()
        stranger.goto(system.gateway + "/financeiro")
        expect(stranger).to_have_url(re.compile(r"/login\?next=%2Ffinanceiro$"))
    finally:
        context.close()
    stranger_watch.check()


# -- the counter ------------------------------------------------------------------------------


def test_sell_by_scale_label_with_pix_until_paid(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/caixa")
    scan = page.get_by_label("Código de barras, PLU ou nome do produto")
    scan.fill(price_label(1, 12345))  # Picanha, PLU 1, printed price R$ 123,45
    scan.press("Enter")
    line = page.locator("#pos-lines tr", has_text="Picanha")
    expect(line).to_contain_text("1,373 kg")  # 123,45 / 89,90 per kg
    expect(line).to_contain_text(money("123,45"))
    expect(page.locator("#pos-total")).to_have_text(money("123,45"))
    expect(scan).to_be_focused()

    page.keyboard.press("F2")
    panel = page.locator("#sale-panel")
    expect(panel.locator("#pix-qr")).to_have_attribute("src", re.compile(r"^blob:"))
    expect(panel.get_by_label("PIX copia e cola")).to_have_value(re.compile(r"^000201"))
    expect(panel.locator("#sale-status")).to_have_text("Pago")
    expect(panel.locator("#sale-info")).to_contain_text(money("123,45"))
    shot(page, "04-caixa-pix-pago")

    sale_id = (panel.locator("#sale-title").inner_text()).removeprefix("Venda ").strip()
    paid = api.get("/api/sales", params={"status": "paid"}).json()["items"]
    sale = next(s for s in paid if s["id"].startswith(sale_id))
    assert (sale["total_cents"], sale["payment"]["method"]) == (12345, "pix")
    assert sale["items"][0]["quantity"] == "1.373"


def test_sell_by_name_search_on_a_tablet_with_pix(
    browser: Browser, system: RunningSystem, watch: Watch
) -> None:
    context = new_context(browser, watch, tablet=True)
    page = context.new_page()
    try:
        login(page, system.gateway, "admin", ADMIN_PASSWORD, "/caixa")
        scan = page.get_by_label("Código de barras, PLU ou nome do produto")
        scan.fill("linguiça")  # two products: the list opens, arrows choose
        scan.press("Enter")
        options = page.get_by_role("listbox", name="Produtos encontrados").get_by_role("option")
        expect(options).to_have_count(2)
        scan.press("ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        scan.press("Enter")
        weight = page.get_by_label(re.compile("^Peso de Linguiça toscana"))
        expect(weight).to_be_focused()
        weight.fill("0,750")
        weight.press("Enter")
        expect(page.locator("#pos-lines")).to_contain_text("0,750 kg")
        expect(page.locator("#pos-lines")).to_contain_text(money("20,93"))  # 0,750 × 27,90

        scan.fill("fraldinha")  # one product: straight to the weight
        scan.press("Enter")
        page.get_by_label("Peso de Fraldinha (kg)").fill("1,5")
        page.keyboard.press("Enter")
        expect(page.locator("#pos-total")).to_have_text(money("95,78"))  # 20,93 + 74,85
        shot(page, "05-caixa-tablet-itens")
        page.locator("#pay-buttons").get_by_role("button", name="PIX").click()
        expect(page.locator("#sale-status")).to_have_text("Pago")
        shot(page, "06-caixa-tablet-pago")
        page.keyboard.press("Enter")  # a new sale
        expect(page.locator("#pos-total")).to_have_text(money("0,00"))
    finally:
        context.close()


def test_a_declined_card_is_paid_again_in_cash_with_change(
    page: Page, system: RunningSystem
) -> None:
    carvao = next(item for item in CATALOGUE if item.name == "Carvão vegetal 5 kg")
    assert carvao.barcode is not None
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/caixa")
    scan = page.get_by_label("Código de barras, PLU ou nome do produto")
    scan.fill(carvao.barcode)
    scan.press("Enter")
    expect(page.locator("#pos-lines")).to_contain_text("Carvão vegetal 5 kg")
    page.keyboard.press("F6")
    page.get_by_label("Desconto (F6)").fill("9,77")  # 34,90 − 9,77 = 25,13: declined
    page.keyboard.press("Enter")
    expect(page.locator("#pos-total")).to_have_text(money("25,13"))
    page.keyboard.press("F3")
    expect(page.locator("#sale-status")).to_have_text("Pagamento recusado: saldo insuficiente")
    page.keyboard.press("F5")
    received = page.get_by_label("Valor recebido em dinheiro")
    expect(received).to_be_focused()
    received.fill("30")
    expect(page.locator("#cash-change")).to_have_text("Troco: R$\u00a04,87")
    received.press("Enter")
    expect(page.locator("#sale-status")).to_have_text("Pago")
    expect(page.locator("#sale-info")).to_contain_text("Troco R$\u00a04,87")
    shot(page, "07-caixa-troco")


def test_a_lost_answer_is_retried_with_the_same_idempotency_key(
    page: Page, system: RunningSystem, watch: Watch, api: httpx.Client
) -> None:
    watch.allow_network_failures = True  # the answer is lost on purpose
    lost: list[str] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            answer = route.fetch()  # the sale is made on the server...
            lost.append(answer.json()["id"])
            route.abort("connectionreset")  # ...and its answer never reaches the counter
        else:
            route.continue_()

    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/caixa")
    page.route("**/api/sales", lose_the_first_answer)
    scan = page.get_by_label("Código de barras, PLU ou nome do produto")
    scan.fill("2*5")  # 2 kg of PLU 5 (Costela bovina)
    scan.press("Enter")
    expect(page.locator("#pos-total")).to_have_text(money("59,80"))
    page.keyboard.press("F3")
    expect(page.locator("#sale-title")).to_have_text("Sem resposta do servidor")
    page.get_by_role("button", name="Tentar de novo").click()
    expect(page.locator("#sale-status")).to_have_text("Pago")
    made = lost[0]
    expect(page.locator("#sale-title")).to_have_text(f"Venda {made[:8]}")
    same_total = [
        s
        for s in api.get("/api/sales", params={"limit": 1000}).json()["items"]
        if s["total_cents"] == 5980 and s["payment"]["method"] == "debit"
    ]
    assert [s["id"] for s in same_total] == [made]  # one sale, not two


# -- stock ------------------------------------------------------------------------------------


def _kg(quantity: Decimal) -> str:
    """As the pages write a weight: 1.234,500 kg."""
    return f"{quantity:,.3f}".replace(",", " ").replace(".", ",").replace(" ", ".") + " kg"


def test_receipt_and_desossa_with_yield_and_costs(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    products = _products(api)
    dianteiro = products["Dianteiro bovino"]
    before = api.get(f"/api/inventory/stock/{dianteiro['id']}").json()
    assert before["average_cost_cents"] == 1850
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/estoque")

    receipt = page.get_by_role("tabpanel", name="Entrada")
    receipt.get_by_label("Produto").select_option(label="Dianteiro bovino (kg)")
    receipt.get_by_label("Quantidade").fill("50")
    receipt.get_by_label("Custo unitário").fill("18,50")
    receipt.get_by_label("Lote").fill("L-TESTE")
    soon = (datetime.now(UTC) - timedelta(hours=3) + timedelta(days=2)).date()
    receipt.get_by_label("Validade").fill(soon.strftime("%d%m%Y"))  # typed as digits
    receipt.get_by_role("button", name="Registrar entrada").click()
    expect(receipt.locator("#rc-msg")).to_contain_text(
        "Entrada registrada: 50,000 kg de Dianteiro bovino"
    )
    expect(receipt.locator("#rc-msg")).to_contain_text(money("925,00"))
    row = page.locator("#lv-rows tr", has_text="Dianteiro bovino")
    # The demo's month received and boned forequarters too: from what stock held before.
    held = Decimal(before["quantity"])
    expect(row).to_contain_text(_kg(held + 50))
    expect(row).to_contain_text(f"Vence {soon:%d/%m/%Y} · lote L-TESTE")

    page.get_by_role("tab", name="Desossa").click()
    desossa = page.get_by_role("tabpanel", name="Desossa")
    desossa.get_by_label("Peça (entrada)").select_option(label="Dianteiro bovino (kg)")
    desossa.get_by_label("Peso da peça (kg)").fill("40")
    cuts = [("Acém (kg)", "14"), ("Músculo (kg)", "7"), ("Osso bovino (kg)", "12")]
    for n, (cut, kg) in enumerate(cuts):
        desossa.locator("[data-output]").nth(n).select_option(label=cut)
        desossa.locator("[data-output-qty]").nth(n).fill(kg)
    desossa.get_by_role("button", name="Registrar desossa").click()
    result = desossa.locator("#ds-result")
    expect(result).to_contain_text("Rendimento")
    expect(result.locator("#ds-yield")).to_have_text("82,50 %")  # 33 of 40 kg
    expect(result).to_contain_text("7,000 kg")  # trimmings
    expect(result).to_contain_text(money("740,00"))  # 40 kg at R$ 18,50
    expect(result.locator("tbody tr")).to_have_count(3)
    expect(row).to_contain_text(_kg(held + 50 - 40))
    shot(page, "08-estoque-desossa")

    after = api.get(
        "/api/inventory/movements", params={"product_id": dianteiro["id"], "limit": 3}
    ).json()["items"]
    assert [m["kind"] for m in after[:2]] == ["loss", "breakdown_out"]


# -- sales and finance ------------------------------------------------------------------------


def test_sales_list_detail_and_refund(page: Page, system: RunningSystem) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/vendas")
    rows = page.locator("#sl-rows tr")
    expect(rows.first).to_contain_text(re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"))
    page.get_by_label("Situação").select_option(label="Pagas")
    page.get_by_role("button", name="Filtrar").click()
    expect(rows.first).to_contain_text("Pago")
    rows.first.get_by_role("button", name=re.compile("^Ver venda")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("table", name="Itens da venda")).to_be_visible()
    shot(page, "09-vendas-detalhe", full_page=False)
    dialog.get_by_role("button", name="Cancelar e estornar").click()
    dialog.get_by_role("button", name="Confirmar cancelamento").click()
    expect(dialog.locator("#sl-msg")).to_have_text("Venda estornada.")
    expect(dialog).to_contain_text("Estornada")


def test_finance_dashboard_draws_its_chart(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    assert api.get("/api/finance/report").status_code == 200
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/financeiro")
    revenue = page.locator("[data-kpi=revenue_cents] .kpi-value")
    expect(revenue).to_have_text(re.compile(r"^R\$\s[1-9]\d{0,2}(\.\d{3})*,\d{2}$"))
    datasets = page.wait_for_function(
        "() => { const c = window.Chart && Chart.getChart(document.getElementById('fin-chart'));"
        " return c && c.data.datasets.length && c.data.labels.length && c.data.datasets.length; }"
    ).json_value()
    assert datasets == 4
    margins = page.get_by_role("table", name="Margem por corte")
    expect(margins).to_contain_text("Picanha")
    expect(page.get_by_role("table", name="Receita por forma de pagamento")).to_contain_text(
        "Dinheiro"
    )

    form = page.locator("#exp-form")
    form.get_by_label("Categoria").select_option(label="Manutenção")
    form.get_by_label("Valor (R$)").fill("1.234,56")
    form.get_by_label("Descrição").fill("Conserto da serra de fita")
    form.get_by_role("button", name="Lançar despesa").click()
    expect(form.locator("#exp-msg")).to_have_text(
        re.compile(r"Despesa de R\$\s1\.234,56 lançada \(Manutenção\)\.")
    )
    expect(page.locator("#cl-methods")).to_contain_text("PIX")
    shot(page, "10-financeiro")


# -- roles --------------------------------------------------------------------------------------


def test_a_vendedor_sees_no_admin_screens_and_is_refused_them(
    page: Page, browser: Browser, system: RunningSystem, watch: Watch
) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/usuarios")
    form = page.locator("#us-form")
    form.get_by_label("Usuário").fill(SELLER[0])
    form.get_by_label("Nome completo").fill("Balcão Um")
    form.get_by_label("Senha").fill(SELLER[1])
    form.get_by_label("Perfil").select_option(label="Vendedor")
    form.get_by_role("button", name="Criar usuário").click()
    expect(form.locator("#uf-msg")).to_have_text(f"Usuário {SELLER[0]} criado (Vendedor).")
    expect(page.locator(f"#us-rows tr[data-user={SELLER[0]}]")).to_contain_text("Balcão Um")

    seller_watch = Watch()
    context = new_context(browser, seller_watch)
    seller = context.new_page()
    try:
        login(seller, system.gateway, *SELLER, "/")
        expect(seller).to_have_url(re.compile(r"/caixa$"))
        assert _nav(seller) == NAV_VENDEDOR
        expect(seller.locator("#session")).to_contain_text("Vendedor")
        for path, title in (
            ("/usuarios", "Usuários"),
            ("/financeiro", "Financeiro"),
            ("/estoque", "Estoque"),
            ("/eventos", "Eventos"),
        ):
            seller.goto(system.gateway + path)
            ready(seller)
            expect(seller.get_by_role("heading", name="Acesso negado")).to_be_visible()
            expect(seller.locator("#main")).to_contain_text(title)
            assert seller.locator("[data-body]").count() == 0
        shot(seller, "11-vendedor-recusado")

        go(seller, "Produtos")  # read-only for a vendedor
        expect(seller.locator("#prod-rows tr").first).to_be_visible()
        expect(seller.get_by_role("button", name="Novo produto")).to_be_hidden()
        assert seller.get_by_role("button", name=re.compile("^Editar")).count() == 0

        go(seller, "Caixa")
        scan = seller.get_by_label("Código de barras, PLU ou nome do produto")
        scan.fill("0,5*2")  # half a kilo of PLU 2 (Alcatra)
        scan.press("Enter")
        expect(seller.locator("#pos-total")).to_have_text(money("27,45"))
        seller.keyboard.press("F5")
        seller.get_by_role("button", name="Valor exato").click()
        seller.keyboard.press("Enter")
        expect(seller.locator("#sale-status")).to_have_text("Pago")

        go(seller, "Vendas")  # only their own sale
        expect(seller.locator("#sl-rows tr")).to_have_count(1)
        expect(seller.locator("#sl-rows")).to_contain_text(money("27,45"))
        seller.locator("#sl-rows tr").first.get_by_role("button").click()
        expect(seller.get_by_role("button", name="Cancelar venda")).to_be_hidden()
        expect(seller.get_by_role("button", name="Cancelar e estornar")).to_be_hidden()
        shot(seller, "12-vendedor-vendas", full_page=False)
    finally:
        context.close()
    seller_watch.check()


def test_events_page_lists_cloudevents(page: Page, system: RunningSystem) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/eventos")
    events = page.get_by_role("table", name="Eventos recentes")
    expect(events).to_contain_text("sale.paid")
    page.get_by_label("Tipo").fill("com.acougue.inventory.movement.registered")
    page.get_by_role("button", name="Atualizar").click()
    expect(events.locator("tbody tr").first).to_contain_text("inventory.movement.registered")
    expect(page.get_by_role("table", name="Mensagens mortas")).to_be_visible()
    shot(page, "13-eventos")


# -- the session (last: it ends sessions) -------------------------------------------------------


def test_the_session_survives_a_reload_and_ends_with_sair(
    page: Page, system: RunningSystem, watch: Watch
) -> None:
    watch.allow_http(401)  # the refresh after logging out is refused, as it must be
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/estoque")
    page.reload()  # the token lived in memory only: a new one comes from the cookie
    ready(page)
    assert _nav(page) == NAV_ADMIN
    token_stored = page.evaluate(
        "() => JSON.stringify(Object.assign({}, localStorage, sessionStorage))"
    )
    assert "eyJ" not in token_stored  # no JWT kept in web storage
    page.get_by_role("button", name="Sair").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(system.gateway + "/caixa")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fcaixa$"))
    expect(page.get_by_label("Usuário")).to_be_visible()
