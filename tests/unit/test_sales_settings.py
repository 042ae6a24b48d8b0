"""The shop's identity on the receipt: a CNPJ with a wrong check digit stops sales-query at
start (it would be printed on every receipt), and the manifest's demo values are valid."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.sales.settings import SalesSettings
from tooling.manifests import load_topology


@pytest.fixture(autouse=True)
def _function_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNCTION_TARGET", "sales_query")
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.setenv("EVENT_AUTHENTICATION", "off")
    for name in ("SHOP_NAME", "SHOP_CNPJ", "SHOP_ADDRESS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("11.222.333/0001-81", "11.222.333/0001-81"),
        ("11222333000181", "11.222.333/0001-81"),
        ("12.ABC.345/01DE-35", "12.ABC.345/01DE-35"),  # alphanumeric, from July 2026
    ],
)
def test_a_valid_cnpj_is_printed_formatted(
    monkeypatch: pytest.MonkeyPatch, given: str, printed: str
) -> None:
    monkeypatch.setenv("SHOP_CNPJ", given)
    assert SalesSettings().shop.cnpj == printed


@pytest.mark.parametrize("wrong", ["11.222.333/0001-82", "11222333000180", "123", "abc"])
def test_a_wrong_cnpj_stops_the_function(monkeypatch: pytest.MonkeyPatch, wrong: str) -> None:
    monkeypatch.setenv("SHOP_CNPJ", wrong)
    with pytest.raises(ValidationError, match="SHOP_CNPJ is not a valid CNPJ"):
        SalesSettings()


def test_without_settings_the_other_sales_functions_still_start() -> None:
    shop = SalesSettings().shop
    assert (shop.name, shop.cnpj, shop.address) == ("Açougue", None, "")


def test_the_manifest_names_a_valid_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    env = load_topology().services["sales-query"].env
    for name in ("SHOP_NAME", "SHOP_CNPJ", "SHOP_ADDRESS"):
        monkeypatch.setenv(name, env[name])
    shop = SalesSettings().shop
    assert shop.name == "Açougue Modelo"
    assert shop.cnpj == "11.222.333/0001-81"
    assert shop.address
