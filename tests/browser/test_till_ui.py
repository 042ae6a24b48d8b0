"""Meu caixa in a real browser (issue 17): an operator opens their own till with the float,
takes a sangria out with its reason, closes it with the counted amounts and sees expected,
counted and the difference per method; an admin sees the day's sessions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from functions.gateway.admission import shed_problem
from tests.browser.support import Watch, go, login, money, new_context, ready, shot
from tests.support.api import client, create_user
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem

pytestmark = pytest.mark.e2e

SELLER = ("balcao7", "senha-do-balcao-7")

system = system_fixture("system-till-ui", requires=("chromium",))


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    context = new_context(browser, watch)
    yield context.new_page()
    context.close()
    watch.check()


@pytest.fixture(scope="module")
def seller(system: RunningSystem) -> tuple[str, str]:
    with client(system) as admin_client:
        create_user(admin_client, *SELLER, "vendedor")
    return SELLER


def test_a_vendedor_opens_takes_a_sangria_and_closes_their_till_with_the_difference(
    page: Page, browser: Browser, system: RunningSystem, seller: tuple[str, str], watch: Watch
) -> None:
    watch.allow_http(422)  # a sangria above the drawer's cash, on purpose
    login(page, system.gateway, *seller, "/")
    hint = page.locator("#till-hint")  # the Caixa says the seller's till is closed
    expect(hint).to_contain_text("Seu caixa está fechado")
    hint.get_by_role("link", name="Abrir meu caixa").click()
    expect(page.locator("#main")).to_have_attribute("data-title", "Meu caixa")
    ready(page)
    opening = page.get_by_label("Troco inicial (R$)")
    expect(opening).to_be_focused()
    opening.fill("200")
    opening.press("Enter")
    expect(page.locator("#mc-msg")).to_have_text(
        re.compile(r"Caixa aberto com troco inicial de R\$\s200,00\.")
    )
    expected = page.get_by_role("table", name="Esperado por forma de pagamento")
    expect(expected.locator("tr[data-method=cash]")).to_contain_text(money("200,00"))
    expect(page.locator("#mc-cash")).to_have_text(money("200,00"))

    moves = page.locator("#mv-form")
    moves.get_by_label("Tipo").select_option(label="Sangria (retirada)")
    moves.get_by_label("Valor (R$)").fill("500")  # more than the drawer holds: refused
    moves.get_by_label("Motivo").fill("depósito no banco")
    moves.get_by_role("button", name="Registrar movimento").click()
    expect(moves.locator("#mv-msg")).to_contain_text("maior que o dinheiro esperado no caixa")
    moves.get_by_label("Valor (R$)").fill("50,00")
    moves.get_by_role("button", name="Registrar movimento").click()
    expect(moves.locator("#mv-msg")).to_have_text(re.compile(r"Sangria de R\$\s50,00 registrada\."))
    expect(page.locator("#mc-cash")).to_have_text(money("150,00"))
    movements = page.get_by_role("table", name="Movimentos do caixa")
    expect(movements).to_contain_text("Sangria")
    expect(movements).to_contain_text("depósito no banco")
    shot(page, "17-meu-caixa-aberto")
    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Caixa", exact=True
    ).click()
    ready(page)
    expect(page.locator("#main")).to_have_attribute("data-title", "Caixa")
    expect(hint).to_have_attribute("data-checked", "true")
    expect(hint).to_be_hidden()  # open now: no hint
    go(page, "Meu caixa")

    closing = page.locator("#cx-form")
    closing.get_by_label("Dinheiro contado").fill("140,00")  # R$ 10,00 missing
    closing.get_by_role("button", name="Fechar caixa").click()
    closing.get_by_role("button", name="Confirmar fechamento").click()
    result = page.get_by_role("table", name="Fechamento do caixa")
    cash = result.locator("tr[data-method=cash]")
    expect(cash).to_contain_text(money("150,00"))
    expect(cash).to_contain_text(money("140,00"))
    expect(cash.locator("td").nth(3)).to_have_text(re.compile(r"^-R\$\s10,00$"))
    expect(page.locator("#mc-result-info")).to_contain_text(re.compile(r"Faltam R\$\s10,00\."))
    expect(page.get_by_label("Troco inicial (R$)")).to_be_visible()  # it can be opened again
    shot(page, "18-meu-caixa-fechado")

    # The admin sees that session among the day's.
    admin_watch = Watch()
    context = new_context(browser, admin_watch)
    admin = context.new_page()
    try:
        login(admin, system.gateway, "admin", ADMIN_PASSWORD, "/meu-caixa")
        day = admin.get_by_role("table", name="Caixas do dia")
        row = day.locator("tbody tr", has_text=seller[0])
        expect(row).to_contain_text("Fechado")
        expect(row.locator("td").nth(7)).to_have_text(re.compile(r"^-R\$\s10,00$"))
        row.get_by_role("button", name=f"Ver caixa de {seller[0]}").click()
        detail = admin.get_by_role("dialog")
        expect(detail).to_contain_text("depósito no banco")
        expect(detail.get_by_role("table", name="Esperado, contado e diferença")).to_contain_text(
            money("140,00")
        )
        detail.get_by_role("button", name="Fechar").click()

        # Finance's daily cash closing sums the day's closed sessions (from their events).
        go(admin, "Financeiro")
        sessions = admin.get_by_role("table", name="Caixas dos operadores no dia")
        row = sessions.locator("tbody tr", has_text=seller[0])
        expect(row).to_contain_text(money("150,00"))
        expect(row.locator("td").last).to_have_text(re.compile(r"^-R\$\s10,00$"))
    finally:
        context.close()
    admin_watch.check()


def test_a_second_till_for_the_same_operator_is_refused(
    page: Page, system: RunningSystem, api: httpx.Client, watch: Watch
) -> None:
    watch.allow_http(409)
    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/meu-caixa")
    page.get_by_label("Troco inicial (R$)").fill("100")
    page.get_by_role("button", name="Abrir caixa").click()
    expect(page.locator("#mc-session")).to_be_visible()
    # Another tab of the same admin still shows the open form: opening there is refused.
    page.evaluate("document.getElementById('mc-open-form').hidden = false")
    page.get_by_label("Troco inicial (R$)").fill("100")
    page.get_by_role("button", name="Abrir caixa").click()
    expect(page.locator("#mc-msg")).to_have_text(
        "Você já tem um caixa aberto: feche-o antes de abrir outro."
    )
    mine = api.get("/api/till/sessions", params={"status": "open"}).json()["items"]
    assert [s["opening_cents"] for s in mine if s["operator_name"] == "admin"] == [10000]


def test_a_busy_system_leaves_the_till_as_it_was_and_the_sangria_is_sent_again(
    page: Page, system: RunningSystem, api: httpx.Client, watch: Watch
) -> None:
    opened = api.post("/api/till/sessions", json={"opening_cents": 10000})
    assert opened.status_code in (201, 409), opened.text  # the admin's till, open either way
    watch.allow_http(503)  # the gateway sheds the first sangria, on purpose
    shed: list[str] = []

    def shed_the_first(route: Route) -> None:
        if route.request.method == "POST" and not shed:
            shed.append(route.request.url)
            problem = shed_problem("till", 1)
            route.fulfill(
                status=503,
                headers={"content-type": "application/problem+json", **problem.headers},
                body=json.dumps(problem.body()),
            )
        else:
            route.continue_()

    login(page, system.gateway, "admin", ADMIN_PASSWORD, "/meu-caixa")
    page.route("**/api/till/sessions/*/movements", shed_the_first)
    expect(page.locator("#mc-session")).to_be_visible()
    cash = page.locator("#mc-cash").inner_text()
    moves = page.locator("#mv-form")
    moves.get_by_label("Tipo").select_option(label="Suprimento (reforço)")
    moves.get_by_label("Valor (R$)").fill("20")
    moves.get_by_label("Motivo").fill("troco miúdo")
    moves.get_by_role("button", name="Registrar movimento").click()
    expect(moves.locator("#mv-msg")).to_have_text("Sistema ocupado, tente novamente em instantes.")
    expect(page.locator("#mc-cash")).to_have_text(cash)
    assert moves.get_by_label("Valor (R$)").input_value() == "20"  # kept, to send again
    moves.get_by_role("button", name="Registrar movimento").click()
    expect(moves.locator("#mv-msg")).to_have_text(
        re.compile(r"Suprimento de R\$\s20,00 registrado\.")
    )
    expect(page.get_by_role("table", name="Movimentos do caixa")).to_contain_text("troco miúdo")
