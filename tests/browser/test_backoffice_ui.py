"""The back office in a real browser (issue 18), on one system shared by every test here:
the Painel is the admin's home and shows the day's sales; a supplier is registered, a
receipt bought "a prazo" opens its bill, which is paid in part; the card money of a sale is
listed by its expected day and settled; an expense is reversed with a reason; other income
reaches the report; a category is renamed and deactivated; an estoquista sees Fornecedores
without the bills. The tests run in this order (the Painel's figures are the day's first
sales)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from functions.gateway.ui import format_brl
from tests.browser.support import Watch, go, login, money, new_context, shot
from tests.support.api import client, create_product, create_user, receive, sell
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem, wait_for

pytestmark = pytest.mark.e2e

SHOP = ZoneInfo("America/Sao_Paulo")
STOCKIST = ("estoque7", "senha-do-estoque-7")
SUPPLIER = "Frigorífico Boi Bom"

system = system_fixture("system-backoffice-ui", requires=("chromium",))


def _today() -> datetime:
    return datetime.now(SHOP)


def _br(day: datetime) -> str:
    return f"{day:%d/%m/%Y}"


def _brl(cents: int) -> re.Pattern[str]:
    """The page's R$ 1.234,56 (-R$ 1.234,56) of an amount of centavos."""
    shown = money(format_brl(abs(cents)).removeprefix("R$ "))
    return re.compile("-" + shown.pattern) if cents < 0 else shown


@pytest.fixture(scope="module")
def api(system: RunningSystem) -> Iterator[httpx.Client]:
    with client(system) as admin_client:
        yield admin_client


@pytest.fixture(scope="module")
def products(api: httpx.Client) -> dict[str, str]:
    """Two products in stock: picanha (kg, low against its minimum) and linguiça (un)."""
    made = {
        "picanha": create_product(
            api, name="Picanha teste", unit="kg", price_cents=10000, plu=71, min_stock="100.000"
        ),
        "linguica": create_product(api, name="Linguiça teste", unit="un", price_cents=2500, plu=72),
    }
    for product_id in made.values():  # once stock's catalogue knows it (product events)
        wait_for(
            lambda p=product_id: (
                receive(api, p, "20.000", 3000, paid_with="bank").status_code == 201
            ),
            timeout=60,
            interval=0.5,
        )
    return made


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    context = new_context(browser, watch)
    yield context.new_page()
    context.close()
    watch.check()


def _sale(api: httpx.Client, product: str, quantity: str, **payment: Any) -> dict[str, Any]:
    """A paid sale, sold again until the counter's catalogue knows the product (it follows
    the product events; a busy machine takes a while)."""
    body = {"items": [{"product_id": product, "quantity": quantity}], "payment": payment}
    last: list[str] = []

    def sold() -> dict[str, Any] | None:
        answer = sell(api, body)
        if answer.status_code != 201:
            last[:] = [f"{answer.status_code} {answer.text}"]
            return None
        made: dict[str, Any] = answer.json()
        return made

    try:
        sale: dict[str, Any] = wait_for(sold, timeout=60, interval=0.5)
    except AssertionError as missing:
        raise AssertionError(f"no sale: {last}") from missing
    return sale


def _dashboard(api: httpx.Client) -> dict[str, Any]:
    answer = api.get("/api/dashboard")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


# -- Painel -------------------------------------------------------------------------------------


def test_the_painel_is_the_admins_home_with_the_days_figures(
    page: Page, system: RunningSystem, api: httpx.Client, products: dict[str, str]
) -> None:
    _sale(api, products["picanha"], "1.500", method="cash", cash_received_cents=15000)
    _sale(api, products["linguica"], "2.000", method="debit")  # R$ 50,00
    wait_for(lambda: _dashboard(api)["sales_count"] == 2)
    by_hour = _dashboard(api)["by_hour"]
    hour = max(by_hour, key=lambda h: h["revenue_cents"])["hour"]
    quiet = next(h["hour"] for h in by_hour if not h["sales_count"])

    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/")
    expect(page).to_have_url(re.compile(r"/painel$"))
    expect(page.locator("#main")).to_have_attribute("data-title", "Painel")
    cards = page.locator("#pn-cards")
    expect(cards.locator("[data-kpi=sales_count] .kpi-value")).to_have_text("2")
    expect(cards.locator("[data-kpi=revenue_cents] .kpi-value")).to_have_text(money("200,00"))
    expect(cards.locator("[data-kpi=average_ticket_cents] .kpi-value")).to_have_text(
        money("100,00")
    )
    expect(cards.locator("[data-kpi=last_week_revenue] .kpi-value")).to_have_text(money("0,00"))

    methods = page.get_by_role("table", name="Faturamento do dia por forma de pagamento")
    expect(methods.locator("tr[data-method=cash]")).to_contain_text(money("150,00"))
    expect(methods.locator("tr[data-method=cash]")).to_contain_text("75,00 %")
    expect(methods.locator("tr[data-method=debit]")).to_contain_text(money("50,00"))
    top = page.get_by_role("table", name="Cortes mais vendidos").locator("tbody tr")
    expect(top.first).to_contain_text("1. Picanha teste")
    expect(top.first).to_contain_text("1,500 kg")
    expect(top.first).to_contain_text(money("150,00"))
    expect(top.nth(1)).to_contain_text("2. Linguiça teste")
    expect(top.nth(1)).to_contain_text("2 un")

    chart = page.get_by_role("img", name="Faturamento por hora do dia")
    expect(chart.locator("rect.bar")).to_have_count(24)
    assert float(chart.locator(f"rect[data-hour='{hour}']").get_attribute("height") or 0) > 50
    assert chart.locator(f"rect[data-hour='{quiet}']").get_attribute("height") == "0"
    page.get_by_text("Ver os dados do gráfico").click()
    expect(page.get_by_role("table", name="Vendas por hora")).to_contain_text(f"{hour:02d}h")

    low = page.get_by_role("link", name=re.compile("Estoque baixo"))
    expect(low).to_have_text(re.compile(r"^1\s+Estoque baixo$"))  # picanha, under its 100 kg
    expect(low).to_have_class(re.compile("alert-on"))
    expect(page.get_by_role("link", name=re.compile("PIX pendentes"))).to_contain_text("0")
    shot(page, "40-painel")

    low.click()
    expect(page).to_have_url(re.compile(r"/estoque\?alertas=1$"))
    expect(page.get_by_label("Só alertas")).to_be_checked()
    expect(page.locator("#lv-rows tr")).to_have_count(1)
    expect(page.locator("#lv-rows tr").first).to_contain_text("Picanha teste")


# -- Fornecedores --------------------------------------------------------------------------------


def test_a_supplier_is_registered_and_a_receipt_a_prazo_is_paid_in_part(
    page: Page, system: RunningSystem, api: httpx.Client, products: dict[str, str], watch: Watch
) -> None:
    watch.allow_http(422)  # a CNPJ with wrong check digits, on purpose
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/fornecedores")
    form = page.locator("#sn-form")
    form.get_by_label("Nome").fill(SUPPLIER)
    form.get_by_label("CNPJ").fill("11.222.333/0001-80")
    form.get_by_role("button", name="Cadastrar fornecedor").click()
    expect(form.locator("#sn-msg")).to_contain_text("CNPJ inválido")
    form.get_by_label("CNPJ").fill("11.222.333/0001-81")
    form.get_by_label("Telefone").fill("(11) 3333-4444")
    form.get_by_role("button", name="Cadastrar fornecedor").click()
    expect(form.locator("#sn-msg")).to_have_text(f"Fornecedor {SUPPLIER} cadastrado.")
    row = page.locator("#sup-rows tr", has_text=SUPPLIER)
    expect(row).to_contain_text("11.222.333/0001-81")
    expect(row).to_contain_text("Ativo")

    page.get_by_label("Buscar por nome ou CNPJ").fill("boi bom")
    expect(page.locator("#sup-rows tr")).to_have_count(1)
    row.get_by_role("button", name=f"Editar {SUPPLIER}").click()
    dialog = page.get_by_role("dialog", name=f"Editar {SUPPLIER}")
    dialog.get_by_label("Telefone").fill("(11) 3333-5555")
    dialog.get_by_role("button", name="Salvar").click()
    expect(page.locator("#sup-msg")).to_have_text(f"{SUPPLIER} atualizado.")
    expect(row).to_contain_text("5555")

    # A receipt bought a prazo, due yesterday: the bill is overdue when it arrives.
    yesterday = _today() - timedelta(days=1)
    go(page, "Estoque")
    receipt = page.get_by_role("tabpanel", name="Entrada")
    receipt.get_by_label("Produto").select_option(label="Picanha teste (kg)")
    receipt.get_by_label("Quantidade").fill("10")
    receipt.get_by_label("Custo unitário").fill("30,00")
    receipt.get_by_label("Pagamento ao fornecedor").select_option(label="A prazo (contas a pagar)")
    receipt.get_by_label("Fornecedor", exact=True).select_option(label=SUPPLIER)
    receipt.get_by_label("Vencimento da conta").fill(yesterday.strftime("%d%m%Y"))
    receipt.get_by_role("button", name="Registrar entrada").click()
    expect(receipt.locator("#rc-msg")).to_contain_text(
        f"Conta a pagar para {SUPPLIER} com vencimento em {_br(yesterday)}."
    )

    wait_for(  # the bill is opened by finance from the receipt's event
        lambda: api.get("/api/finance/payables", params={"status": "open"}).json()["items"]
    )
    go(page, "Fornecedores")
    bills = page.get_by_role("table", name="Contas a pagar")
    bill = bills.locator("tbody tr", has_text=SUPPLIER)
    expect(bill).to_have_count(1)
    expect(bill).to_have_class(re.compile("overdue"))
    expect(bill).to_contain_text("Vencida")
    expect(bill).to_contain_text(_br(yesterday))
    expect(bill).to_contain_text("Picanha teste")
    expect(bill.locator("td").nth(5)).to_have_text(money("300,00"))
    expect(page.locator("#sup-rows tr", has_text=SUPPLIER).locator("td").nth(3)).to_have_text(
        money("300,00")
    )

    bill.get_by_role("button", name=re.compile("^Pagar conta de")).click()
    pay = page.get_by_role("dialog", name=f"Pagar conta de {SUPPLIER}")
    expect(pay.get_by_label("Valor a pagar (R$)")).to_have_value("300,00")
    pay.get_by_label("Valor a pagar (R$)").fill("400,00")
    pay.get_by_role("button", name="Registrar pagamento").click()
    expect(pay.locator("#pp-msg")).to_contain_text("maior que o aberto")
    pay.get_by_label("Valor a pagar (R$)").fill("100,00")
    pay.get_by_label("Pago com").select_option(label="Banco / PIX")
    pay.get_by_role("button", name="Registrar pagamento").click()
    expect(pay).to_be_hidden()
    expect(page.locator("#pay-summary")).to_have_text(
        re.compile(r"Pagamento de R\$\s100,00 registrado\. Em aberto: R\$\s200,00\.")
    )
    expect(bill.locator("td").nth(4)).to_have_text(money("100,00"))
    expect(bill.locator("td").nth(5)).to_have_text(money("200,00"))
    expect(bill).to_contain_text("Vencida")  # still overdue: paid in part
    expect(page.locator("#sup-rows tr", has_text=SUPPLIER).locator("td").nth(3)).to_have_text(
        money("200,00")
    )
    shot(page, "41-fornecedores")
    open_bills = api.get("/api/finance/payables", params={"status": "open"}).json()["items"]
    assert [(b["paid_cents"], b["open_cents"]) for b in open_bills] == [(10000, 20000)]


def test_an_estoquista_sees_fornecedores_but_not_the_bills(
    browser: Browser, system: RunningSystem, api: httpx.Client
) -> None:
    create_user(api, *STOCKIST, "estoquista")
    made = api.post("/api/suppliers", json={"name": "Distribuidora do Estoque"})
    assert made.status_code == 201, made.text
    watch = Watch()
    context = new_context(browser, watch)
    try:
        page = context.new_page()
        login(page, system.gateway, *STOCKIST, "/")
        expect(page).to_have_url(re.compile(r"/estoque$"))
        nav = page.get_by_role("navigation", name="Principal")
        shown = [a.inner_text() for a in nav.get_by_role("link").all() if a.is_visible()]
        assert shown == ["Produtos", "Estoque", "Fornecedores"]
        go(page, "Fornecedores")
        row = page.locator("#sup-rows tr", has_text="Distribuidora do Estoque")
        expect(row.get_by_role("button", name="Editar Distribuidora do Estoque")).to_be_visible()
        expect(row.locator("td").nth(3)).to_have_text("—")  # the bills are the admin's
        expect(page.get_by_role("heading", name="Contas a pagar")).to_be_hidden()
        expect(page.get_by_role("button", name=re.compile("^Contas de"))).to_have_count(0)
    finally:
        context.close()
    watch.check()


# -- Recebíveis ----------------------------------------------------------------------------------


def test_card_money_is_listed_by_its_day_and_settled(
    page: Page, system: RunningSystem, api: httpx.Client, products: dict[str, str]
) -> None:
    debit = _sale(api, products["linguica"], "4.000", method="debit")  # R$ 100,00, D+1
    credit = _sale(api, products["linguica"], "8.000", method="credit", installments=2)
    # A debit sale of three days ago (the import path keeps its time): due two days ago.
    then = (_today() - timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    item = {"product_id": products["linguica"], "quantity": "1.000", "unit_price_cents": 8000}
    old_sale = {"legacy_id": "rv-1", "occurred_at": then.isoformat(), "items": [item]}
    imported = api.post(
        "/api/import/sales", json={"sales": [{**old_sale, "payment": {"method": "debit"}}]}
    )
    assert imported.status_code == 200, imported.text
    due = (then + timedelta(days=1)).date().isoformat()

    def listed() -> dict[str, list[dict[str, Any]]] | None:
        items = api.get("/api/finance/receivables").json()["items"]
        by = {
            "debit": [r for r in items if r["sale_id"] == debit["id"]],
            "credit": [r for r in items if r["sale_id"] == credit["id"]],
            "old": [r for r in items if r["expected_on"] == due and r["gross_cents"] == 8000],
        }
        return by if [len(v) for v in by.values()] == [1, 2, 1] else None

    found = wait_for(listed, timeout=40)
    old_id = found["old"][0]["sale_id"]

    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/recebiveis")
    items = page.get_by_role("table", name="Parcelas a receber")

    def row_of(sale_id: str) -> Locator:
        return items.locator("tr", has=page.locator(f"a[href='/vendas?venda={sale_id}']"))

    debit_row, credit_rows, old_row = row_of(debit["id"]), row_of(credit["id"]), row_of(old_id)
    expect(debit_row).to_contain_text("Débito")
    expect(debit_row).to_contain_text("à vista")
    expect(debit_row).to_contain_text(money("100,00"))
    expect(debit_row).to_contain_text("A receber")
    expect(credit_rows).to_have_count(2)
    expect(credit_rows.nth(0)).to_contain_text("1/2")
    expect(credit_rows.nth(1)).to_contain_text("2/2")
    expect(old_row).to_contain_text("A receber")
    days = page.get_by_role("table", name="Recebíveis por dia")
    y, m, d = due.split("-")
    late = days.locator(f"tr[data-day='{due}']")
    expect(late).to_contain_text(f"{d}/{m}/{y}")
    expect(late).to_have_class(re.compile("overdue"))  # expected before today, not settled
    expect(page.locator("[data-total=settled_net] .kpi-value")).to_have_text(money("0,00"))

    tomorrow = _today() + timedelta(days=1)
    page.get_by_label("Liquidar até").fill(tomorrow.strftime("%d%m%Y"))
    page.get_by_role("button", name="Liquidar", exact=True).click()
    expect(page.locator("#rv-settle-msg")).to_contain_text("Só dá para liquidar até hoje")
    page.get_by_label("Liquidar até").fill(_today().strftime("%d%m%Y"))
    page.get_by_role("button", name="Liquidar", exact=True).click()
    settled_text = rf"^1 recebível\(is\) até {_br(_today())} liquidado\(s\): R\$\s79,\d\d no banco"
    expect(page.locator("#rv-settle-msg")).to_have_text(re.compile(settled_text))
    expect(old_row).to_contain_text("Liquidado")
    expect(debit_row).to_contain_text("A receber")  # due tomorrow: not yet
    expect(credit_rows.nth(0)).to_contain_text("A receber")
    expect(page.locator("[data-total=settled_net] .kpi-value")).to_have_text(
        re.compile(r"R\$\s79,\d\d")
    )
    page.get_by_label("Situação").select_option(label="Liquidados")
    expect(old_row).to_be_visible()
    expect(debit_row).to_have_count(0)
    shot(page, "42-recebiveis")
    settled = api.get("/api/finance/receivables", params={"status": "settled"}).json()["items"]
    assert [r["sale_id"] for r in settled] == [old_id]


# -- Financeiro ----------------------------------------------------------------------------------


def test_an_expense_is_reversed_and_other_income_reaches_the_report(
    page: Page, system: RunningSystem, api: httpx.Client
) -> None:
    before = api.get("/api/finance/report").json()  # the card fees are expenses already
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/financeiro")
    expenses_kpi = page.locator("[data-kpi=expenses_cents] .kpi-value")
    expect(expenses_kpi).to_have_text(_brl(before["expenses_cents"]))
    form = page.locator("#exp-form")
    form.get_by_label("Categoria").select_option(label="Energia")
    form.get_by_label("Valor (R$)").fill("432,10")
    form.get_by_label("Descrição").fill("Conta de luz digitada errada")
    form.get_by_role("button", name="Lançar despesa").click()
    expect(form.locator("#exp-msg")).to_contain_text("lançada (Energia)")
    expect(expenses_kpi).to_have_text(_brl(before["expenses_cents"] + 43210))

    listed = page.get_by_role("table", name="Despesas lançadas")
    row = listed.locator("tbody tr", has_text="Conta de luz digitada errada")
    expect(row).to_contain_text("Energia")
    expect(row).to_contain_text(money("432,10"))
    expect(row).to_contain_text("Lançada")
    row.get_by_role("button", name="Estornar Conta de luz digitada errada").click()
    dialog = page.get_by_role("dialog", name="Estornar despesa")
    dialog.get_by_role("button", name="Confirmar estorno").click()
    expect(dialog.locator("#xr-msg")).to_have_text("Informe o motivo do estorno.")
    dialog.get_by_label("Motivo do estorno").fill("valor digitado errado")
    dialog.get_by_role("button", name="Confirmar estorno").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#ex-msg")).to_have_text("Despesa Conta de luz digitada errada estornada.")
    expect(row).to_contain_text("Estornada")
    expect(row).to_contain_text("valor digitado errado")
    expect(row.get_by_role("button", name=re.compile("^Estornar"))).to_have_count(0)
    expect(expenses_kpi).to_have_text(_brl(before["expenses_cents"]))

    income = page.locator("#inc-form")
    income.get_by_label("Descrição da receita").fill("Venda de sebo para a graxaria")
    income.get_by_label("Valor recebido (R$)").fill("150,00")
    income.get_by_label("Recebido em").select_option(label="Dinheiro do caixa")
    income.get_by_role("button", name="Lançar receita").click()
    expect(income.locator("#inc-msg")).to_have_text(
        re.compile(r"Receita de R\$\s150,00 lançada \(Venda de sebo para a graxaria\)\.")
    )
    other = page.locator("[data-kpi=other_income_cents]")
    expect(other).to_be_visible()
    expect(other).to_contain_text("Outras receitas")
    expect(other.locator(".kpi-value")).to_have_text(_brl(before["other_income_cents"] + 15000))
    net = page.locator("[data-kpi=net_result_cents] .kpi-value")
    expect(net).to_have_text(_brl(before["net_result_cents"] + 15000))
    page.locator("#tb-details summary").click()
    expect(page.get_by_role("table", name="Balancete")).to_contain_text("Outras receitas")
    shot(page, "43-financeiro-estorno")


# -- Produtos: categories ------------------------------------------------------------------------


def test_a_category_is_renamed_and_deactivated(
    page: Page, system: RunningSystem, api: httpx.Client, products: dict[str, str]
) -> None:
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/produtos")
    page.get_by_label("Nova categoria").fill("Embutidos teste")
    page.get_by_role("button", name="Criar categoria").click()
    expect(page.locator("#cat-msg")).to_have_text("Categoria Embutidos teste criada.")
    created = next(
        c for c in api.get("/api/categories").json()["items"] if c["name"] == "Embutidos teste"
    )
    answer = api.patch(f"/api/products/{products['linguica']}", json={"category_id": created["id"]})
    assert answer.status_code == 200, answer.text

    page.reload()
    categories = page.get_by_role("list", name="Categorias")
    categories.get_by_role("button", name="Renomear categoria Embutidos teste").click()
    dialog = page.get_by_role("dialog", name="Renomear categoria Embutidos teste")
    dialog.get_by_label("Novo nome").fill("Embutidos")
    dialog.get_by_role("button", name="Salvar nome").click()
    expect(page.locator("#cat-msg")).to_have_text(
        "Categoria Embutidos teste renomeada para Embutidos."
    )
    item = categories.locator("li[data-category]", has_text="Embutidos")
    expect(item.locator(".cat-name")).to_have_text("Embutidos")
    linguica = page.locator("#prod-rows tr", has_text="Linguiça teste")
    expect(linguica.locator("td").nth(2)).to_have_text("Embutidos")

    categories.get_by_role("button", name="Desativar categoria Embutidos").click()
    expect(page.locator("#cat-msg")).to_have_text("Categoria Embutidos desativada.")
    expect(item).to_contain_text("Inativa")
    expect(categories.get_by_role("button", name="Reativar categoria Embutidos")).to_be_visible()
    page.get_by_role("button", name="Novo produto").click()
    new = page.get_by_role("dialog", name="Novo produto")
    expect(new.get_by_label("Categoria").locator("option", has_text="Embutidos")).to_have_count(0)
    new.get_by_role("button", name="Cancelar").click()
    shot(page, "44-produtos-categorias")
    found = {c["name"]: c for c in api.get("/api/categories").json()["items"]}
    assert found["Embutidos"]["active"] is False
