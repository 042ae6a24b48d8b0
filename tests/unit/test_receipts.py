"""The customer's receipt (functions/sales/receipts.py), pure: a sale and the shop in, 48
columns of text (or the same lines in an HTML page for an 80 mm print) out."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.sales import receipts
from functions.sales.receipts import WIDTH, Shop, columns
from shared.contracts.sales import (
    PaymentOut,
    ReturnItemOut,
    ReturnOut,
    SaleItemOut,
    SaleOut,
)
from shared.events.sales import MAX_SALE_CENTS
from shared.units import MAX_LINE_QUANTITY

SHOP = Shop("Açougue Modelo", "11.222.333/0001-81", "Rua das Carnes, 123 - Centro - São Paulo/SP")
SALE_ID = uuid.UUID("1a2b3c4d-0000-4000-8000-000000000001")
PICANHA = uuid.uuid4()
# 14:05 in São Paulo (UTC-3, no daylight saving since 2019).
AT = datetime(2026, 12, 7, 17, 5, tzinfo=UTC)


def item(name: str, quantity: str, unit: str, price: int, product: uuid.UUID | None = None) -> Any:
    q = Decimal(quantity)
    return SaleItemOut(
        product_id=product or uuid.uuid4(),
        name=name,
        unit=unit,
        quantity=q,
        unit_price_cents=price,
        total_cents=int((q * price).quantize(Decimal(1), rounding="ROUND_HALF_UP")),
    )


def sale(items: list[SaleItemOut], *, discount: int = 0, **payment: Any) -> SaleOut:
    subtotal = sum(i.total_cents for i in items)
    total = subtotal - discount
    extra = {k: payment.pop(k) for k in ("customer_id", "customer_name", "returns") if k in payment}
    method = payment.pop("method", "pix")
    return SaleOut(
        id=SALE_ID,
        status="paid",
        seller_id=uuid.uuid4(),
        attempt=1,
        created_at=AT,
        subtotal_cents=subtotal,
        discount_cents=discount,
        total_cents=total,
        items=items,
        payment=PaymentOut(method=method, status="approved", amount_cents=total, **payment),
        **extra,
    )


def assert_fits(text: str) -> None:
    assert text.endswith("\n")
    for line in text.splitlines():
        assert columns(line) <= WIDTH, (columns(line), line)
        assert line == line.rstrip(), repr(line)


def test_a_cash_sale_reads_as_a_butchers_receipt() -> None:
    done = sale(
        [item("Picanha", "1.250", "kg", 8990, PICANHA), item("Linguiça toscana", "3", "un", 1200)],
        discount=1000,
        method="cash",
        cash_received_cents=15000,
        change_cents=15000 - (11238 + 3600 - 1000),
    )
    text = receipts.text(done, SHOP)
    assert_fits(text)
    lines = text.splitlines()
    assert lines[0].strip() == "Açougue Modelo"
    assert lines[1].strip() == "CNPJ 11.222.333/0001-81"
    assert lines[2].strip() == "Rua das Carnes, 123 - Centro - São Paulo/SP"
    assert "07/12/2026 14:05" in text  # São Paulo's time, not UTC's 17:05
    assert "Venda 1a2b3c4d" in text  # the short id: the first 8 hex
    assert "Picanha" in lines
    assert re.search(r"^  1,250 kg × R\$ 89,90 +\= R\$ 112,38$", text, re.M)
    assert re.search(r"^  3 un × R\$ 12,00 +\= R\$ 36,00$", text, re.M)
    assert re.search(r"^Subtotal +R\$ 148,38$", text, re.M)
    assert re.search(r"^Desconto +-R\$ 10,00$", text, re.M)
    assert re.search(r"^TOTAL +R\$ 138,38$", text, re.M)
    assert re.search(r"^Pagamento +Dinheiro$", text, re.M)
    assert re.search(r"^Recebido +R\$ 150,00$", text, re.M)
    assert re.search(r"^Troco +R\$ 11,62$", text, re.M)
    assert lines[-1].strip() == "NÃO É DOCUMENTO FISCAL"
    assert "DEVOLU" not in text


def test_no_discount_no_subtotal_and_thousands_are_grouped() -> None:
    text = receipts.text(sale([item("Costela", "12.345", "kg", 12345)]), SHOP)
    assert "Subtotal" not in text
    assert "Desconto" not in text
    assert re.search(r"^  12,345 kg × R\$ 123,45 +\= R\$ 1\.523,99$", text, re.M)
    assert re.search(r"^TOTAL +R\$ 1\.523,99$", text, re.M)
    assert re.search(r"^Pagamento +PIX$", text, re.M)


@pytest.mark.parametrize(
    ("payment", "shown"),
    [
        ({"method": "credit", "installments": 3}, r"^Pagamento +Cartão de crédito em 3x$"),
        ({"method": "credit", "installments": 1}, r"^Pagamento +Cartão de crédito à vista$"),
        ({"method": "credit"}, r"^Pagamento +Cartão de crédito à vista$"),
        ({"method": "debit"}, r"^Pagamento +Cartão de débito$"),
    ],
)
def test_the_method_is_named_with_its_installments(payment: dict[str, Any], shown: str) -> None:
    assert re.search(
        shown, receipts.text(sale([item("Alcatra", "1", "kg", 5000)], **payment), SHOP), re.M
    )


def test_fiado_names_the_customer() -> None:
    done = sale(
        [item("Alcatra", "1", "kg", 5000)],
        method="fiado",
        customer_id=uuid.uuid4(),
        customer_name="Dona Maria do Restaurante São Jorge",
    )
    text = receipts.text(done, SHOP)
    assert re.search(r"^Pagamento +Fiado \(conta do cliente\)$", text, re.M)
    assert "Cliente: Dona Maria do Restaurante São Jorge" in text


def test_returns_are_listed_with_what_is_left() -> None:
    done = sale(
        [item("Picanha", "1.250", "kg", 8990, PICANHA)],
        returns=[
            ReturnOut(
                id=uuid.uuid4(),
                sale_id=SALE_ID,
                at=datetime(2026, 12, 7, 18, 0, tzinfo=UTC),
                by=uuid.uuid4(),
                reason="carne fora do ponto",
                refund_cents=4495,
                method="pix",
                items=[
                    ReturnItemOut(
                        product_id=PICANHA,
                        name="Picanha",
                        quantity=Decimal("0.5"),
                        refund_cents=4495,
                    )
                ],
            )
        ],
    )
    text = receipts.text(done, SHOP)
    assert_fits(text)
    assert "DEVOLUÇÕES" in text
    assert "07/12/2026 15:00 carne fora do ponto" in text
    assert re.search(r"^  0,500 kg +-R\$ 44,95$", text, re.M)
    assert re.search(r"^Total devolvido +-R\$ 44,95$", text, re.M)
    assert re.search(r"^Valor final +R\$ 67,43$", text, re.M)


def test_a_long_name_wraps_and_a_longer_one_is_cut() -> None:
    name = "Linguiça toscana artesanal da casa com pimenta calabresa e alho, receita da vó"
    text = receipts.text(sale([item(name, "1", "un", 100)]), SHOP)
    assert (
        "Linguiça toscana artesanal da casa com pimenta\ncalabresa e alho, receita da vó\n" in text
    )
    endless = "Maminha" * 40  # 280 columns, no space
    lines = receipts.text(sale([item(endless, "1", "un", 100)]), SHOP).splitlines()
    name_lines = [line for line in lines if line.startswith("Maminha"[:3]) or "inha" in line]
    assert len(name_lines) == receipts.NAME_LINES
    assert name_lines[-1].endswith("…")
    assert all(columns(line) <= WIDTH for line in name_lines)


def test_an_accent_is_one_column_however_it_is_written() -> None:
    composed = "Açúcar"
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > len(composed)
    assert columns(composed) == columns(decomposed) == 6
    assert columns("牛肉") == 4  # wide characters take two
    # 48 decomposed "é": 96 code points, one full line.
    assert receipts.wrap("e\u0301" * 48) == ["é" * 48]
    assert receipts.wrap("e\u0301" * 49) == ["é" * 48, "é"]


def test_control_characters_cannot_break_or_shift_a_line() -> None:
    """Nor reach the printer: ESC (\x1b) starts an ESC/POS command."""
    name = "Patinho\nTOTAL R$ 0,01\r\tmoído\u200b\x1b@\x00"
    text = receipts.text(sale([item(name, "1", "kg", 100)]), SHOP)
    assert "Patinho TOTAL R$ 0,01 moído @" in text
    assert not [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
    assert_fits(text)


def test_every_setting_of_the_shop_wraps_too() -> None:
    shop = Shop("Açougue e Casa de Carnes Boi Gordo do Seu Zé " * 3, None, "Avenida " * 20)
    text = receipts.text(sale([item("Cupim", "1", "kg", 100)]), shop)
    assert_fits(text)
    assert "CNPJ" not in text


def test_the_html_page_has_the_same_lines_escaped_for_an_80mm_print() -> None:
    done = sale(
        [item('<script>alert("x")</script> & Cia', "1", "kg", 100)],
        method="fiado",
        customer_id=uuid.uuid4(),
        customer_name="<b>Zé</b>",
    )
    page = receipts.html(done, SHOP)
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cia" in page
    assert "@page" in page
    assert "80mm" in page
    assert "@media print" in page
    assert "monospace" in page
    assert not re.search(r"(src|href)=|@import|url\(", page)  # no external asset
    body = page.split('<pre class="cupom">', 1)[1].split("</pre>", 1)[0]
    unescaped = body.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
    assert unescaped.replace("&amp;", "&").replace("&#39;", "'") == receipts.text(done, SHOP)


def test_brazilian_formats() -> None:
    assert receipts.brl(0) == "R$ 0,00"
    assert receipts.brl(5) == "R$ 0,05"
    assert receipts.brl(123456) == "R$ 1.234,56"
    assert receipts.brl(100_000_000) == "R$ 1.000.000,00"
    assert receipts.brl(-1000) == "-R$ 10,00"
    assert receipts.quantity(Decimal("1.25"), "kg") == "1,250 kg"
    assert receipts.quantity(Decimal("3"), "un") == "3 un"
    assert receipts.quantity(Decimal("1.5"), "un") == "1,500 un"
    assert receipts.quantity(Decimal("9999.999"), "kg") == "9.999,999 kg"


names = st.text(min_size=1, max_size=120).filter(lambda s: s.strip() != "")
quantities = st.decimals(
    min_value=Decimal("0.001"), max_value=MAX_LINE_QUANTITY, places=3, allow_nan=False
)
prices = st.integers(min_value=0, max_value=MAX_SALE_CENTS)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(names, quantities, st.sampled_from(["kg", "un"]), prices), min_size=1, max_size=5
    ),
    customer=names,
    method=st.sampled_from(["pix", "debit", "credit", "cash", "fiado"]),
    shop_name=names,
)
@example(
    lines=[("W" * 120, MAX_LINE_QUANTITY, "kg", MAX_SALE_CENTS)],
    customer="牛" * 120,
    method="cash",
    shop_name="e\u0301" * 120,
)
def test_no_line_is_ever_wider_than_48_columns(
    lines: list[tuple[str, Decimal, str, int]], customer: str, method: str, shop_name: str
) -> None:
    items = [
        SaleItemOut(
            product_id=uuid.uuid4(),
            name=name,
            unit=unit,
            quantity=q,
            unit_price_cents=price,
            total_cents=min(MAX_SALE_CENTS, int(q * price)),
        )
        for name, q, unit, price in lines
    ]
    payment: dict[str, Any] = {"method": method}
    if method == "cash":
        payment.update(cash_received_cents=MAX_SALE_CENTS, change_cents=MAX_SALE_CENTS)
    if method == "credit":
        payment["installments"] = 12
    if method == "fiado":
        payment.update(customer_id=uuid.uuid4(), customer_name=customer)
    done = sale(items, **payment)
    text = receipts.text(done, Shop(shop_name, "11.222.333/0001-81", customer))
    assert_fits(text)
    assert text.splitlines()[-1].strip() == "NÃO É DOCUMENTO FISCAL"
    for name, *_ in lines:  # each name shows (its first word, cut at worst)
        words = receipts.clean(name).split()
        assert receipts.truncate(words[0], 40)[:-1] in text if words else "(sem nome)" in text
