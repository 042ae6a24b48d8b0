"""The UI's server side without a browser: pt-BR formats, label layouts, the pages' shells."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from functions.gateway import ui
from functions.sales.scale_labels import DEFAULT_MASK, PRESETS


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(0, "R$ 0,00"), (5, "R$ 0,05"), (123456, "R$ 1.234,56"), (-9916, "-R$ 99,16"),
     (100_000_000, "R$ 1.000.000,00")],
)  # fmt: skip
def test_money_in_brazilian_format(cents: int, shown: str) -> None:
    assert ui.format_brl(cents) == shown


@pytest.mark.parametrize(
    ("quantity", "unit", "shown"),
    [("1.250", "kg", "1,250 kg"), ("0.005", "kg", "0,005 kg"), ("1234.5", "kg", "1.234,500 kg"),
     ("-1.766", "kg", "-1,766 kg"), ("3.000", "un", "3 un"), (Decimal("12"), "un", "12 un")],
)  # fmt: skip
def test_quantities_in_brazilian_format(quantity: str, unit: str, shown: str) -> None:
    assert ui.format_quantity(quantity, unit) == shown


def test_the_label_layouts_agree_with_the_sales_functions() -> None:
    assert ui.SCALE_LABEL_PRESETS == PRESETS
    assert ui.DEFAULT_SCALE_LABEL_MASK == DEFAULT_MASK
    assert ui.scale_label_mask("") == DEFAULT_MASK
    assert ui.scale_label_mask("Filizola") == PRESETS["filizola"]
    assert ui.scale_label_mask(" 2cccccppppppdv ") == "2CCCCCPPPPPPDV"
    assert ui.scale_label_mask("not a mask") == DEFAULT_MASK


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=ui.STATIC), name="static")
    return TestClient(app)


@pytest.mark.parametrize("page", [*ui.PAGES, ui.HOME])
def test_every_page_is_a_portuguese_shell_with_a_strict_policy(
    client: TestClient, page: ui.Page
) -> None:
    answer = client.get(page.path)
    assert answer.status_code == 200
    assert '<html lang="pt-BR">' in answer.text
    assert f'data-roles="{page.roles_attr}"' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    for asset in ("vendor/htmx.min.js", "js/app.js", "css/app.css"):
        assert f"/static/{asset}?v=" in answer.text
    assert "https://" not in answer.text  # nothing from elsewhere, ever


def test_the_login_page_and_the_vendored_assets_are_served(client: TestClient) -> None:
    login = client.get("/login")
    assert "Usuário" in login.text
    assert "Senha" in login.text
    for asset in ("vendor/htmx.min.js", "vendor/chart.umd.min.js", "js/caixa.js"):
        assert client.get(f"/static/{asset}").status_code == 200
    versions = (ui.STATIC / "vendor" / "VERSIONS.txt").read_text()
    assert "htmx.org@2.0.11" in versions
    assert "chart.js@4.6.1" in versions


def test_a_sale_address_opens_the_sales_page_on_it(client: TestClient) -> None:
    sale = "0b73d8b8-e8a1-4547-a58a-4579bf77a2b7"
    answer = client.get(f"/vendas/{sale}", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/vendas?venda={sale}")
    assert client.get("/vendas/not-a-uuid", follow_redirects=False).status_code == 422
