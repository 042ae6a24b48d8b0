"""The customer's receipt (cupom não fiscal): 48 columns of text, as a thermal printer's
80 mm roll prints them, or the same lines as an HTML page for the browser's print dialog.

Pure: a sale and the shop's identity in, text out. No I/O, no clock (the sale's own time,
shown in São Paulo), so every line can be checked here: none wider than WIDTH columns, an
accented letter one column (also when written with a combining accent), a CJK character two.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from jinja2 import Environment, StrictUndefined

from shared import shop_time
from shared.contracts.sales import ReturnOut, SaleOut

WIDTH = 48
RULE = "-" * WIDTH
NOT_FISCAL = "NÃO É DOCUMENTO FISCAL"
ELLIPSIS = "…"
# A product's name on at most this many lines; what is left is cut with an ellipsis.
NAME_LINES = 3
METHODS = {
    "pix": "PIX",
    "debit": "Cartão de débito",
    "credit": "Cartão de crédito",
    "cash": "Dinheiro",
    "fiado": "Fiado (conta do cliente)",
}


@dataclass(frozen=True)
class Shop:
    """What the receipt's header says about the shop (SalesSettings.shop)."""

    name: str
    cnpj: str | None = None  # as printed: 11.222.333/0001-81
    address: str = ""


# -- columns ----------------------------------------------------------------------------


def _char_columns(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def columns(text: str) -> int:
    """How many columns `text` takes on the printer."""
    return sum(_char_columns(c) for c in text)


def clean(text: str) -> str:
    """One line of printable text: composed (NFC), control characters and line breaks as
    spaces, invisible formatting and lone surrogates dropped."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Zs"):
            kept.append(" ")
        elif category not in ("Cf", "Cs"):
            kept.append(char)
    return "".join(kept)


def _pieces(word: str, width: int) -> list[str]:
    """A word cut into pieces of at most `width` columns (a combining mark stays with its
    letter)."""
    pieces: list[str] = []
    piece, used = "", 0
    for char in word:
        size = _char_columns(char)
        if piece and used + size > width:
            pieces.append(piece)
            piece, used = "", 0
        piece += char
        used += size
    if piece:
        pieces.append(piece)
    return pieces


def wrap(text: str, width: int = WIDTH, *, max_lines: int | None = None) -> list[str]:
    """`text` in lines of at most `width` columns, broken between words (inside a word only
    when it alone is wider); past `max_lines` the last line ends with an ellipsis."""
    lines: list[str] = []
    line, used = "", 0
    for word in clean(text).split():
        for piece in _pieces(word, width):
            size = columns(piece)
            if line and used + 1 + size > width:
                lines.append(line)
                line, used = "", 0
            line, used = (f"{line} {piece}", used + 1 + size) if line else (piece, size)
    if line:
        lines.append(line)
    if max_lines is not None and len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], truncate(" ".join(lines[max_lines - 1 :]), width)]
    return lines


def truncate(text: str, width: int = WIDTH) -> str:
    """`text` cut to `width` columns, an ellipsis marking the cut."""
    text = clean(text)
    if columns(text) <= width:
        return text
    kept, used = "", 0
    for char in text:
        size = _char_columns(char)
        if used + size > width - 1:
            break
        kept += char
        used += size
    return kept.rstrip() + ELLIPSIS


def center(text: str) -> list[str]:
    return [" " * ((WIDTH - columns(line)) // 2) + line for line in wrap(text)]


def pair(left: str, right: str, *, indent: int = 0) -> list[str]:
    """`left` then `right` flush with the right margin, on one line when both fit; else the
    left side wrapped and the right one on the last line, or on a line of its own."""
    right = truncate(right)
    lefts = [" " * indent + line for line in wrap(left, WIDTH - indent)] or [""]
    last = lefts[-1]
    gap = WIDTH - columns(last) - columns(right)
    if gap >= 1:
        return [*lefts[:-1], last + " " * gap + right]
    return [*lefts, " " * (WIDTH - columns(right)) + right]


# -- Brazilian formats ------------------------------------------------------------------


def brl(cents: int) -> str:
    """R$ 1.234,56 (a minus before R$ for what is taken off)."""
    sign = "-" if cents < 0 else ""
    reais, centavos = divmod(abs(cents), 100)
    return f"{sign}R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def quantity(value: Decimal, unit: str | None) -> str:
    """1,250 kg; 3 un (whole units without decimals); 1.234,500 kg."""
    fixed = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    sign = "-" if fixed < 0 else ""
    whole, frac = f"{abs(fixed):.3f}".split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    number = f"{sign}{grouped}" if unit == "un" and frac == "000" else f"{sign}{grouped},{frac}"
    return f"{number} {unit}" if unit else number


def moment(at: datetime) -> str:
    """dd/mm/aaaa hh:mm in São Paulo."""
    return at.astimezone(shop_time.SHOP_ZONE).strftime("%d/%m/%Y %H:%M")


def short_id(sale: SaleOut) -> str:
    return sale.id.hex[:8]


# -- the receipt ------------------------------------------------------------------------


def _header(shop: Shop) -> list[str]:
    lines = center(shop.name)
    if shop.cnpj:
        lines += center(f"CNPJ {shop.cnpj}")
    if shop.address:
        lines += center(shop.address)
    return lines


def _items(sale: SaleOut) -> list[str]:
    lines: list[str] = []
    for item in sale.items:
        lines += wrap(item.name, max_lines=NAME_LINES) or ["(sem nome)"]
        each = f"{quantity(item.quantity, item.unit)} × {brl(item.unit_price_cents)}"
        lines += pair(each, f"= {brl(item.total_cents)}", indent=2)
    return lines


def _totals(sale: SaleOut) -> list[str]:
    lines: list[str] = []
    if sale.discount_cents:
        lines += pair("Subtotal", brl(sale.subtotal_cents))
        lines += pair("Desconto", brl(-sale.discount_cents))
    lines += pair("TOTAL", brl(sale.total_cents))
    return lines


def _payment(sale: SaleOut) -> list[str]:
    payment = sale.payment
    method = METHODS.get(payment.method, payment.method)
    if payment.method == "credit":
        times = payment.installments or 1
        method += f" em {times}x" if times > 1 else " à vista"
    lines = pair("Pagamento", method)
    if payment.method == "cash":
        if payment.cash_received_cents is not None:
            lines += pair("Recebido", brl(payment.cash_received_cents))
        if payment.change_cents is not None:
            lines += pair("Troco", brl(payment.change_cents))
    if payment.method == "fiado":
        who = sale.customer_name or (str(sale.customer_id)[:8] if sale.customer_id else "?")
        lines += wrap(f"Cliente: {who}")
    return lines


def _returns(sale: SaleOut) -> list[str]:
    if not sale.returns:
        return []
    units = {item.product_id: item.unit for item in sale.items}
    lines = [RULE, "DEVOLUÇÕES"]
    for done in sale.returns:
        lines += _return(done, units)
    returned = sale.returned_cents or sum(r.refund_cents for r in sale.returns)
    lines += pair("Total devolvido", brl(-returned))
    lines += pair("Valor final", brl(sale.total_cents - returned))
    return lines


def _return(done: ReturnOut, units: dict[UUID, str]) -> list[str]:
    lines = wrap(f"{moment(done.at)} {done.reason}", max_lines=2)
    for item in done.items:
        lines += wrap(item.name, max_lines=NAME_LINES) or ["(sem nome)"]
        lines += pair(
            quantity(item.quantity, units.get(item.product_id)), brl(-item.refund_cents), indent=2
        )
    return lines


def lines(sale: SaleOut, shop: Shop) -> list[str]:
    """The receipt, line by line: none wider than WIDTH columns, none ending in spaces."""
    body = [
        *_header(shop),
        RULE,
        *pair(moment(sale.created_at), f"Venda {short_id(sale)}"),
        RULE,
        *_items(sale),
        RULE,
        *_totals(sale),
        *_payment(sale),
        *_returns(sale),
        RULE,
        *center(NOT_FISCAL),
    ]
    return [line.rstrip() for line in body]


def text(sale: SaleOut, shop: Shop) -> str:
    return "\n".join(lines(sale, shop)) + "\n"


# The same lines for the browser's print dialog: a page as wide as an 80 mm roll (72 mm
# printable), monospace so the 48 columns stay aligned; no script, no external asset.
_PAGE = """<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cupom {{ short_id }} · {{ shop }}</title>
<style>
  @page { size: 80mm 297mm; margin: 3mm 4mm; }
  html { background: #e8e8e8; color: #000; }
  body { margin: 0; padding: 1rem 0; }
  .cupom {
    box-sizing: content-box;
    width: 48ch;
    margin: 0 auto;
    padding: 1rem;
    background: #fff;
    font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", "Courier New", monospace;
    font-size: 14px;
    line-height: 1.3;
    white-space: pre;
    overflow-wrap: normal;
  }
  @media print {
    html, body { background: none; padding: 0; }
    /* 48 columns across 72 mm: a monospace glyph is about 0.6 em wide. */
    .cupom { width: 72mm; margin: 0; padding: 0; font-size: 2.5mm; box-shadow: none; }
  }
  @media screen { .cupom { box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); } }
</style>
</head>
<body>
<pre class="cupom">{% for line in lines %}{{ line }}
{% endfor %}</pre>
</body>
</html>
"""
_TEMPLATE = Environment(autoescape=True, undefined=StrictUndefined).from_string(_PAGE)


def html(sale: SaleOut, shop: Shop) -> str:
    return _TEMPLATE.render(lines=lines(sale, shop), short_id=short_id(sale), shop=shop.name)
